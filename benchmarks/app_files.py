"""The process that lives long: the app, filing many files with the queue started from it.

The app is started as a user starts it (`talks --start`) in an 80×24 pseudo-terminal on an
inbox of N different short recordings, and left to file them all; the runner, in the app's
own worker thread, writes a memory checkpoint of its process at the start and the end of
every file to the log, so the log holds the app's RSS after each file. The app's whole tree
(the app, its transcription and speaker workers) is sampled beside it for the peak. `q` ends
it once the batch is done.
"""

from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.paths import ROOT, child_env
from benchmarks.sampler import TreeSampler
from benchmarks.tui_start import _drain

_MEMORY = re.compile(r"memory file (start|done): rss ([\d.]+) MB, tree ([\d.]+) MB")
_BATCH_END = "memory batch end"


@dataclass(frozen=True)
class AppFiles:
    files: int
    rss_before_mb: list[float]  # the app's RSS at the start of each file
    rss_after_mb: list[float]  # … and at its end
    peak_tree_mb: float  # the app and its workers, sampled
    peak_app_mb: float  # the app process alone, the kernel's high-water mark
    wall_s: float


def _kernel_peak_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def app_filing(config: Path, log: Path, files: int, timeout_s: float = 3600.0) -> AppFiles:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = child_env() | {"TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24",
                         # a fresh output root each time: a memory of its own (see roots.py)
                         "XDG_STATE_HOME": str(config.parent / "state")}
    began = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "--config", str(config),
                             "--start"], cwd=ROOT, env=env, stdin=slave, stdout=slave,
                            stderr=slave, start_new_session=True)
    os.close(slave)
    sampler = TreeSampler(proc.pid, interval=0.02).start()
    app_peak = 0.0
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            _drain(master, 0.5)  # the app must be able to write to its terminal
            app_peak = max(app_peak, _kernel_peak_mb(proc.pid))
            if log.is_file() and _BATCH_END in log.read_text(encoding="utf-8"):
                break
            if proc.poll() is not None:
                raise RuntimeError(f"the app ended before filing (exit {proc.returncode})")
        else:
            raise RuntimeError(f"the app did not file {files} files in {timeout_s:.0f} s")
        wall = time.perf_counter() - began
        os.write(master, b"q")
        _drain(master, 1.0)
        proc.wait(timeout=60)
    finally:
        memory = sampler.stop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    found = _MEMORY.findall(log.read_text(encoding="utf-8"))
    before = [float(rss) for kind, rss, _tree in found if kind == "start"]
    after = [float(rss) for kind, rss, _tree in found if kind == "done"]
    if len(before) != files or len(after) != files:
        raise RuntimeError(f"expected {files} memory checkpoints of each kind in the log, found "
                           f"{len(before)} start and {len(after)} done")
    return AppFiles(files, before, after, round(memory.peak_mb, 1), round(app_peak, 1),
                    round(wall, 1))
