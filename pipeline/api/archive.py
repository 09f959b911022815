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
from typing import TYPE_CHECKING, Any

from pipeline.config.settings import Config
from pipeline.run.states import FileState

if TYPE_CHECKING:
    from pipeline.filing.person_rename import PersonMoved
    from pipeline.filing.relabel import Relabeled
    from pipeline.ledger import FileRow, Ledger

__all__ = [
    "FileState", "filed_talk", "finish_person_move", "move_person_everywhere",
    "open_ledger", "relabel_talk",
]


# Names that live in the re-filing modules, imported the first time a face asks for one.
_ON_DEMAND = {
    "PersonMoved": "pipeline.filing.person_rename", "pending": "pipeline.filing.person_rename",
    "RelabelError": "pipeline.filing.relabel", "Relabeled": "pipeline.filing.relabel",
    "FileRow": "pipeline.ledger", "Ledger": "pipeline.ledger",
    "discover": "pipeline.inbox.discover", "name_not_text": "pipeline.inbox.discover",
    "FileEntry": "pipeline.inbox.listing", "lengths_pending": "pipeline.inbox.listing",
    "scan_files": "pipeline.inbox.listing",
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


def filed_talk(config: Config, ref: str) -> FileRow:
    """A filed talk's row (its file is `destination`, its speaker `speaker`), by number, path
    or a piece of its name that only it has."""
    from pipeline.filing.relabel import find_talk

    with open_ledger(config) as ledger:
        return find_talk(ledger, ref)


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
