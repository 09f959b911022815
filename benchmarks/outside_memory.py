"""The memory of a process tree, sampled by a process of its own (`make bench`'s outside view).

`python -m benchmarks.outside_memory PID [--hz 50] [--out FILE]` follows PID and every
descendant until PID is gone, and writes one JSON object: the tree's peak RSS and peak PSS,
when they happened, and what each process held at those moments.

Why a process of its own: a sampler thread inside the benchmark shares the benchmark's
interpreter (its GIL, its pauses), and the pipeline's own accounting counts only what it
asks about, when it asks. This one reads /proc directly, 50 times a second by default.

Why PSS beside RSS: the batch and its worker map the same Python, libraries and files, and a
page mapped by both counts in each one's RSS. PSS (/proc/PID/smaps_rollup) charges a shared
page to its processes in equal shares, so the tree's PSS counts every page once: it is what
the tree really takes from the machine. RSS summed over the tree is an upper bound.

Children are found through /proc/PID/task/TID/children (no scan of the whole machine),
where the kernel has it; elsewhere through psutil, every `rescan` seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

KB = 1024
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
MB = 1024 * 1024


@dataclass
class Reading:
    """One process at one moment, in MB."""

    name: str
    rss: float
    pss: float | None


@dataclass
class TreeMemory:
    peak_rss_mb: float = 0.0
    peak_pss_mb: float = 0.0
    peak_rss_at_s: float = 0.0
    peak_pss_at_s: float = 0.0
    # Each process's share of the tree at its peak RSS and at its peak PSS.
    at_peak_rss: dict[str, dict] = field(default_factory=dict)
    at_peak_pss: dict[str, dict] = field(default_factory=dict)
    process_peak_rss_mb: dict[str, float] = field(default_factory=dict)
    samples: int = 0
    seconds: float = 0.0
    pss_available: bool = True

    @property
    def hz(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else 0.0


def _children(pid: int) -> list[int] | None:
    """The direct children of a process, from its threads' children files; None where the
    kernel keeps no such file."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    found: list[int] = []
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as f:
                found.extend(int(x) for x in f.read().split())
        except FileNotFoundError:
            if not os.path.exists(f"/proc/{pid}/task/{tid}"):
                continue  # the thread ended
            return None
        except OSError:
            continue
    return found


def tree_pids(root: int) -> list[int]:
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        kids = _children(pid)
        if kids is None:  # no children files here: psutil finds them the slow way
            import psutil

            try:
                return [root, *(p.pid for p in psutil.Process(root).children(recursive=True))]
            except psutil.Error:
                return [root]
        todo.extend(kids)
    return out


def _name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return "?"


def read(pid: int, with_pss: bool) -> Reading | None:
    """RSS from statm (one line); PSS from smaps_rollup, where the kernel has it."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as f:
            rss = int(f.read().split()[1]) * PAGE / MB
    except (OSError, ValueError, IndexError):
        return None
    if rss == 0:  # a zombie, or a kernel thread: holds nothing
        return None
    pss = None
    if with_pss:
        try:
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss = int(line.split()[1]) * KB / MB
                        break
        except OSError:
            pss = None
    return Reading(_name(pid), rss, pss)


def sample_until_gone(root: int, hz: float = 50.0, stop_file: Path | None = None) -> TreeMemory:
    """Sample the tree of `root` until it is gone (or `stop_file` appears)."""
    interval = 1.0 / hz
    result = TreeMemory(pss_available=os.path.exists(f"/proc/{root}/smaps_rollup")
                        or not sys.platform.startswith("linux"))
    began = time.monotonic()
    names: dict[int, str] = {}
    while True:
        now = time.monotonic()
        readings = {}
        for pid in tree_pids(root):
            got = read(pid, result.pss_available)
            if got is not None:
                readings[pid] = got
        if not readings or (stop_file is not None and stop_file.exists()):
            break
        result.samples += 1
        rss = sum(r.rss for r in readings.values())
        pss = sum((r.pss or 0.0) for r in readings.values())
        at = round(now - began, 2)
        for pid, r in readings.items():
            key = f"{r.name}[{pid}]"
            names[pid] = key
            result.process_peak_rss_mb[key] = round(
                max(result.process_peak_rss_mb.get(key, 0.0), r.rss), 1)
        if rss > result.peak_rss_mb:
            result.peak_rss_mb, result.peak_rss_at_s = round(rss, 1), at
            result.at_peak_rss = {names[p]: _shares(r) for p, r in readings.items()}
        if pss > result.peak_pss_mb:
            result.peak_pss_mb, result.peak_pss_at_s = round(pss, 1), at
            result.at_peak_pss = {names[p]: _shares(r) for p, r in readings.items()}
        time.sleep(max(0.0, interval - (time.monotonic() - now)))
    result.seconds = time.monotonic() - began
    return result


def _shares(r: Reading) -> dict:
    return {"rss_mb": round(r.rss, 1), "pss_mb": None if r.pss is None else round(r.pss, 1)}


def summary(memory: TreeMemory) -> dict:
    return {**asdict(memory), "hz": round(memory.hz, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.outside_memory",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pid", type=int)
    parser.add_argument("--hz", type=float, default=50.0)
    parser.add_argument("--out", type=Path, help="write the JSON here (default: stdout)")
    parser.add_argument("--stop-file", type=Path,
                        help="stop when this file appears (the caller ends the sampling)")
    args = parser.parse_args(argv)
    text = json.dumps(summary(sample_until_gone(args.pid, args.hz, args.stop_file)))
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    else:
        print(text, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
