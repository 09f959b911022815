"""Are the folders there? An external disk that is not mounted is not an empty folder.

When an output root's disk is unplugged, its path either vanishes (/Volumes/Talks/…) or
shows an empty mount-point folder (/mnt/talks). Either way, creating a fresh ledger there
would start a second library on the system disk, and file every talk again into it.

How do we know a root "existed before"? The root itself cannot say — it is the thing that is
missing — so talks keeps a small list outside it, in the user's state folder
(~/.local/state/talks/ledgers.json, ~/Library/Application Support/talks/ on a Mac, or
$TALKS_STATE_DIR): every ledger it has created or opened. A ledger on that list that is gone
now means a disk that is not mounted (or a root moved away); talks says so and files
nothing. This needs no setting from the user, and it also covers a first run whose config
points into a folder that does not exist: talks creates the output root itself, but never
the folders above it (a missing /Volumes/Talks is never made on the system disk).
Removing a library on purpose is said once, with --new-output-root.

The speaker library is kept on the same kind of list (speaker_libraries.json beside it):
every library folder talks has seen people in, so a speaker disk that is not mounted is not
taken for a library nobody has made yet (pipeline/config/speaker_folder.py).
"""

from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path

from common.errors import Fault, describe

STATE_ENV = "TALKS_STATE_DIR"


def state_dir() -> Path:
    if os.environ.get(STATE_ENV):
        return Path(os.environ[STATE_ENV])
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "talks"
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "talks"


def _known_file() -> Path:
    return state_dir() / "ledgers.json"


def _key(path: Path) -> str:
    # Not resolved: a symlinked root whose target disk is gone must still match.
    return os.path.abspath(os.path.expanduser(str(path)))


def _listed(source: Path, key: str) -> set[str]:
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return {str(p) for p in data.get(key, [])} if isinstance(data, dict) else set()


def known_ledgers() -> set[str]:
    return _listed(_known_file(), "ledgers")


def was_used(ledger_path: Path) -> bool:
    """Whether talks made a ledger at this path before (its output root was filed into)."""
    return _key(ledger_path) in known_ledgers()


def _save(ledgers: set[str], target: Path | None = None, key: str = "ledgers") -> None:
    """Best effort: a home folder that cannot be written costs only this safety net."""
    target = target or _known_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
        tmp.write_text(json.dumps({key: sorted(ledgers)}, indent=1), encoding="utf-8")
        os.replace(tmp, target)
    except OSError:
        pass


def remember_ledger(ledger_path: Path) -> None:
    known = known_ledgers()
    if _key(ledger_path) not in known:
        _save(known | {_key(ledger_path)})


def forget_ledger(ledger_path: Path) -> None:
    known = known_ledgers()
    if _key(ledger_path) in known:
        _save(known - {_key(ledger_path)})


def _libraries_file() -> Path:
    return state_dir() / "speaker_libraries.json"


def speaker_library_known(folder: Path) -> bool:
    """Whether people were seen in the speaker library at `folder` before."""
    return _key(folder) in _listed(_libraries_file(), "libraries")


def remember_speaker_library(folder: Path) -> None:
    known = _listed(_libraries_file(), "libraries")
    if _key(folder) not in known:
        _save(known | {_key(folder)}, _libraries_file(), "libraries")


def guard_new_ledger(ledger_path: Path, root: Path) -> None:
    """Called before a ledger is created at `ledger_path` (inside the output root `root`):
    refuses when a ledger was there before, or when the root's own folder is missing."""
    if _key(ledger_path) in known_ledgers():
        state = "is there but holds no ledger" if root.is_dir() else "is missing"
        raise Fault(f"The output root {root} had a talks ledger before and now {state}: if "
                    "it is on an external disk, mount the disk and run again. Nothing was "
                    "filed. If you moved or removed that library on purpose, run once with "
                    "--new-output-root.")
    if not root.exists() and not root.parent.is_dir():
        raise Fault(f"The output root {root} cannot be made: the folder above it "
                    f"({root.parent}) does not exist. If it is on an external disk, mount the "
                    "disk; otherwise create that folder or fix output.root in the config. "
                    "Nothing was filed.")


def missing_input_folders(folders: list[Path]) -> list[Path]:
    return [f for f in folders if not f.is_dir()]


def check_input_folders(folders: list[Path], config_source: Path | None) -> None:
    missing = missing_input_folders(folders)
    if missing:
        names = ", ".join(str(f) for f in missing)
        where = f" in {config_source}" if config_source else ""
        raise Fault(f"Input folder{'s' if len(missing) > 1 else ''} {names} "
                    f"{'do' if len(missing) > 1 else 'does'} not exist: if on an external "
                    f"disk, mount it; otherwise create it or fix input.folders{where}. "
                    "Nothing was filed.")


def check_output_writable(root: Path) -> None:
    """The output root takes writes (or, before it is made, the folder it is made in)."""
    where = root if root.exists() else root.parent
    if where.is_dir() and not os.access(where, os.W_OK | os.X_OK):
        denied = PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(where))
        raise Fault(describe(denied, "the output folder", where))


def check_output_root(ledger_path: Path, root: Path) -> None:
    """Before anything is written for a run (even its log): is the output root usable?"""
    if not ledger_path.exists():
        guard_new_ledger(ledger_path, root)
