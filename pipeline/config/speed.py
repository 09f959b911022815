"""[transcription] speed: how the engine hears a chunk and uses its cores, as one choice.

Four things decide a worker's speed and memory, and they interact: how a chunk's speech is
cut into windows (from a cursor, Whisper's own loop, asr/windows.py; or at pauses, windows
independent of each other, asr/pause_windows.py), streams (the cursor loop's speech cut into
pieces heard at once, faster-whisper on threads of its own), the batch (windows through the
decoder together) and threads (the cores). A person picks what they want — the fastest that
stays within the memory target, or the least memory — and this module turns it into the
four. `streams` and `batch_size`, when set, pick the cursor loop with those counts (expert
settings, and what configs written by earlier versions hold: they run as they did).

What was measured (tiny.en int8, 2 cores; benchmarks/window_modes.md, speed_levers.md,
batched_prototype.md; docs/how-it-works.md, Engines):

- windows at pauses, four decoded at once, one worker on both cores: the lowest WER of the
  ways tried (the decoder hears whole sentences) and faster than the cursor loop's two
  streams; its memory above the model about theirs (four windows' keys and values fit under
  what the VAD's pass had already reached). Eight at once rose ~100 MB more for no time.
- the cursor loop, two streams of one core each: what "fastest" was before; one stream, one
  window at a time: the least memory ("lean").

The encoder takes one window at a time in every way: its attention over 1500 positions is
the largest block a worker holds, and a batch there gained no time.
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
