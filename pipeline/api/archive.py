"""What is filed and what waits, and the changes a person makes to filed talks.

Every change that moves filed talks takes the run lock here, inside: no face can forget it,
and a change asked while a run files into the same root is refused with one sentence (Busy)
instead of moving a talk under the run's feet.

Re-filing brings tags, compact copies and the speaker stage with it, and the ledger brings
SQLite: those modules are imported when a change is made or a name is first asked for, so
`talks --help`, which imports this room, stays quick.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.config.settings import Config
from pipeline.run.states import FileState

if TYPE_CHECKING:
    from pipeline.filing.person_rename import PersonMoved
    from pipeline.filing.relabel import Relabeled
    from pipeline.filing.voice_names import Named, VoiceGroup
    from pipeline.ledger import FileRow, Ledger
    from pipeline.run.events import Event
    from pipeline.run.language_redo import LanguageSet
    from pipeline.run.worker import StopFlag

__all__ = [
    "FileState", "filed_talk", "finish_person_move", "merge_voice_groups",
    "move_person_everywhere", "name_voice_group", "open_ledger", "regroup_voices",
    "relabel_talk", "set_talk_language", "take_out_of_voice_group", "voice_group",
    "voice_groups", "voice_sample", "voices_waiting",
]


# Names that live in the re-filing modules, imported the first time a face asks for one.
_ON_DEMAND = {
    "PersonMoved": "pipeline.filing.person_rename", "pending": "pipeline.filing.person_rename",
    "RelabelError": "pipeline.filing.relabel", "Relabeled": "pipeline.filing.relabel",
    "FileRow": "pipeline.ledger", "Ledger": "pipeline.ledger",
    "discover": "pipeline.inbox.discover", "name_not_text": "pipeline.inbox.discover",
    "FileEntry": "pipeline.inbox.listing", "lengths_pending": "pipeline.inbox.listing",
    "scan_files": "pipeline.inbox.listing",
    "VoiceGroup": "pipeline.filing.voice_names", "VoiceGroupError": "pipeline.filing.voice_names",
    "LanguageSet": "pipeline.run.language_redo", "checked_code": "pipeline.run.language_redo",
    "said_by": "pipeline.run.language_redo", "NotALanguage": "pipeline.run.language_redo",
    "RecordingGone": "pipeline.run.language_redo",
    "WHISPER_LANGUAGES": "pipeline.config.languages", "language_name": "pipeline.config.languages",
}


def __getattr__(name: str) -> Any:
    if name in _ON_DEMAND:
        return getattr(importlib.import_module(_ON_DEMAND[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_ledger(config: Config) -> Ledger:
    """The ledger, to read the archive's rows and transcripts (close it, or use `with`)."""
    from pipeline.ledger import Ledger

    return Ledger(config.output.ledger_path)


def talks_to_identify_again(config: Config) -> int:
    """How many talks under the default speaker the next run identifies again, the speaker
    library having changed since the archive was last identified (0 when it has not)."""
    if not config.output.ledger_path.is_file():
        return 0  # nothing filed here yet (or its disk is away): nothing to say
    from pipeline.ledger import Ledger
    from pipeline.stages.reidentify import to_identify_again

    with Ledger(config.output.ledger_path) as ledger:
        return len(to_identify_again(config, ledger))


def voice_groups(config: Config) -> list[VoiceGroup]:
    """The groups of voices heard in two or more talks under the default speaker, largest
    first, each talk's filed path and original name in its row."""
    from pipeline.filing.voice_names import voice_groups as groups

    if not config.output.ledger_path.is_file():
        return []  # nothing filed yet: and a look makes no ledger
    with open_ledger(config) as ledger:
        return groups(config, ledger)


def voices_waiting(config: Config) -> int:
    """How many groups of voices wait for a name, counted from the ledger alone (no numpy,
    no order of the talks): what a status line says. 0 when nothing was filed yet."""
    if not config.output.ledger_path.is_file():
        return 0
    from pipeline.stages.voices import waiting_for_a_name

    with open_ledger(config) as ledger:
        waiting = {r.id for r in waiting_for_a_name(config, ledger)}
        talks: dict[int, int] = {}
        for talk, gid in ledger.voice_groups().items():
            if talk in waiting:
                talks[gid] = talks.get(gid, 0) + 1
    return sum(1 for count in talks.values() if count > 1)


def voice_group(config: Config, gid: int) -> VoiceGroup:
    """One group by its number (VoiceGroupError, exit 2, when there is none)."""
    from pipeline.filing.voice_names import group_by_id

    with open_ledger(config) as ledger:
        return group_by_id(config, ledger, gid)


def voice_sample(config: Config, group: VoiceGroup) -> Path | None:
    """A short clip of a group's voice, to listen to (cut once, kept beside the ledger)."""
    from pipeline.filing.voice_names import sample_clip

    with open_ledger(config) as ledger:
        return sample_clip(config, ledger, group)


def name_voice_group(config: Config, gid: int, name: str) -> Named:
    """A group named once: the person enrolled from it, every talk of it re-filed."""
    from pipeline.filing.voice_names import name_group
    from pipeline.run.lock import exclusive_run

    with exclusive_run(config), open_ledger(config) as ledger:
        return name_group(config, ledger, gid, name)


def merge_voice_groups(config: Config, keep: int, other: int) -> VoiceGroup:
    from pipeline.filing.voice_names import merge_groups
    from pipeline.run.lock import exclusive_run

    with exclusive_run(config), open_ledger(config) as ledger:
        return merge_groups(config, ledger, keep, other)


def take_out_of_voice_group(config: Config, gid: int, ref: str) -> FileRow:
    from pipeline.filing.voice_names import take_out
    from pipeline.run.lock import exclusive_run

    with exclusive_run(config), open_ledger(config) as ledger:
        return take_out(config, ledger, gid, ref)


def regroup_voices(config: Config, on_event: Callable[[Event], None]) -> int:
    """The unnamed voices grouped again from scratch (talks whose voice could not be heard
    are tried again); returns how many groups there are."""
    from pipeline.run.lock import exclusive_run
    from pipeline.stages.voices import keep_voices

    with exclusive_run(config), open_ledger(config) as ledger:
        ledger.db.execute("DELETE FROM voices WHERE samples = 0")
        keep_voices(config, ledger, on_event, None, regroup=True)
        return len(set(ledger.voice_groups().values()))


def filed_talk(config: Config, ref: str, redone: bool = False) -> FileRow:
    """A filed talk's row (its file is `destination`, its speaker `speaker`), by number, path
    or a piece of its name that only it has (`redone`: or one being done again)."""
    from pipeline.filing.relabel import find_talk

    with open_ledger(config) as ledger:
        return find_talk(ledger, ref, redone)


def set_talk_language(config: Config, ref: str, code: str, on_event: Callable[[Event], None],
                      control: StopFlag | None = None) -> LanguageSet:
    """A person's word on the language talk `ref` is in: kept in the ledger, and the talk
    transcribed again in it now and re-filed in place (pipeline/run/language_redo.py), as a
    run of its own (the run lock, its status and events for the app to follow)."""
    from pipeline.run.housekeeping import preflight
    from pipeline.run.language_redo import checked_code, in_language
    from pipeline.run.session import run_session

    code = checked_code(code)  # a wrong code is said before any disk is looked at
    preflight(config, inbox=False)
    with run_session(config, on_event, control, face="language") as session, \
            open_ledger(config) as ledger:
        return in_language(config, ledger, ref, code, session.emit, session.control)


def relabel_talk(config: Config, ref: str, name: str, enroll: bool = False) -> Relabeled:
    """One talk re-filed under `name` (and with `enroll`, its speech added to their clips)."""
    from pipeline.filing.relabel import relabel
    from pipeline.run.lock import exclusive_run

    with exclusive_run(config), open_ledger(config) as ledger:
        return relabel(config, ledger, ref, name, enroll)


def move_person_everywhere(config: Config, old: str, new: str, merge: bool) -> PersonMoved:
    """A person renamed, or merged into another: clips, filed talks, transcripts, ledger."""
    from pipeline.filing.person_rename import move_person
    from pipeline.run.lock import exclusive_run

    with exclusive_run(config):
        return move_person(config, old, new, merge=merge)


def finish_person_move(config: Config) -> PersonMoved | None:
    """A rename or merge that was killed half-way, finished; None when there was none."""
    from pipeline.filing.person_rename import finish_interrupted, pending
    from pipeline.run.lock import exclusive_run

    if pending(config) is None:
        return None
    with exclusive_run(config):
        return finish_interrupted(config)
