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

    glibc maps a block above its mmap threshold by itself and unmaps it the moment it is
    freed, but the threshold starts at 128 KB and rises up to 32 MB each time such a block is
    freed. After the first chunk, a chunk's ~19 MB audio buffers (the decoded range, the
    speech the VAD keeps, the padded signal for the features) come from the heap instead,
    leave holes there, and a chunk's peak depends on where the holes fall: measured +0 to
    +90 MB from one chunk to the next on a 60-min talk. A fixed threshold of 16 MB keeps
    those buffers mapped (ct2's ~2 MB activations stay on the heap, where reuse is cheap):
    the peaks of a 60-min talk's workers fell from 339–384 MB to 298–328 MB, and those of a
    120-min talk's six workers sat at 295–320 MB. The price, measured side by side on the
    same chunks: ~10–15 % more transcription time (fresh pages for each mapped block). Memory
    is what this program is for, so it is paid; macOS has no such knob and is untouched."""
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
