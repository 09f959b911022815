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
    is never missed. On Linux VmHWM, because getrusage's maximum is carried over from the
    parent across exec (a `talks` started by a big process would report the parent's)."""
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024  # kB
        except (OSError, ValueError, IndexError):
            pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MB if sys.platform == "darwin" else peak / 1024  # bytes there, KiB here


def checkpoint(label: str, root_pid: int | None = None) -> MemoryCheckpoint:
    return MemoryCheckpoint(label=label, rss_mb=round(rss_mb(), 1),
                            tree_rss_mb=round(tree_rss_mb(root_pid or os.getpid()), 1),
                            peak_mb=round(peak_rss_mb(), 1))


# glibc's mallopt parameter number for the mmap threshold.
_M_MMAP_THRESHOLD = -3
LARGE_BLOCK_BYTES = 16 * MB


def map_large_blocks(threshold: int = LARGE_BLOCK_BYTES) -> None:
    """Serve every block of `threshold` bytes or more from a mapping of its own (glibc only).

    glibc's mmap threshold starts at 128 KB and rises up to 32 MB each time a mapped block is
    freed, and its trim threshold (free memory it keeps at the top of a heap) rises with it
    to twice that. Fixing the mmap threshold stops both from moving: blocks of 16 MB and more
    (a chunk's audio arrays) are mapped and unmapped the moment they are freed, and the trim
    threshold stays at 128 KB, so what CTranslate2 frees between two 30 s windows goes back
    at once instead of staying resident in each thread's arena. Measured on the same chunks
    of a 120-min talk: a chunk's peak 281–306 MB with it, 315–340 MB without; with a trim
    threshold of 256 MB beside it, 373–380 MB. The price is the page faults of memory given
    back and taken again: ~5–15 % more transcription time. Memory is what this program is
    for, so it is paid; macOS has no such knob and is untouched."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, int(threshold))
    except (OSError, AttributeError):
        pass


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
