"""Kill points for the chaos harness (tests/support/chaos.py); nothing at all unless it asks.
It lives in common/ so every layer can hold a kill point.

A kill at a random moment rarely lands in the few milliseconds between a copy's fsync and its
rename, yet those are the moments that lose recordings. So the harness names the moment:
`TALKS_CHAOS="organize.fsync:2:0"` makes the run SIGKILL its whole process group (the main
process and its worker, as `kill -9` of a process tree would) the 2nd time any process of the
run reaches `chaos_point("organize.fsync")`, after 0 ms. A delay lets the kill land somewhere
inside the work that follows the point instead of exactly on it. The count is kept in
files under TALKS_CHAOS_DIR, so it runs across the worker processes of one run.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

_SPEC = os.environ.get("TALKS_CHAOS", "")
_DIR = os.environ.get("TALKS_CHAOS_DIR", "")


def _parse(spec: str) -> tuple[str, int, float] | None:
    if not spec or not _DIR:
        return None
    name, _, rest = spec.partition(":")
    count, _, delay = rest.partition(":")
    return name, int(count or 1), float(delay or 0) / 1000


_TARGET = _parse(_SPEC)


def _kill_run() -> None:
    os.killpg(os.getpgrp(), signal.SIGKILL)


def _kill_run_later(seconds: float) -> None:
    """A killer of its own, outside the run: the process that reached the point may have
    ended (a worker handing over) before the delay is up, and the kill must still come."""
    subprocess.Popen(["sh", "-c", f"sleep {seconds:.3f}; kill -KILL -{os.getpgrp()}"],
                     start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def chaos_point(name: str) -> None:
    if _TARGET is None or _TARGET[0] != name:
        return
    counter = Path(_DIR) / f"{name}.count"
    fd = os.open(counter, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, b".")
        reached = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if reached != _TARGET[1]:
        return
    (Path(_DIR) / "fired").write_text(f"{name}:{reached}:{_TARGET[2]}")
    if _TARGET[2] <= 0:
        _kill_run()
    _kill_run_later(_TARGET[2])
