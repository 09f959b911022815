"""Errors talks foresees, told as one sentence, and the faults of the machine among them.

Every error a user may read is a `TalksError`: what happened (`sentence`), what to do
(`advice`; older messages carry it inside the sentence), and the exit code a face ends with.
`str()` is what the user reads. The faces print `talks: {exc}` for any of them and the runner
never re-wraps one: a TalksError that escapes a stage is that stage's failure, in its words.
Anything else is a bug, told by `unexpected`.

Faults of the machine: a full disk, a read-only or unmounted one, a missing permission, a
missing tool or model.

Such a fault is not the recording's doing, and the next file would meet it too, so it stops
the run (the ledger keeps what was done; the next run resumes). `Fault` carries the sentence
and the exit code; `describe` turns an OSError or SQLite error into a sentence that names the
place and says what to do. It lives in common/, below everything that can meet a fault.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """Exit codes of `talks` and of each of its commands, in one place (--help lists them)."""
    OK = 0
    FAILED = 1    # the run went through but some recordings could not be filed; a command
                  # could not do what it was asked; `talks search` found nothing (as grep)
    USAGE = 2     # the config or the command line needs fixing
    MACHINE = 3   # the machine stopped the run: disk, permissions, ffmpeg, model
    BUSY = 4      # another talks run is filing into the same output root
    STOPPED = 5   # stopped before the end when asked (c, p or q in an app, or an app's
                  # request to a batch): run again to resume
    BUG = 70      # a bug in talks (the log has the details)
    SIGINT = 130  # stopped by Ctrl-C (SIGINT)
    SIGTERM = 143  # stopped by SIGTERM


class TalksError(Exception):
    """An error talks foresaw. `str()` is the sentence and then the advice, as the user reads
    them; `exit_code` is what `talks` exits with when a command ends on it."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, sentence: str = "", advice: str = "") -> None:
        self.sentence = sentence
        self.advice = advice
        super().__init__(f"{sentence} {advice}" if sentence and advice else sentence or advice)


class Fault(TalksError):
    """The machine stopped the run. `str()` is the one sentence the user reads; `summary`
    is what the run had done before it stopped (when it was a batch)."""

    exit_code = ExitCode.MACHINE
    summary: object | None = None
    file: str | None = None  # the recording it stopped, when it stopped one
    stage: str | None = None


class Busy(Fault):
    exit_code = ExitCode.BUSY


def unexpected(exc: BaseException) -> str:
    """The sentence for an error talks did not foresee (a bug): what it was, where the
    details are, and what to do. One place, so every face and the workers say it alike."""
    return (f"Unexpected error ({type(exc).__name__}: {exc}); the log has the details — run "
            "again, and report it if it repeats.")


_FULL = (errno.ENOSPC, errno.EDQUOT)
_READ_ONLY = (errno.EROFS,)
_DENIED = (errno.EACCES, errno.EPERM)
_GONE = (errno.ENOENT, errno.ENOTDIR, errno.ENODEV, errno.ENXIO, errno.ESTALE)


def is_machine_fault(exc: BaseException) -> bool:
    """Whether the error comes from the machine (disk, permissions) rather than a file's
    content: those stop the run, because the next file would meet them too."""
    if isinstance(exc, Fault):
        return True
    if isinstance(exc, OSError):
        return exc.errno in (*_FULL, *_READ_ONLY, *_DENIED, errno.EIO, errno.EFBIG)
    if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
        return _sqlite_kind(exc) is not None
    return False


def _sqlite_kind(exc: sqlite3.Error) -> int | None:
    text = str(exc).lower()
    if "disk is full" in text or "database or disk is full" in text:
        return errno.ENOSPC
    if "readonly" in text or "read-only" in text:
        return errno.EROFS
    if "unable to open" in text or "authorization" in text:
        return errno.EACCES
    if "disk i/o error" in text:
        return errno.EIO
    if "malformed" in text or "not a database" in text:
        return -1
    return None


def _read_only_fs(path: Path) -> bool:
    """Whether the file system holding `path` (or its nearest existing folder) is read-only."""
    for candidate in (path, *path.parents):
        try:
            return bool(os.statvfs(candidate).f_flag & os.ST_RDONLY)
        except OSError:
            continue
    return False


def _nearly_full(path: Path, below_bytes: int = 1 << 20) -> bool:
    for candidate in (path, *path.parents):
        try:
            st = os.statvfs(candidate)
        except OSError:
            continue
        return st.f_bavail * st.f_frsize < below_bytes
    return False


def describe(exc: BaseException, what: str, where: Path | str) -> str:
    """One sentence for an error met while writing or reading `what` (e.g. "the ledger") at
    `where`: what happened there and what to do."""
    if isinstance(exc, Fault):
        return str(exc)
    code: int | None = None
    if isinstance(exc, OSError):
        code = exc.errno
    elif isinstance(exc, sqlite3.Error):
        code = _sqlite_kind(exc)
    if code in _DENIED and _read_only_fs(Path(where)):
        code = errno.EROFS  # SQLite says "unable to open" for both; the disk tells which
    if code == errno.EIO and _nearly_full(Path(where)):
        code = errno.ENOSPC  # SQLite reports a WAL that cannot grow as a "disk I/O error"
    if code in _FULL:
        return (f"The disk holding {what} ({where}) is full: free some space there, then run "
                "again (finished work is kept).")
    if code == errno.EFBIG:
        return (f"A file is too large for the disk holding {what} ({where}); FAT32 disks hold "
                "at most 4 GB a file: use a disk formatted as exFAT or APFS.")
    if code in _READ_ONLY:
        return (f"{what.capitalize()} ({where}) is on a read-only disk: mount it writable or "
                "choose another place in the config, then run again.")
    if code in _DENIED:
        return (f"No permission to write {what} ({where}): fix the permissions of that "
                "folder or choose another place in the config, then run again.")
    if code == errno.EIO:
        return (f"The disk holding {what} ({where}) reported an input/output error: check the "
                "disk and its cable, then run again.")
    if code == -1:
        return (f"{what.capitalize()} ({where}) is damaged and cannot be read: move it aside "
                "(talks starts a new one and files every recording again), or restore it "
                "from a backup.")
    if code in _GONE:
        return f"{what.capitalize()} ({where}) is not there: check that its disk is mounted."
    detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return f"Could not use {what} ({where}): {detail}."


def fault(exc: BaseException, what: str, where: Path | str) -> Fault:
    """The Fault for `exc`, to raise `from None` (the sentence replaces the traceback)."""
    return exc if isinstance(exc, Fault) else Fault(describe(exc, what, where))

