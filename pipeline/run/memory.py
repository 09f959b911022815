"""Memory readings: this process, and the whole tree of the main process.

What a process costs the machine is its resident set (RSS) on Linux. On macOS it is the
"physical footprint" Activity Monitor shows, which also counts memory that RSS does not, such
as what Metal allocates for mlx's arrays in unified memory: a process can look small by RSS
while the Mac swaps. So each reading takes the larger of the two where both exist."""

from __future__ import annotations

import ctypes
import os
import resource
import sys
import types

import psutil

from pipeline.run.events import MemoryCheckpoint

MB = 1024 * 1024


class _RusageInfoV2(ctypes.Structure):
    """The head of macOS's rusage_info_v2 (sys/resource.h), up to the physical footprint."""

    _fields_ = [("ri_uuid", ctypes.c_uint8 * 16), ("ri_user_time", ctypes.c_uint64),
                ("ri_system_time", ctypes.c_uint64), ("ri_pkg_idle_wkups", ctypes.c_uint64),
                ("ri_interrupt_wkups", ctypes.c_uint64), ("ri_pageins", ctypes.c_uint64),
                ("ri_wired_size", ctypes.c_uint64), ("ri_resident_size", ctypes.c_uint64),
                ("ri_phys_footprint", ctypes.c_uint64),
                # The rest of the structure, which proc_pid_rusage fills in too.
                ("ri_rest", ctypes.c_uint64 * 16)]


_RUSAGE_INFO_V2 = 2
_libproc = None


def footprint_mb(pid: int | None = None) -> float | None:
    """macOS's physical footprint of a process (proc_pid_rusage); None elsewhere, or when
    the system will not say (another user's process)."""
    global _libproc
    if sys.platform != "darwin":
        return None
    try:
        if _libproc is None:
            _libproc = ctypes.CDLL("/usr/lib/libproc.dylib")
        info = _RusageInfoV2()
        if _libproc.proc_pid_rusage(int(pid or os.getpid()), _RUSAGE_INFO_V2,
                                    ctypes.byref(info)) != 0:
            return None
        return info.ri_phys_footprint / MB
    except (OSError, AttributeError):
        return None


def rss_mb(pid: int | None = None) -> float:
    return psutil.Process(pid or os.getpid()).memory_info().rss / MB


def process_mb(pid: int | None = None) -> float:
    """What a process costs: its RSS, or its physical footprint where that is larger."""
    rss = rss_mb(pid)
    footprint = footprint_mb(pid)
    return max(rss, footprint) if footprint is not None else rss


def tree_rss_mb(root_pid: int) -> float:
    """What a process and all its descendants cost (process_mb each; gone processes are
    simply not counted)."""
    try:
        root = psutil.Process(root_pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            total += process_mb(proc.pid)
        except psutil.NoSuchProcess:
            pass
    return total


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


def checkpoint(label: str, root_pid: int | None = None,
               device: dict[str, float] | None = None) -> MemoryCheckpoint:
    """`device`: an engine's own counters (mlx: active, peak and cache, in MB)."""
    footprint = footprint_mb()
    return MemoryCheckpoint(label=label, rss_mb=round(rss_mb(), 1),
                            tree_rss_mb=round(tree_rss_mb(root_pid or os.getpid()), 1),
                            peak_mb=round(peak_rss_mb(), 1),
                            footprint_mb=round(footprint, 1) if footprint is not None else None,
                            device_mb=tuple((k, round(v, 1)) for k, v in (device or {}).items()))


# glibc's mallopt parameter number for the mmap threshold.
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
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
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, int(threshold))
    except (OSError, AttributeError):
        pass


def one_heap_for_all_threads() -> None:
    """Let every thread allocate from one glibc heap (glibc only; elsewhere nothing).

    Threads that decode side by side (a CTranslate2 worker per stream) would each get an
    arena of their own, each keeping its own free pages: with two streams a worker's peak was
    31 MB lower with one arena, at no cost in time. Every worker asks for it as it starts
    (run/worker.py): the language worker, which loads base, peaked 31 MB lower with it."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, 1)
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


class _LeftOut(types.ModuleType):
    """A module a worker does without: any use of it says so, in one sentence."""

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise ImportError(f"{self.__name__} is left out of talks' workers (talks decodes audio "
                          "with ffmpeg); this is a bug in talks: please report it")


def keep_out_pyav() -> None:
    """faster-whisper imports PyAV (16 MB resident, with its own copy of FFmpeg's libraries)
    to decode files itself, which talks never asks it to do: a worker gives it a stand-in
    instead. Only workers do this; the main process never imports an engine."""
    if "av" not in sys.modules:
        sys.modules["av"] = _LeftOut("av")


def machine_total_mb() -> float:
    return psutil.virtual_memory().total / MB
