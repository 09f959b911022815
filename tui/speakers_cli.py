"""`talks speakers …`, `talks review`, `talks relabel`: the speaker library from the shell.

The TUI calls the same functions (speakers.library, speakers.identify, pipeline.relabel).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.config import Config
from pipeline.ledger import Ledger
from pipeline.relabel import RelabelError, relabel
from speakers.library import LibraryError, SpeakerLibrary

OK, FAILED = 0, 1


def add_commands(sub: argparse._SubParsersAction) -> None:
    speakers = sub.add_parser("speakers", help="manage the library of enrolled speakers")
    ssub = speakers.add_subparsers(dest="speakers_command", metavar="ACTION", required=True)
    ssub.add_parser("list", help="people, their clips, and the embedding cache")
    add = ssub.add_parser("add", help="copy clips of a person into the library")
    add.add_argument("name")
    add.add_argument("clips", nargs="+", metavar="CLIP", help="audio files (any format)")
    add.add_argument("--start", type=float, help="take the clip from this second of CLIP")
    add.add_argument("--duration", type=float, help="… and this many seconds long")
    rename = ssub.add_parser("rename", help="rename a person")
    rename.add_argument("old")
    rename.add_argument("new")
    merge = ssub.add_parser("merge", help="move SOURCE's clips to TARGET")
    merge.add_argument("source")
    merge.add_argument("target")
    remove = ssub.add_parser("remove", help="take a person out (clips kept in .removed/)")
    remove.add_argument("name")
    ssub.add_parser("check", help="which people are too alike to tell apart; a threshold")
    sub.add_parser("review", help="list talks whose speaker needs a decision")
    rel = sub.add_parser("relabel", help="file a talk under another speaker")
    rel.add_argument("talk", help="the talk's number (from `talks review`), path, or name")
    rel.add_argument("name", help="the speaker (or the default speaker's name)")
    rel.add_argument("--enroll", action="store_true",
                     help="also add a voice sample of the talk to NAME's clips")


def _list(config: Config) -> int:
    from speakers.embedding import EmbedderSettings

    library = SpeakerLibrary(config.speakers.folder)
    people = library.people()
    if not people:
        print(f"No speakers enrolled in {library.folder}. Add one with: "
              "talks speakers add NAME CLIP…")
        return OK
    backend = EmbedderSettings(config.speakers.backend).backend
    with Ledger(config.output.ledger_path) as ledger:
        cached = ledger.cached_hashes(backend)
        for person in people:
            done = sum(ledger.hash_of(c) in cached for c in person.clips)
            layout = "folder" if person.has_folder else "files"
            print(f"{person.name}: {len(person.clips)} clip(s), {done} embedded "
                  f"({backend}), {layout}")
            for clip in person.clips:
                print(f"    {clip.relative_to(library.folder)}")
    return OK


def _check(config: Config) -> int:
    from pipeline.identify_stage import embedder_settings, read_clip
    from speakers.embedding import EmbedderUnavailable, create_embedder
    from speakers.identify import enrolled_embeddings, leave_one_out

    people = SpeakerLibrary(config.speakers.folder).people()
    if len(people) < 2:
        print("Enroll at least two people (two clips each) to check how well they are told "
              "apart.")
        return OK
    embedder = create_embedder(embedder_settings(config))
    try:
        embedder.load()
        with Ledger(config.output.ledger_path) as ledger:
            enrolled, fresh = enrolled_embeddings(people, embedder, ledger, read_clip)
    except EmbedderUnavailable as exc:
        print(str(exc), file=sys.stderr)
        return FAILED
    finally:
        embedder.unload()
    report = leave_one_out(enrolled, config.speakers.scoring)
    print(f"{len(people)} people, {sum(len(v) for v in enrolled.values())} clips "
          f"({fresh} newly embedded), scoring by {config.speakers.scoring}.")
    if not report.clips:
        print("Each person needs at least two clips for a leave-one-out check.")
        return OK
    print(f"Leave-one-out: {report.top1:.0%} of {report.clips} clips find their own person "
          "first.")
    print(f"Own person: {min(report.genuine):.3f}–{max(report.genuine):.3f}; others: "
          f"{min(report.impostor):.3f}–{max(report.impostor):.3f}.")
    for name, top, score in report.misses:
        print(f"  a clip of {name} scored {score:.3f} with {top}")
    for a, b, score in report.close_pairs:
        print(f"  too alike: {a} and {b} ({score:.3f}) — add longer or cleaner clips")
    if report.suggested_threshold is not None:
        print(f"Suggested [speakers] threshold = {report.suggested_threshold:.3f} "
              f"(now {config.speakers.threshold}).")
    return OK


def _review(config: Config) -> int:
    with Ledger(config.output.ledger_path) as ledger:
        rows = ledger.needing_review()
    if not rows:
        print("No talks need review.")
        return OK
    for row in rows:
        ev = row.speaker_evidence or {}
        tops = ", ".join(f"{n} {s:.3f}" for n, s in ev.get("candidates", [])[:3])
        print(f"{row.id}: {row.destination}")
        print(f"    candidates: {tops or 'none'}; {ev.get('reason', '')}")
    print("Relabel one with: talks relabel NUMBER NAME [--enroll]")
    return OK


def run(config: Config, args: argparse.Namespace) -> int:
    try:
        if args.command == "review":
            return _review(config)
        if args.command == "relabel":
            with Ledger(config.output.ledger_path) as ledger:
                done = relabel(config, ledger, args.talk, args.name, args.enroll)
            print(f"Filed as {done.talk}")
            for clip in done.enrolled:
                print(f"Enrolled {clip} for {args.name}")
            return OK
        library = SpeakerLibrary(config.speakers.folder)
        action = args.speakers_command
        if action == "list":
            return _list(config)
        if action == "check":
            return _check(config)
        if action == "add":
            for clip in library.add(args.name, [Path(c) for c in args.clips],
                                    args.start, args.duration):
                print(f"Added {clip}")
        elif action == "rename":
            library.rename(args.old, args.new)
            print(f"Renamed {args.old} to {args.new}.")
        elif action == "merge":
            library.merge(args.source, args.target)
            print(f"Moved {args.source}'s clips to {args.target}.")
        elif action == "remove":
            kept = library.remove(args.name)
            print(f"Removed {args.name}; the clips are kept in {kept}.")
        return OK
    except (LibraryError, RelabelError) as exc:
        print(f"talks: {exc}", file=sys.stderr)
        return FAILED
