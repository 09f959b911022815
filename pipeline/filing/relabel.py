"""Relabel: put a filed talk under the right person — the answer to a "needs review".

The talk and all its transcripts move to the new speaker's folders (never overwriting), the
ledger follows, and the talk's speech can be enrolled for that person (a few clips of what
the transcript says is speech) so their next talk is recognised. Only what a person confirms
is learned: a match the program made itself never adds clips. `refile` is the move alone:
renaming or merging a person (pipeline/filing/person_rename.py) moves each of their talks with it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from common.chaos import chaos_point
from common.errors import ExitCode, TalksError
from common.names import nfc, same_name
from pipeline.config.settings import Config
from pipeline.config.speaker_folder import check_library, open_library
from pipeline.filing.filed_copy import filed_transcript, retag_filed
from pipeline.filing.place import (
    FilingError,
    Names,
    copy_verified,
    free_names,
    names_for,
    write_text_atomic,
)
from pipeline.filing.talk_record import talk_meta
from pipeline.filing.transcripts import render
from pipeline.ledger import FileRow, Ledger, content_hash
from pipeline.run.states import FileState
from pipeline.stages.identify import talk_speech
from speakers.decisions import SpeakerDecision
from speakers.library import check_name
from speakers.voice_match import plan_speech_samples

ENROLL_CLIPS = 3       # clips taken from a confirmed talk …
ENROLL_CLIP_S = 20.0   # … of this much speech each, spread over the talk


class RelabelError(TalksError):
    """The sentence says what to do."""


class TalkNotFound(RelabelError):
    """No filed talk answers to what was given, or more than one does: nothing is moved, and
    the command was given wrong (exit 2)."""

    exit_code = ExitCode.USAGE


# A talk's number: `12` or `#12`. Only ever a number, never a piece of a name: "10" must not
# pick the one talk whose name holds "2021-10-03".
_NUMBER = re.compile(r"#?(\d+)")


@dataclass(frozen=True)
class Relabeled:
    row: FileRow
    talk: Path
    transcripts: list[Path]
    enrolled: list[Path]
    changed: bool = True  # False: the talk was already theirs, and nothing was done


def find_talk(ledger: Ledger, ref: str, redone: bool = False) -> FileRow:
    """A filed talk by its number (`12` or `#12`), by its path, or by a piece of its name
    that only it has. `redone`: also a talk filed before that is being done again (a
    `talks language` stopped or failed half-way), so that it can be asked again."""
    filed = [r for r in ledger.all_files() if r.destination
             and (r.state == FileState.FILED or redone)]
    number = _NUMBER.fullmatch(ref.strip())
    if number:
        for row in filed:
            if row.id == int(number.group(1)):
                return row
        raise TalkNotFound(f"No filed talk has the number {number.group(1)}: `talks review` "
                           "lists the talks to relabel, with their numbers; a talk is named "
                           "by a piece of its name in words.")
    as_path = Path(ref).expanduser()
    for row in filed:
        if as_path.exists() and Path(row.destination or "").resolve() == as_path.resolve():
            return row
    needle = ref.casefold()
    hits = [r for r in filed if needle in Path(r.destination or "").name.casefold()
            or needle in r.name.casefold()]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise TalkNotFound(f"No filed talk matches {ref!r}: `talks review` lists the talks "
                           "to relabel, with their numbers.")
    names = "; ".join(f"{r.id}: {Path(r.destination or r.path).name}" for r in hits[:5])
    raise TalkNotFound(f"{ref!r} matches {len(hits)} talks ({names}): give the number.")


def _prune_empty(folder: Path, stop: Path) -> None:
    """Remove folders left empty by a move, up to (not including) `stop`."""
    while folder != stop and stop in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def enroll_speech(config: Config, ledger: Ledger, row: FileRow, name: str) -> list[Path]:
    """Add up to ENROLL_CLIPS clips of the filed talk's speech to `name`'s clips, cut from
    where its speech can be heard on the clock the transcript keeps (a compact copy's own)."""
    from pipeline.stages.voices import where_to_hear

    sp = config.speakers
    plan = plan_speech_samples(talk_speech(ledger, row.id), row.duration or 0.0, ENROLL_CLIPS,
                               ENROLL_CLIP_S, sp.sample_offset_s, sp.skip_end_s)
    source, plan = where_to_hear(row, plan)
    library = open_library(config, create=True)
    clips = [library.add_speech(name, source, pieces) for pieces in plan if pieces]
    return [c for c in clips if c is not None]  # speech enrolled before is not added again


def _target_names(config: Config, row: FileRow, name: str, ext: str,
                  stem: str | None = None) -> Names:
    """Where the talk goes: `stem` when a plan chose it (a rename's journal), else the name
    an interrupted relabel to this person already chose (recorded before anything moved),
    else the first free one."""
    if stem is not None:
        return names_for(config, row.year or 0, name, row.title or "", ext, stem)
    if row.planned_name:
        planned = names_for(config, row.year or 0, name, row.title or "", ext, row.planned_name)
        # A tagged filed copy differs in size from the original: only its hash tells.
        if planned.talk.is_file() and content_hash(planned.talk) == (row.filed_hash or row.hash):
            return planned
    return free_names(config, row.year or 0, name, row.title or "", ext)


def _place(old_talk: Path, new_talk: Path, digest: str) -> None:
    """A second name for the filed talk (a hard link: no bytes copied, nothing to lose); a
    verified copy where the disk has no hard links."""
    new_talk.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(old_talk, new_talk)
    except FileExistsError:
        raise RelabelError(f"{new_talk} appeared while relabelling: run the command "
                           "again.") from None
    except OSError:
        copy_verified(old_talk, new_talk, digest, keep_times=True, step="relabel")


@dataclass(frozen=True)
class Refiled:
    row: FileRow  # as the ledger has it now
    old_talk: Path
    talk: Path
    transcripts: list[Path]


def refile(config: Config, ledger: Ledger, row: FileRow, name: str, stem: str | None = None,
           confirmed: bool = True) -> Refiled:
    """Move a filed talk to `name`'s folders (as `stem` when given). Each step can be killed:
    the chosen name is recorded first, the new names are made before the old ones go, and
    the ledger's commit comes last, so running the same move again finishes it (never a
    second copy). `confirmed`: a person decided (relabel), so the talk leaves review."""
    old_talk = Path(row.destination or "")
    ext = old_talk.suffix.lower()
    if same_name(name, row.speaker or "") and (stem is None or stem == old_talk.stem):
        if not old_talk.is_file():
            raise RelabelError(f"The filed copy {old_talk} is missing: put it back, or run "
                               "`talks --batch --full-scan` to file the talk again.")
        new_talk, new_transcripts = old_talk, [Path(p) for p in row.transcripts]
    else:
        names = _target_names(config, row, name, ext, stem)
        ledger.update(row.id, planned_name=names.stem)  # the intent, before anything moves
        if not names.talk.is_file():
            if not old_talk.is_file():
                raise RelabelError(f"The filed copy {old_talk} is missing: put it back, or "
                                   "run `talks --batch --full-scan` to file the talk again.")
            _place(old_talk, names.talk, row.filed_hash or row.hash)
        chaos_point("relabel.link")
        new_talk, new_transcripts = names.talk, list(names.transcripts.values())
    decided = ({"needs_review": False, "speaker_decision": SpeakerDecision.MANUAL}
               if confirmed else {})
    updated = replace(row, speaker=name, destination=str(new_talk), **decided)
    segments, on_its_clock = filed_transcript(ledger, updated)  # a compact talk's own clock
    meta = {**talk_meta(config, ledger, updated), **on_its_clock, "talk": new_talk.name}
    try:
        for path in new_transcripts:
            write_text_atomic(path, render(path.suffix.lstrip("."), segments, meta))
            chaos_point("relabel.transcripts")
    except (OSError, FilingError) as exc:
        raise RelabelError(f"Could not write the transcripts of {new_talk.name} ({exc}): "
                           "check the disk and run the command again.") from None
    for old in row.transcripts:
        if Path(old) not in new_transcripts:
            Path(old).unlink(missing_ok=True)
    if new_talk != old_talk and old_talk.is_file() and (
            os.path.samefile(old_talk, new_talk)
            or content_hash(old_talk) == (row.filed_hash or row.hash)):
        old_talk.unlink()  # the talk now has only its new name
        chaos_point("relabel.unlink")
    ledger_decided = ({"needs_review": 0, "speaker_decision": SpeakerDecision.MANUAL}
                      if confirmed else {})
    ledger.update(row.id, speaker=nfc(name), destination=str(new_talk),
                  transcripts=[str(p) for p in new_transcripts], planned_name=new_talk.stem,
                  **ledger_decided)
    chaos_point("relabel.commit")
    for old in row.transcripts:
        _prune_empty(Path(old).parent, config.output.transcripts_dir)
    if new_talk != old_talk:
        _prune_empty(old_talk.parent, config.output.talks_dir)
    retag_filed(config, ledger, row.id)  # the artist tag names the new speaker
    return Refiled(ledger.get(row.id), old_talk, new_talk, new_transcripts)


def relabel(config: Config, ledger: Ledger, ref: str, name: str,
            enroll: bool = False) -> Relabeled:
    """A person's answer for one talk: moved under `name` (see `refile`), out of review,
    and with `enroll` its speech added to their clips."""
    row = find_talk(ledger, ref)
    default = config.speakers.default_speaker
    name = nfc(name.strip())
    if not same_name(name, default):
        name = check_name(name)
    if same_name(name, row.speaker or "") and not row.needs_review and not enroll:
        # Already theirs and not waiting for a person's word: nothing moves, nothing changes.
        return Relabeled(row, Path(row.destination or ""), [Path(p) for p in row.transcripts],
                         [], changed=False)
    if enroll and not same_name(name, default):
        # Before the talk moves: a library on a disk that is not mounted moves nothing.
        check_library(config, create=True, ledger=ledger, nothing="Nothing was moved.")
    done = refile(config, ledger, row, name)
    enrolled = (enroll_speech(config, ledger, done.row, name)
                if enroll and not same_name(name, default) else [])
    return Relabeled(done.row, done.talk, done.transcripts, enrolled)
