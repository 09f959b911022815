"""`talks voices`: the voices heard in two or more talks that nobody has named, and naming
them once (pipeline/stages/voices.py groups them; pipeline/filing/voice_names.py names them).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from common.errors import ExitCode
from common.names import counted

if TYPE_CHECKING:
    from pipeline.api.archive import VoiceGroup
    from pipeline.api.configuration import Config

TITLES_SHOWN = 3


def add_commands(sub: argparse._SubParsersAction) -> None:
    voices = sub.add_parser(
        "voices", help="voices heard in two or more talks, waiting for a name",
        description="Talks filed under the default speaker are grouped by voice after each "
                    "run: one group a person, heard in two or more talks (a voice heard "
                    "once waits for a second talk). Alone, this lists the groups, largest "
                    "first, with a clip of each voice to listen to; name one and every talk "
                    "of it is filed under the name, and the person is enrolled.",
        epilog="Example: talks voices; talks voices name 3 'Ada Lovelace'")
    voices.set_defaults(bare_is_a_listing=True)
    voices.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="the groups as one JSON object")
    voices.add_argument("--regroup", action="store_true",
                        help="group every unnamed voice again from scratch (and hear again "
                             "talks whose voice could not be heard)")
    actions = voices.add_subparsers(dest="voices_command", metavar="ACTION")
    show = actions.add_parser(
        "show", help="one group's talks",
        description="Every talk of one group, the most typical voice first.",
        epilog="Example: talks voices show 3")
    show.add_argument("group", type=int, help="the group's number, from `talks voices`")
    name = actions.add_parser(
        "name", help="name a group: its talks filed under NAME, the person enrolled",
        description="Enroll NAME from the group's most typical speech and move every talk "
                    "of the group, with its transcripts, under NAME. A NAME already in the "
                    "library adds to that person. `talks relabel` undoes it for a talk.",
        epilog="Example: talks voices name 3 'Ada Lovelace'")
    name.add_argument("group", type=int, help="the group's number, from `talks voices`")
    name.add_argument("name", help="the person's name, as their talks will be filed under")
    merge = actions.add_parser(
        "merge", help="two groups that are one voice",
        description="Join two groups a person hears as one voice; they stay joined when "
                    "the voices are grouped again.",
        epilog="Example: talks voices merge 3 7")
    merge.add_argument("group", type=int, help="the group that stays")
    merge.add_argument("other", type=int, help="the group that joins it")
    remove = actions.add_parser(
        "remove", help="take a talk that is not this voice out of a group",
        description="Take a talk out of a group; it never joins that group again.",
        epilog="Example: talks voices remove 3 12")
    remove.add_argument("group", type=int, help="the group's number")
    remove.add_argument("talk", help="the talk's number (12 or #12) or a piece of its name")


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _as_json(config: Config, groups: list[VoiceGroup]) -> dict:
    from pipeline.api.archive import voice_sample

    return {"groups": [{
        "id": g.id, "seconds": round(g.seconds, 1), "years": g.years,
        "sample": str(voice_sample(config, g) or "") or None,
        "talks": [{"number": r.id, "path": r.destination, "source": Path(r.path).name,
                   "title": r.title, "year": r.year} for r in g.talks]} for g in groups]}


def _list(config: Config, as_json: bool) -> int:
    from pipeline.api.archive import voice_groups, voice_sample

    groups = voice_groups(config)
    if as_json:
        print(json.dumps(_as_json(config, groups), ensure_ascii=False, indent=2))
        return ExitCode.OK
    if not groups:
        print(f"No voice waits for a name: no two talks under "
              f"{config.speakers.default_speaker} share a voice (a voice heard once waits "
              "for its second talk).")
        return ExitCode.OK
    print(f"{counted(len(groups), 'voice')} heard in two or more talks, waiting for a name:")
    for g in groups:
        years = (f"{g.years[0]}–{g.years[-1]}" if len(g.years) > 1
                 else str(g.years[0]) if g.years else "")
        titles = "; ".join(r.title or Path(r.path).stem for r in g.talks[:TITLES_SHOWN])
        more = f"; … {len(g.talks) - TITLES_SHOWN} more" if len(g.talks) > TITLES_SHOWN \
            else ""
        print(f"  {g.id}: {counted(len(g.talks), 'talk')}, {_minutes(g.seconds)}"
              f"{', ' + years if years else ''} — {titles}{more}")
        clip = voice_sample(config, g)
        if clip is not None:
            print(f"     listen: {clip}")
    print("Name one: talks voices name NUMBER 'Full Name'  (talks voices show NUMBER lists "
          "its talks)")
    return ExitCode.OK


def _show(config: Config, gid: int) -> int:
    from pipeline.api.archive import voice_group

    group = voice_group(config, gid)
    print(f"Group {gid}: {counted(len(group.talks), 'talk')}, {_minutes(group.seconds)}")
    for r in group.talks:
        print(f"  {r.id}: {r.destination}  (from {Path(r.path).name})")
    return ExitCode.OK


def run(config: Config, args: argparse.Namespace) -> int:
    from pipeline.api.archive import (
        merge_voice_groups,
        name_voice_group,
        regroup_voices,
        take_out_of_voice_group,
    )

    action = args.voices_command
    if action is None:
        if args.regroup:
            began = time.monotonic()
            groups = regroup_voices(config, lambda _event: None)
            # On stderr with --json, so that stdout stays one JSON object.
            print(f"Grouped again in {time.monotonic() - began:.1f} s: "
                  f"{counted(groups, 'voice')} waiting for a name.",
                  file=sys.stderr if getattr(args, "json", False) else sys.stdout)
        return _list(config, getattr(args, "json", False))
    if action == "show":
        return _show(config, args.group)
    if action == "name":
        named = name_voice_group(config, args.group, args.name)
        print(f"Filed {counted(len(named.moved), 'talk')} under {named.name}:")
        for done in named.moved:
            print(f"  {done.talk}")
        if named.enrolled:
            print(f"Enrolled {counted(len(named.enrolled), 'clip')} of their speech for "
                  f"{named.name}: the next run recognises them.")
        return ExitCode.OK
    if action == "merge":
        group = merge_voice_groups(config, args.group, args.other)
        print(f"Group {group.id} now holds {counted(len(group.talks), 'talk')}.")
        return ExitCode.OK
    row = take_out_of_voice_group(config, args.group, args.talk)
    print(f"Took {Path(row.destination or row.path).name} out of group {args.group}.")
    return ExitCode.OK
