"""What is filed and what waits, and the changes a person makes to filed talks.

Every change that moves filed talks takes the run lock here, inside: no face can forget it,
and a change asked while a run files into the same root is refused with one sentence (Busy)
instead of moving a talk under the run's feet.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.config.settings import Config
from pipeline.filing.person_rename import PersonMoved, finish_interrupted, move_person, pending
from pipeline.filing.relabel import Relabeled, RelabelError, find_talk, relabel
from pipeline.inbox.discover import discover, name_not_text
from pipeline.inbox.listing import FileEntry, lengths_pending, scan_files
from pipeline.ledger import FileRow, Ledger
from pipeline.run.lock import exclusive_run
from pipeline.run.states import FileState

__all__ = [
    "FileEntry", "FileRow", "FileState", "Ledger", "PersonMoved", "RelabelError", "Relabeled",
    "discover", "filed_talk_path", "finish_person_move", "move_person_everywhere",
    "name_not_text", "open_ledger", "pending", "relabel_talk", "lengths_pending", "scan_files",
]


def open_ledger(config: Config) -> Ledger:
    """The ledger, to read the archive's rows and transcripts (close it, or use `with`)."""
    return Ledger(config.output.ledger_path)


def filed_talk_path(config: Config, ref: str) -> Path:
    """A filed talk's file, by number, path or a piece of its name that only it has."""
    with open_ledger(config) as ledger:
        return Path(find_talk(ledger, ref).destination or "")


def relabel_talk(config: Config, ref: str, name: str, enroll: bool = False) -> Relabeled:
    """One talk re-filed under `name` (and with `enroll`, its speech added to their clips)."""
    with exclusive_run(config), open_ledger(config) as ledger:
        return relabel(config, ledger, ref, name, enroll)


def move_person_everywhere(config: Config, old: str, new: str, merge: bool) -> PersonMoved:
    """A person renamed, or merged into another: clips, filed talks, transcripts, ledger."""
    with exclusive_run(config):
        return move_person(config, old, new, merge=merge)


def finish_person_move(config: Config) -> PersonMoved | None:
    """A rename or merge that was killed half-way, finished; None when there was none."""
    if pending(config) is None:
        return None
    with exclusive_run(config):
        return finish_interrupted(config)
