"""[transcription] speed: how the engine uses the cores it is given, as one choice.

Three things decide a worker's speed and memory, and they interact: streams (a chunk's
speech cut at pauses into pieces heard at once, faster-whisper on threads of its own), the
batch (windows of several streams through the decoder together) and threads (the cores).
A person picks what they want — the fastest that stays within the memory target, or the
least memory — and this module turns it into the three; `streams` and `batch_size`, when
set, override it (expert settings, and what configs written by earlier versions hold).

What was measured (tiny.en int8, 2 cores, the bench's 10-min talks; docs/how-it-works.md,
Engines; benchmarks/speed_levers.md):

| faster-whisper | time | WER | tree peak |
|---|---:|---:|---:|
| 2 streams, batch 1 | 0.67× of 1 stream | +0.5 point | 291 MB |
| 1 stream, batch 1 | 1 | | 260 MB |
| 1 stream, batch 4 | 0.78× | +0.66 point | 297 MB |
| 2 streams of 4 windows at once (issue 34) | slower than 2 streams | | 384 MB (one worker) |

A batch lost to two streams every time on this machine: the encoder, one 30-s window at a
time, is ~half a worker's time, and streams let one thread encode while the other decodes;
a batch only shares the decoder's steps, and each window in it holds its cross-attention
keys and values (~18 MB for tiny.en). So "fastest" is two streams on faster-whisper; mlx
runs one group of streams on its one device queue, so there it is the same two streams as
one batch of two (the Apple GPU decodes two windows in about the time of one).
"""

from __future__ import annotations

from dataclasses import dataclass

SPEEDS = ("fastest", "lean")
# Windows at pauses decoded at once by "fastest". Four hold the peak where the cursor loop's
# two streams held it; eight rose ~100 MB more (their keys and values, ~15-18 MB a window for
# tiny.en) for no time gained on 2 cores (benchmarks/window_modes.md).
PAUSE_BATCH = 4
MEMORY_TARGET_MB = 300  # the whole process tree, a talk of any length


@dataclass(frozen=True)
class SpeedPlan:
    streams: int  # faster-whisper: streams heard at once, each on threads/streams cores
    batch_size: int  # streams (or, at pauses, windows) decoded side by side in one batch
    windows: str = "cursor"  # "cursor" (asr/windows.py) or "pauses" (asr/pause_windows.py)


def speed_plan(speed: str, engine: str, threads: int, streams: int = 0,
               batch_size: int = 0) -> SpeedPlan:
    """The streams and batch for `speed` on `engine` ("faster-whisper" or "mlx", as picked)
    with `threads` cores; a `streams` or `batch_size` above 0 is a person's override."""
    if speed not in SPEEDS:
        raise ValueError(f"speed must be one of {', '.join(SPEEDS)}, not {speed!r}")
    lean = speed == "lean"
    if streams or batch_size:
        # The expert knobs are the cursor loop's, as earlier versions ran it: a config that
        # wrote them out runs as it did.
        if engine == "mlx":
            plan = SpeedPlan(streams=1, batch_size=1 if lean else 2)
        else:
            plan = SpeedPlan(streams=1 if lean or threads < 2 else 2, batch_size=1)
        return SpeedPlan(streams=streams or plan.streams,
                         batch_size=batch_size or plan.batch_size)
    if lean:
        return SpeedPlan(streams=1, batch_size=1)
    # Both engines: windows at pauses, PAUSE_BATCH through the decoder at once, one worker on
    # all the cores.
    return SpeedPlan(streams=1, batch_size=PAUSE_BATCH, windows="pauses")
