"""Is this file finished arriving? A recording still being copied into the inbox must never
be filed: its copy would be cut short, and its transcript with it.

A file is *settled* when it has not changed for a quiet period. "Changed" is read from three
things: its size, its modification time, and its status-change time (ctime). Copy tools may
set the modification time to the source's at the start or the end of a copy, but every write
moves the ctime to now and nothing a user runs can set it back, so a file whose last change
(the later of mtime and ctime) lies `quiet_seconds` in the past is not being written.

For a file that changed recently — or whose times cannot be trusted (a network disk whose
clock runs ahead) — the watcher remembers what it saw and calls the file settled once the
same size and times have been seen for the quiet period. One `SettleWatch` kept across polls
serves a `--watch` loop; a batch run asks once and leaves unsettled files for a later run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_QUIET_SECONDS = 10.0


@dataclass(frozen=True)
class Snapshot:
    size: int
    mtime_ns: int
    ctime_ns: int

    @property
    def last_change(self) -> float:
        """Seconds since the epoch of the latest change the file system recorded."""
        return max(self.mtime_ns, self.ctime_ns) / 1e9


def snapshot(path: Path) -> Snapshot | None:
    """Size and change times of `path` (following a symlink), or None when it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return Snapshot(st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class SettleWatch:
    """Tells settled files from ones still being written; remembers what it saw between calls.

    `clock` measures the quiet periods it watches itself (monotonic); `wall` is compared with
    the file system's times."""

    def __init__(self, quiet_seconds: float = DEFAULT_QUIET_SECONDS,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time):
        self.quiet_seconds = quiet_seconds
        self.clock = clock
        self.wall = wall
        self._seen: dict[Path, tuple[Snapshot, float]] = {}

    def is_settled(self, path: Path) -> bool:
        current = snapshot(path)
        if current is None:
            self._seen.pop(path, None)
            return False
        now = self.clock()
        seen = self._seen.get(path)
        if seen is None or seen[0] != current:
            self._seen[path] = (current, now)  # new, or it changed: the quiet period starts
            seen = self._seen[path]
        age = self.wall() - current.last_change
        if 0 <= age and age >= self.quiet_seconds:
            return True  # the file system says nothing touched it for the whole period
        return now - seen[1] >= self.quiet_seconds

    def split(self, paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
        """(settled, still changing), each in the order given."""
        settled, changing = [], []
        for path in paths:
            (settled if self.is_settled(path) else changing).append(path)
        return settled, changing

    def wait(self, paths: Iterable[Path], timeout: float,
             sleep: Callable[[float], None] = time.sleep) -> tuple[list[Path], list[Path]]:
        """Poll until every path has settled or `timeout` seconds have gone by; returns
        (settled, still changing). A path that disappears counts as still changing."""
        pending = list(paths)
        settled: list[Path] = []
        deadline = self.clock() + timeout
        while True:
            done, pending = self.split(pending)
            settled.extend(done)
            if not pending or self.clock() >= deadline:
                return settled, pending
            sleep(min(1.0, max(0.05, self.quiet_seconds / 4),
                      max(0.0, deadline - self.clock())))

    def forget(self, path: Path) -> None:
        self._seen.pop(path, None)
