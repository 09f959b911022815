"""The speaker library's folder, guarded like the output root (see roots.py).

A library people were enrolled from that is missing now is a disk that is not mounted or a
folder that moved, not a library nobody has made: said in one sentence, and nothing is made
in its place. Every command that touches the library opens it here — the batch, `talks
speakers …`, `relabel --enroll` and the review's enrolling, the app's library screen — so none
of them tells an unplugged disk "nobody is enrolled", and none starts a new library that the
next run would then file every talk against.

What says a library was used: its folder on talks' list of libraries (remembered whenever
people are seen in it, or a clip is added), or a clip under it whose vector the ledger keeps
(a library used before that list existed).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from common.errors import Fault
from pipeline.config import roots
from pipeline.config.settings import Config
from speakers.library import SpeakerLibrary

if TYPE_CHECKING:
    from pipeline.ledger import Ledger


class LibraryMissing(Fault):
    """The speaker library people were enrolled from is not there (exit 3, like the batch)."""


class _Remembered(SpeakerLibrary):
    """The library as the guard hands it out: once a clip is added, its folder is on the list,
    so unplugging it right after the first `speakers add` is caught too."""

    def add(self, name: str, sources: list[Path], start: float | None = None,
            duration: float | None = None) -> list[Path]:
        added = super().add(name, sources, start, duration)
        roots.remember_speaker_library(self.folder)
        return added

    def add_speech(self, name: str, source: Path,
                   pieces: list[tuple[float, float]]) -> Path | None:
        added = super().add_speech(name, source, pieces)
        roots.remember_speaker_library(self.folder)
        return added


def used_before(config: Config, ledger: Ledger | None = None) -> bool:
    """Whether people were enrolled from the configured library (see the module)."""
    folder = config.speakers.folder
    if roots.speaker_library_known(folder):
        return True
    if ledger is not None:
        return ledger.embedded_from(folder)
    if not config.output.ledger_path.is_file():
        return False  # no ledger yet: never make one just to ask it
    from pipeline.ledger import Ledger

    try:
        with Ledger(config.output.ledger_path) as opened:
            return opened.embedded_from(folder)
    except Fault:
        # The ledger cannot be opened (a read-only disk): it cannot tell, and a look at the
        # library must not fail over it. The run itself stops on that disk with its sentence.
        return False


def check_library(config: Config, *, create: bool = False, ledger: Ledger | None = None,
                  nothing: str = "") -> None:
    """Raise LibraryMissing when the library was used before and is gone; with `create` (a
    command about to add the first clips), also when the folder above it is missing, since
    talks never makes the folders above a library (a missing /Volumes/Speakers is an unplugged
    disk, not a place to start one on the system disk). `nothing`: what the caller did not do,
    said at the end."""
    folder = config.speakers.folder
    tail = f" {nothing}" if nothing else ""
    if folder.is_dir():
        if SpeakerLibrary(folder).people():
            roots.remember_speaker_library(folder)
        return
    if used_before(config, ledger):
        raise LibraryMissing(f"The speaker library {folder} is missing, but people were "
                             "enrolled from it before: if it is on an external disk, mount it "
                             "and run again; otherwise fix speakers.folder in the config, or "
                             f"create the folder to start a new library there.{tail}")
    if create and not folder.parent.is_dir():
        raise LibraryMissing(f"The speaker library {folder} cannot be made: the folder above "
                             f"it ({folder.parent}) does not exist. If it is on an external "
                             "disk, mount the disk; otherwise create that folder or fix "
                             f"speakers.folder in the config.{tail}")


def open_library(config: Config, create: bool = False) -> SpeakerLibrary:
    """The configured library, after check_library; `create`: the caller adds clips."""
    check_library(config, create=create)
    return _Remembered(config.speakers.folder)
