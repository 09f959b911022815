"""Relabel: put a filed talk under the right person — the answer to a "needs review".

The talk and all its transcripts move to the new speaker's folders (never overwriting), the
ledger follows, and a voice sample of the talk can be enrolled for that person so the next
talk by them is recognised.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config import Config
from pipeline.ledger import FileRow, Ledger
from pipeline.organize import (
    FilingError,
    free_names,
    link_no_clobber,
    write_text_atomic,
)
from pipeline.talk_record import talk_meta, talk_segments
from pipeline.transcripts import render
from speakers.identify import plan_samples
from speakers.library import SpeakerLibrary, check_name


class RelabelError(Exception):
    """The sentence says what to do."""


@dataclass(frozen=True)
class Relabeled:
    row: FileRow
    talk: Path
    transcripts: list[Path]
    enrolled: list[Path]


def find_talk(ledger: Ledger, ref: str) -> FileRow:
    """A filed talk by ledger id, by path, or by a piece of its name that only it has."""
    filed = [r for r in ledger.all_files() if r.state == "filed" and r.destination]
    if ref.isdigit():
        for row in filed:
            if row.id == int(ref):
                return row
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
        raise RelabelError(f"No filed talk matches {ref!r}: `talks review` lists the talks "
                           "to relabel, with their numbers.")
    names = "; ".join(f"{r.id}: {Path(r.destination or r.path).name}" for r in hits[:5])
    raise RelabelError(f"{ref!r} matches {len(hits)} talks ({names}): give the number.")


def _prune_empty(folder: Path, stop: Path) -> None:
    """Remove folders left empty by a move, up to (not including) `stop`."""
    while folder != stop and stop in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def enroll_sample(config: Config, row: FileRow, talk: Path, name: str) -> list[Path]:
    """Add the middle voice sample of the talk to `name`'s clips."""
    sp = config.speakers
    samples = plan_samples(row.duration or 0.0, sp.sample_count, sp.sample_seconds,
                           sp.sample_offset_s, sp.skip_end_s)
    start, length = samples[len(samples) // 2]
    return SpeakerLibrary(sp.folder).add(name, [talk], start=start, duration=length)


def relabel(config: Config, ledger: Ledger, ref: str, name: str,
            enroll: bool = False) -> Relabeled:
    row = find_talk(ledger, ref)
    default = config.speakers.default_speaker
    name = name.strip()
    if name != default:
        name = check_name(name)
    old_talk = Path(row.destination or "")
    if not old_talk.is_file():
        raise RelabelError(f"The filed copy {old_talk} is missing: put it back, or run "
                           "`talks --batch --full-scan` to file the talk again.")
    if name == row.speaker:
        new_talk, new_transcripts = old_talk, [Path(p) for p in row.transcripts]
    else:
        names = free_names(config, row.year or 0, name, row.title or "", old_talk.suffix.lower())
        try:
            names.talk.parent.mkdir(parents=True, exist_ok=True)
            link_no_clobber(old_talk, names.talk)  # a move that never overwrites
        except FileExistsError:
            raise RelabelError(f"{names.talk} appeared while relabelling: run the command "
                               "again.") from None
        new_talk, new_transcripts = names.talk, list(names.transcripts.values())
    ledger.update(row.id, speaker=name, needs_review=0, speaker_decision="manual",
                  destination=str(new_talk), transcripts=[str(p) for p in new_transcripts],
                  planned_name=new_talk.stem)
    updated = ledger.get(row.id)
    meta = {**talk_meta(config, ledger, updated), "talk": new_talk.name}
    segments = talk_segments(ledger, row.id)
    try:
        for path in new_transcripts:
            write_text_atomic(path, render(path.suffix.lstrip("."), segments, meta))
    except (OSError, FilingError) as exc:
        raise RelabelError(f"Could not write the transcripts of {new_talk.name} ({exc}): "
                           "check the disk and run the command again.") from None
    for old in row.transcripts:
        if Path(old) not in new_transcripts:
            Path(old).unlink(missing_ok=True)
            _prune_empty(Path(old).parent, config.output.transcripts_dir)
    if new_talk != old_talk:
        _prune_empty(old_talk.parent, config.output.talks_dir)
    enrolled = enroll_sample(config, updated, new_talk, name) if enroll and name != default \
        else []
    return Relabeled(updated, new_talk, new_transcripts, enrolled)
