"""Peak memory of a process tree, sampled from a background thread.

The tree is a root pid and all its descendants (talks spawns a worker per file, and the worker
runs ffmpeg); its RSS is the sum over those processes. Pages shared between them (libraries)
count once per process, so the sum is an upper bound of what the tree really takes.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import psutil

MB = 1024 * 1024


@dataclass
class ProcessPeak:
    name: str
    peak_mb: float


@dataclass
class SamplerReport:
    peak_mb: float
    samples: int
    seconds: float
    phase_peaks_mb: dict[str, float] = field(default_factory=dict)
    phase_seconds: dict[str, float] = field(default_factory=dict)
    process_peaks: dict[int, ProcessPeak] = field(default_factory=dict)
    sampler_cpu_s: float = 0.0  # what the sampling itself cost, to judge its disturbance

    @property
    def hz(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else 0.0

    @property
    def largest_process_mb(self) -> float:
        return max((p.peak_mb for p in self.process_peaks.values()), default=0.0)


class TreeSampler:
    """Samples the summed RSS of `root_pid` and its descendants until stopped.

    RSS is read every `interval` s (cheap: one /proc read per process), often enough to catch
    most of the engine's short allocation spikes. The list of descendants is rebuilt only
    every `rescan` s: psutil finds children by reading every process on the machine (~4 ms
    here), which at every sample would take a large share of a core from the programme being
    measured. The processes that matter (the worker) live for minutes, so a short delay in
    seeing a new one changes nothing.
    """

    def __init__(self, root_pid: int, interval: float = 0.01, rescan: float = 0.2):
        self.root_pid = root_pid
        self.interval = interval
        self.rescan = rescan
        self._phase = "startup"
        self._phase_began = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self._procs: dict[int, psutil.Process] = {}
        self._report = SamplerReport(peak_mb=0.0, samples=0, seconds=0.0)

    def start(self) -> TreeSampler:
        self._began = time.monotonic()
        self._thread.start()
        return self

    def set_phase(self, label: str) -> None:
        """Name what the tree is doing now; peaks and times are then kept per label."""
        with self._lock:
            self._close_phase(time.monotonic())
            self._phase = label

    def stop(self) -> SamplerReport:
        self._stop.set()
        self._thread.join()
        with self._lock:
            now = time.monotonic()
            self._close_phase(now)
            self._report.seconds = now - self._began
        return self._report

    def _close_phase(self, now: float) -> None:
        spent = self._report.phase_seconds
        spent[self._phase] = spent.get(self._phase, 0.0) + now - self._phase_began
        self._phase_began = now

    def _refresh_tree(self) -> None:
        try:
            root = psutil.Process(self.root_pid)
            found = [root, *root.children(recursive=True)]
        except psutil.Error:
            found = []
        # Keep the Process objects we already hold: psutil checks pid reuse through them.
        self._procs = {p.pid: self._procs.get(p.pid, p) for p in found}

    def _sample(self) -> float:
        total = 0
        for pid, proc in list(self._procs.items()):
            try:
                rss = proc.memory_info().rss
            except psutil.Error:  # ended between the scan and now
                del self._procs[pid]
                continue
            total += rss
            peak = self._report.process_peaks.get(pid)
            if peak is None:
                try:
                    name = proc.name()
                except psutil.Error:
                    name = "?"
                peak = self._report.process_peaks[pid] = ProcessPeak(name, 0.0)
            peak.peak_mb = max(peak.peak_mb, rss / MB)
        return total / MB

    def _loop(self) -> None:
        cpu_began = time.thread_time()
        next_scan = 0.0
        while True:
            now = time.monotonic()
            if now >= next_scan:
                self._refresh_tree()
                next_scan = now + self.rescan
            tree_mb = self._sample()
            with self._lock:
                report = self._report
                report.samples += 1
                report.peak_mb = max(report.peak_mb, tree_mb)
                phase_peak = report.phase_peaks_mb.get(self._phase, 0.0)
                report.phase_peaks_mb[self._phase] = max(phase_peak, tree_mb)
            # Checked after a sample, so even a very short run gets at least one.
            if self._stop.wait(max(0.0, self.interval - (time.monotonic() - now))):
                break
        self._report.sampler_cpu_s = time.thread_time() - cpu_began
