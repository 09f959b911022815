"""What one benchmark variant measured, and how its transcript is scored."""

from __future__ import annotations

from dataclasses import dataclass, field

import jiwer

from benchmarks.procs import ProcRun
from tests.support.speech import normalize_words


@dataclass(frozen=True)
class WordErrors:
    wer: float
    substitutions: int
    deletions: int
    insertions: int
    reference_words: int


def score(spoken: str, transcript: str) -> WordErrors:
    reference, hypothesis = normalize_words(spoken), normalize_words(transcript)
    if not hypothesis:  # jiwer refuses an empty hypothesis; every word was missed
        n = len(reference.split())
        return WordErrors(1.0, 0, n, 0, n)
    out = jiwer.process_words(reference, hypothesis)
    return WordErrors(out.wer, out.substitutions, out.deletions, out.insertions,
                      len(reference.split()))


@dataclass
class Measurement:
    name: str             # short key, e.g. "chunked-300"
    description: str
    audio_s: float
    wall_s: float         # the whole subprocess, start to exit
    cpu_s: float | None   # CPU seconds of its whole tree
    # Decoding + transcribing the audio, without start-up or model load: the pipeline's
    # per-chunk `seconds` summed, or the same span in the whole-file run.
    transcribe_s: float | None
    peak_tree_mb: float
    largest_process_mb: float   # sampled
    kernel_max_process_mb: float | None
    samples_hz: float
    sampler_cpu_s: float
    words: WordErrors | None
    phase_peaks_mb: dict[str, float] = field(default_factory=dict)
    phase_seconds: dict[str, float] = field(default_factory=dict)
    process_peaks_mb: dict[str, float] = field(default_factory=dict)  # the biggest few
    extra: dict[str, object] = field(default_factory=dict)
    # The outside sampler's view (benchmarks/outside_memory.py): tree peak RSS and PSS.
    outside: dict | None = None

    @property
    def outside_rss_mb(self) -> float | None:
        return self.outside["peak_rss_mb"] if self.outside else None

    @property
    def outside_pss_mb(self) -> float | None:
        if not self.outside or not self.outside.get("pss_available"):
            return None
        return self.outside["peak_pss_mb"]

    @classmethod
    def from_run(cls, name: str, description: str, audio_s: float, run: ProcRun,
                 transcribe_s: float | None, words: WordErrors | None,
                 extra: dict[str, object] | None = None) -> Measurement:
        mem = run.memory
        biggest = sorted(mem.process_peaks.items(), key=lambda kv: -kv[1].peak_mb)[:6]
        processes = {f"{p.name}[{pid}]": round(p.peak_mb, 1) for pid, p in biggest}
        return cls(name, description, audio_s, run.wall_s, run.cpu_s, transcribe_s, mem.peak_mb,
                   mem.largest_process_mb, run.kernel_max_process_mb, mem.hz,
                   mem.sampler_cpu_s, words, dict(mem.phase_peaks_mb),
                   dict(mem.phase_seconds), processes, dict(extra or {}), run.outside)


class VariantFailed(RuntimeError):
    """A measured program did not finish; the message holds the end of its output."""


def check(run: ProcRun, what: str) -> None:
    if run.returncode != 0:
        tail = "\n".join((run.stderr or run.stdout).splitlines()[-20:])
        raise VariantFailed(f"{what} exited with {run.returncode}:\n{tail}")
