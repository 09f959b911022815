"""The app's time to its first useful screen and its idle memory, in a pseudo-terminal.

The app is started as a user starts it (`talks --config …`) on the slave side of a pty of
80×24; the master side is read until the status line with the number of recordings has been
drawn (the file table is filled by then). The app then settles (its second scan runs ffprobe
on each recording for its length), and once idle the RSS of it and its children is sampled
for a few seconds; the highest reading of each window is kept. `q` ends it.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from benchmarks.paths import ROOT, child_env

MB = 1024 * 1024
# The status line once the folders and the ledger have been read.
READY = re.compile(rb"\d+ recordings")
ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


@dataclass(frozen=True)
class AppStart:
    first_screen_s: float
    idle_rss_mb: float   # the app process, once settled
    idle_tree_mb: float  # with its children (ffprobe while it settles, workers)
    settling_tree_mb: float  # the tree while it settled, ffprobe children included


def _read_until(fd: int, pattern: re.Pattern[bytes], timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:  # the app ended
                break
            if pattern.search(ANSI.sub(b"", seen)):
                return seen
    raise RuntimeError(f"the app never showed {pattern.pattern!r}; it wrote "
                       f"{ANSI.sub(b'', seen)[-400:]!r}")


def _drain(fd: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                os.read(fd, 65536)
            except OSError:
                return


def _tree_mb(proc: psutil.Process) -> tuple[float, float]:
    own = proc.memory_info().rss
    children = 0
    for child in proc.children(recursive=True):
        try:
            children += child.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return own / MB, (own + children) / MB


def _peak(app: psutil.Process, master: int, seconds: float) -> tuple[float, float]:
    own = tree = 0.0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _drain(master, 0.1)
        now_own, now_tree = _tree_mb(app)
        own, tree = max(own, now_own), max(tree, now_tree)
    return own, tree


def first_screen(config: Path, settle_s: float = 5.0, idle_s: float = 5.0) -> AppStart:
    # `python -m tui.cli` in this checkout is what the `talks` entry point runs; the entry
    # point of a shared venv may belong to another checkout.
    cmd = [sys.executable, "-m", "tui.cli"]
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = child_env() | {"TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
    began = time.perf_counter()
    proc = subprocess.Popen([*cmd, "--config", str(config)], cwd=ROOT, env=env, stdin=slave,
                            stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    try:
        _read_until(master, READY, timeout=30)
        first = time.perf_counter() - began
        app = psutil.Process(proc.pid)
        _own, settling = _peak(app, master, settle_s)
        own, tree = _peak(app, master, idle_s)
        os.write(master, b"q")
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return AppStart(first, own, tree, settling)
