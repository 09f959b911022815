"""Run one command as a subprocess while its process tree is sampled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from benchmarks.sampler import SamplerReport, TreeSampler

# Told each line a stream prints, with the sampler, so it can name the phase the tree is in.
LineHook = Callable[[str, TreeSampler], None]


@dataclass
class ProcRun:
    returncode: int
    wall_s: float
    stdout: str
    stderr: str
    memory: SamplerReport
    # The kernel's own high-water mark of the largest single process in the tree (wait4):
    # exact where the sampler can only be close, but it knows nothing of the sum.
    kernel_max_process_mb: float | None
    # User + system CPU of the process and the descendants it waited for (wait4): less
    # swayed than wall time by other work on the machine, so a steadier basis for ratios.
    cpu_s: float | None
    # The tree as a process of its own saw it (benchmarks/outside_memory.py): peak RSS and
    # peak PSS (shared pages counted once), and what each process held at those moments.
    outside: dict | None = None


# The outside sampler's rate: at least 20 Hz is asked for; each sample reads smaps_rollup of
# every process of the tree (the kernel walks its page tables, ~1 ms for a 300 MB worker).
OUTSIDE_HZ = 50


def _pump(stream: IO[str], keep: list[str], hook: LineHook | None,
          sampler: TreeSampler) -> None:
    for line in stream:
        keep.append(line)
        if hook is not None:
            hook(line.rstrip("\n"), sampler)


def _wait_with_rusage(proc: subprocess.Popen[str]) -> tuple[float | None, float | None]:
    """Reap the child ourselves so its rusage is not thrown away by Popen.

    Returns (peak RSS of the largest single process in MB, CPU seconds of the tree)."""
    if not hasattr(os, "wait4"):
        proc.wait()
        return None, None
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    # Linux reports ru_maxrss in KiB, macOS in bytes.
    per_mb = 1024 * 1024 if sys.platform == "darwin" else 1024
    return usage.ru_maxrss / per_mb, usage.ru_utime + usage.ru_stime


def run_sampled(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
                on_stdout: LineHook | None = None, on_stderr: LineHook | None = None,
                interval: float = 0.01) -> ProcRun:
    began = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            bufsize=1)
    sampler = TreeSampler(proc.pid, interval=interval).start()
    outside_file = Path(f"/tmp/talks-outside-{proc.pid}-{os.getpid()}.json")
    outside = subprocess.Popen([sys.executable, "-m", "benchmarks.outside_memory",
                                str(proc.pid), "--hz", str(OUTSIDE_HZ), "--out",
                                str(outside_file)], cwd=Path(__file__).resolve().parent.parent,
                               stdin=subprocess.DEVNULL)
    out: list[str] = []
    err: list[str] = []
    assert proc.stdout is not None and proc.stderr is not None
    pumps = [threading.Thread(target=_pump, args=(proc.stdout, out, on_stdout, sampler)),
             threading.Thread(target=_pump, args=(proc.stderr, err, on_stderr, sampler))]
    for pump in pumps:
        pump.start()
    try:
        kernel_mb, cpu_s = _wait_with_rusage(proc)
        wall = time.perf_counter() - began
    finally:
        memory = sampler.stop()
        if proc.returncode is None:  # interrupted: do not leave the child running
            proc.kill()
            proc.wait()
        for pump in pumps:
            pump.join()
        seen = _outside_result(outside, outside_file)
    return ProcRun(proc.returncode, wall, "".join(out), "".join(err), memory, kernel_mb, cpu_s,
                   seen)


def _outside_result(sampler: subprocess.Popen, path: Path) -> dict | None:
    """The outside sampler ends by itself once the measured tree is gone."""
    try:
        sampler.wait(timeout=10)
    except subprocess.TimeoutExpired:
        sampler.kill()
        sampler.wait()
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    finally:
        path.unlink(missing_ok=True)
