"""`talks speakers …`, `talks review`, `talks relabel`: the speaker library from the shell.

The TUI calls the same functions (speakers.library, speakers.identify, pipeline.filing.relabel).
"""

from __future__ import annotations

import argparse
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from common.errors import ExitCode
from common.names import counted, same_name
from pipeline.api.configuration import Config

if TYPE_CHECKING:
    from pipeline.api.archive import PersonMoved
    from pipeline.api.voices import SpeakerLibrary

FEW_PEOPLE = 5  # a leave-one-out suggestion from fewer people (or clips) is only a hint


def add_commands(sub: argparse._SubParsersAction) -> None:
    speakers = sub.add_parser(
        "speakers", help="manage the library of enrolled speakers",
        description="The speaker library: a folder of short clips of each person's voice "
                    "(NAME.mp3, NAME_1.mp3 … or a folder NAME/), against which the speaker "
                    "of every talk is recognised. Each action lists, changes or checks it.")
    ssub = speakers.add_subparsers(dest="speakers_command", metavar="ACTION")
    ssub.add_parser(
        "list", help="each person, their clips, and how many are embedded",
        description="List each enrolled person: their clips, how long they are in all, and "
                    "how many have their voice vector cached for the backend in use (the "
                    "others are embedded at the next run or by `talks speakers check`); say "
                    "which clips cannot be read as audio.")
    add = ssub.add_parser(
        "add", help="copy clips of a person into the library",
        description="Copy recordings into the library as clips of NAME (any format ffmpeg "
                    "reads, kept as 16 kHz WAV); with --start and --duration, only that "
                    "stretch of each. A NAME not in the library yet is a new person. Every "
                    "source is checked before any is copied.",
        epilog="Example: talks speakers add 'Ada Lovelace' lecture.mp3 --start 60 "
               "--duration 45")
    add.add_argument("name", help="the person's name, as their talks will be filed under "
                                  "(quote it if it has spaces)")
    add.add_argument("clips", nargs="+", metavar="CLIP", help="audio files (any format)")
    add.add_argument("--start", type=float, help="take the clip from this second of CLIP")
    add.add_argument("--duration", type=float, help="… and this many seconds long")
    rename = ssub.add_parser(
        "rename", help="rename a person: clips, filed talks, transcripts",
        description="Give a person another name everywhere: their clips, the folders and file "
                    "names of their filed talks, every transcript, and the review candidates "
                    "in the ledger. A rename stopped half-way is finished by running it again.",
        epilog="Example: talks speakers rename 'Bob Moss' 'Robert Moss'")
    rename.add_argument("old", help="the person's name now")
    rename.add_argument("new", help="their new name (no one may have it yet: to make two "
                                    "people one, use merge)")
    merge = ssub.add_parser(
        "merge", help="make SOURCE part of TARGET: clips and filed talks",
        description="Make two people who are one person: SOURCE's clips and filed talks "
                    "become TARGET's, and SOURCE is no longer in the library.",
        epilog="Example: talks speakers merge 'R. Moss' 'Robert Moss'")
    merge.add_argument("source", help="the person who goes into TARGET")
    merge.add_argument("target", help="the person who stays")
    remove = ssub.add_parser(
        "remove", help="take a person out (clips kept in .removed/)",
        description="Take a person out of the library: their clips move to .removed/ in the "
                    "library folder, nothing is deleted. Their filed talks stay where they "
                    "are; later talks in their voice are no longer recognised as theirs.",
        epilog="Example: talks speakers remove 'Robert Moss'")
    remove.add_argument("name", help="the person to take out")
    ssub.add_parser(
        "check", help="too little speech, clips that sound like someone else, people too "
                      "alike; a threshold and margin for this library",
        description="Embed every clip (once: the vectors are cached in the ledger) and check "
                    "the library: people with too little speech, clips that sound more like "
                    "someone else than their own person, people too alike; and, from a "
                    "leave-one-out over the clips, a threshold and margin for [speakers].")
    sub.add_parser(
        "review", help="list talks whose speaker needs a decision",
        description="List the filed talks whose speaker talks could not decide, each with "
                    "its number and its top candidates' scores. Decide one with `talks "
                    "relabel NUMBER NAME`, or in the app's review screen.")
    rel = sub.add_parser(
        "relabel", help="file a talk under another speaker",
        description="Move a filed talk and its transcripts under another speaker, and tell "
                    "the ledger. A number no talk has, or a piece of a name several talks "
                    "have, moves nothing (exit 2). With --enroll, up to three clips of the "
                    "talk's speech are added to NAME's clips, so the voice is learned.",
        epilog="Example: talks relabel 12 'Sarah Lane' --enroll")
    rel.add_argument("talk", help="the talk's number (12 or #12, from `talks review`), or a "
                                  "piece of its file's name or path that only it has")
    rel.add_argument("name", help="the speaker (or the default speaker's name)")
    rel.add_argument("--enroll", action="store_true",
                     help="also add the talk's speech to NAME's clips")


def _list(config: Config, library: SpeakerLibrary) -> int:
    from pipeline.api.archive import Ledger
    from pipeline.api.voices import MIN_SPEECH_S, clip_seconds, embedding_key

    people = library.people()
    for sentence in library.left_out():
        print(sentence)
    if not people:
        print(f"No speakers enrolled in {library.folder}. Add one with: "
              "talks speakers add NAME CLIP…")
        return ExitCode.OK
    key = embedding_key(config)
    seconds = library.seconds()
    # No ledger yet (nothing filed): nothing is embedded, and a look makes none.
    there = config.output.ledger_path.is_file()
    with Ledger(config.output.ledger_path) if there else nullcontext() as ledger:
        cached = ledger.cached_hashes(key) if ledger else set()
        for person in people:
            unreadable = [c for c in person.clips if not clip_seconds(c)]
            embedded = sum(ledger.hash_of(c) in cached for c in person.clips) if ledger else 0
            thin = (f" — under {MIN_SPEECH_S:.0f} s: add more" if seconds[person.name]
                    < MIN_SPEECH_S else "")
            print(f"{person.name}: {counted(len(person.clips), 'clip')}, "
                  f"{seconds[person.name]:.0f} s in all{thin}; "
                  f"{_embedded(len(person.clips), embedded, len(unreadable), key)}")
            for clip in person.clips:
                note = ("  — cannot be read as audio: replace it or remove it"
                        if clip in unreadable else "")
                print(f"    {clip.relative_to(library.folder)}{note}")
    return ExitCode.OK


def _embedded(clips: int, embedded: int, unreadable: int, key: str) -> str:
    """How many of a person's clips have their vector cached under `key`: the others are
    embedded by the next run or `speakers check`, except those that cannot be read."""
    waiting = max(clips - embedded - unreadable, 0)
    words = f"{embedded} embedded with {key}"
    if waiting:
        words += (f", {waiting} not yet (the next run or `talks speakers check` embeds "
                  f"{'it' if waiting == 1 else 'them'})")
    if unreadable:
        words += f", {unreadable} cannot be read"
    return words


def _check(config: Config, library: SpeakerLibrary) -> int:
    from pipeline.api.configuration import decision_values
    from pipeline.api.voices import (
        MIN_SPEECH_S,
        embed_library,
        leave_one_out,
        unreadable_clip,
    )

    people = library.people()
    unreadable: list[Path] = []
    for sentence in library.left_out():
        print(f"  {sentence}")
    if not people:
        print("Nobody is enrolled yet: add a person with talks speakers add NAME CLIP…")
        return ExitCode.OK
    enrolled, fresh = embed_library(config, people, unreadable)  # EmbedderUnavailable: cli.py
    for clip in unreadable:
        print(f"  {unreadable_clip(clip, library.folder)}")
    # The report counts each person's clips as enrolled_embeddings gave them: without these.
    people = [replace(p, clips=tuple(c for c in p.clips if c not in unreadable))
              for p in people]
    sp = config.speakers
    seconds = library.seconds()
    clips = counted(sum(len(v) for v in enrolled.values()), "clip")
    print(f"{counted(len(people), 'person', 'people')}, {clips} ({fresh} newly embedded), "
          f"{sp.backend}, scoring by {sp.scoring}.")
    thin = [p.name for p in people if seconds[p.name] < MIN_SPEECH_S]
    for name in thin:
        print(f"  too little speech: {name} has {seconds[name]:.0f} s (under "
              f"{MIN_SPEECH_S:.0f} s) — add clips: talks speakers add {name!r} CLIP…, or "
              "enroll a confirmed talk (talks relabel NUMBER NAME --enroll)")
    report = leave_one_out(enrolled, sp.scoring)
    for name, clip, copy in report.copies:
        first, again = (enrolled_clip(people, name, i).relative_to(library.folder)
                        for i in (clip, copy))
        print(f"  the same audio twice: {again} is {first} again — left out of the check; "
              "delete one of the two")
    if not report.clips:
        print("Each person needs two clips or more for a leave-one-out check.")
        return ExitCode.OK
    print(f"Leave-one-out: {report.top1:.0%} of {len(report.clips)} clips find their own "
          "person first.")
    own = [c.own for c in report.clips]
    others = [c.other for c in report.clips if c.best_other is not None]
    print(f"Own person: {min(own):.3f}–{max(own):.3f}"
          + (f"; closest other: {min(others):.3f}–{max(others):.3f}." if others else "."))
    for c in report.suspicious:
        clip = enrolled_clip(people, c.person, c.clip)
        print(f"  looks like someone else: {clip.relative_to(library.folder)} scores "
              f"{c.own:.3f} with {c.person} but {c.other:.3f} with {c.best_other} — another "
              "voice, music or silence? Listen to it, and remove or move it")
    for a, b, score in report.close_pairs:
        print(f"  too alike: {a} and {b} ({score:.3f}) — add longer or cleaner clips")
    if report.suggested is not None:
        now = decision_values(sp)
        print(f"Suggested for this library: threshold = {report.suggested.threshold:.2f}, "
              f"margin = {report.suggested.margin:.2f} (in force: {now.threshold:.2f} and "
              f"{now.margin:.2f}; set them under [speakers] in config.toml).")
        if len(people) < FEW_PEOPLE or len(report.clips) < 3 * FEW_PEOPLE:
            print(f"  This rests on {counted(len(report.clips), 'clip')} of "
                  f"{counted(len(people), 'person', 'people')}: with "
                  "so few, the values calibrated for the backend (threshold and margin left at "
                  "0 in config.toml) are the safer choice.")
    return ExitCode.OK


def enrolled_clip(people: list, name: str, index: int) -> Path:
    return next(p for p in people if p.name == name).clips[index]


def _review(config: Config) -> int:
    from pipeline.api.archive import Ledger
    if not config.output.ledger_path.is_file():
        print("No talks need review: nothing has been filed yet.")  # and nothing is made
        return ExitCode.OK
    with Ledger(config.output.ledger_path) as ledger:
        rows = ledger.needing_review()
    if not rows:
        print("No talks need review.")
        return ExitCode.OK
    for row in rows:
        ev = row.speaker_evidence or {}
        tops = ", ".join(f"{n} {s:.3f}" for n, s in ev.get("candidates", [])[:3])
        print(f"{row.id}: {row.destination}")
        print(f"    candidates: {tops or 'none'}; {ev.get('reason', '')}")
    print("Relabel one with: talks relabel NUMBER NAME [--enroll]")
    return ExitCode.OK


def _asks_for(args: argparse.Namespace, done: PersonMoved) -> bool:
    """Whether the command is the rename or merge that was just finished."""
    action = getattr(args, "speakers_command", None)
    if args.command != "speakers" or action not in ("rename", "merge"):
        return False
    old, new = (args.old, args.new) if action == "rename" else (args.source, args.target)
    return ((action == "merge") == done.merge and same_name(old, done.old)
            and same_name(new, done.new))


def run(config: Config, args: argparse.Namespace) -> int:
    from pipeline.api.archive import (
        finish_person_move,
        move_person_everywhere,
        relabel_talk,
    )
    from pipeline.api.voices import open_library
    # A LibraryError, RelabelError, MediaError … (any TalksError) is told by tui/cli.py:
    # `talks: {sentence}` and its exit code.
    interrupted = finish_person_move(config)  # one killed half-way is finished first
    if interrupted is not None:
        print(f"Finished an interrupted change: {interrupted.summary()}")
        if _asks_for(args, interrupted):
            return ExitCode.OK  # the command run again after its kill: nothing more to do
    if args.command == "review":
        return _review(config)
    if args.command == "relabel":
        # It moves filed talks: it takes the run lock (not while a run files).
        done = relabel_talk(config, args.talk, args.name, args.enroll)
        if not done.changed:
            print(f"Nothing to change: {done.talk.name} is already filed under "
                  f"{done.row.speaker}.")
            return ExitCode.OK
        print(f"Filed as {done.talk}")
        for clip in done.enrolled:
            print(f"Enrolled {clip} for {args.name}")
        if done.enrolled:
            _say_what_follows(config)
        return ExitCode.OK
    action = args.speakers_command
    # A library people were enrolled from that is missing now (a disk not mounted) is said,
    # not listed as empty, and `add` does not start a new one in its place.
    library = open_library(config, create=action == "add")
    _sweep_partial_clips(config.speakers.folder)
    if action == "list":
        return _list(config, library)
    if action == "check":
        return _check(config, library)
    if action == "add":
        for clip in library.add(args.name, [Path(c) for c in args.clips],
                                args.start, args.duration):
            print(f"Added {clip}")
    elif action in ("rename", "merge"):
        # It moves filed talks: it takes the run lock (not while a run files).
        old, new = ((args.old, args.new) if action == "rename"
                    else (args.source, args.target))
        print(move_person_everywhere(config, old, new, merge=action == "merge").summary())
    elif action == "remove":
        kept = library.remove(args.name)
        print(f"Removed {args.name}; the clips are kept in {kept}.")
    _say_what_follows(config)
    return ExitCode.OK


def _say_what_follows(config: Config) -> None:
    """The library changed: the talks filed under the default speaker that the next run will
    look at again (pipeline/stages/reidentify.py)."""
    from pipeline.api.archive import talks_to_identify_again

    waiting = talks_to_identify_again(config)
    if waiting:
        print(f"{counted(waiting, 'talk')} filed under {config.speakers.default_speaker} "
              f"will be identified again with the changed library at the next run (`talks "
              "--batch`, or s in the app), without transcribing.")


def _sweep_partial_clips(folder: Path) -> None:
    """Clips an interrupted `speakers add` was cutting (hidden `.NAME.part.wav`)."""
    if folder.is_dir():
        for partial in folder.rglob(".*.part.*"):
            partial.unlink(missing_ok=True)
