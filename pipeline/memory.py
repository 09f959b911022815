"""Memory readings with psutil: this process, and the whole tree of the main process."""

from __future__ import annotations

import ctypes
import os
import resource
import sys

import psutil

from pipeline.events import MemoryCheckpoint

MB = 1024 * 1024


def rss_mb(pid: int | None = None) -> float:
    return psutil.Process(pid or os.getpid()).memory_info().rss / MB


def tree_rss_mb(root_pid: int) -> float:
    """RSS of a process and all its descendants (gone processes are simply not counted)."""
    try:
        root = psutil.Process(root_pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / MB


def peak_rss_mb() -> float:
    """This process's high-water mark as the kernel keeps it: a peak between two readings
    is never missed."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MB if sys.platform == "darwin" else peak / 1024  # bytes there, KiB here


def checkpoint(label: str, root_pid: int | None = None) -> MemoryCheckpoint:
    return MemoryCheckpoint(label=label, rss_mb=round(rss_mb(), 1),
                            tree_rss_mb=round(tree_rss_mb(root_pid or os.getpid()), 1),
                            peak_mb=round(peak_rss_mb(), 1))


def return_freed_memory() -> None:
    """Hand the heap's free pages back to the system (glibc only; elsewhere nothing).

    numpy and CTranslate2 free their buffers, but glibc keeps the pages for reuse, so without
    this a worker stays at its highest point for the rest of the file."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # musl or another libc: nothing to trim with
        pass


def machine_total_mb() -> float:
    return psutil.virtual_memory().total / MB
