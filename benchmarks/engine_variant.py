"""The raw-engine baseline, measured from outside like the pipeline (see engine_whole.py)."""

from __future__ import annotations

import json
import sys

from benchmarks.measure import Measurement, VariantFailed, check, score
from benchmarks.paths import ROOT, child_env
from benchmarks.procs import run_sampled
from benchmarks.recordings import Recording
from benchmarks.sampler import TreeSampler


def _name_phase(line: str, sampler: TreeSampler) -> None:
    if line.startswith("phase "):
        sampler.set_phase(line.removeprefix("phase ").strip())


def run_whole_file(recording: Recording, *, threads: int = 2, model: str = "tiny.en",
                   batch_size: int = 0, engine: str = "faster-whisper") -> Measurement:
    """batch_size > 0: faster-whisper's BatchedInferencePipeline; engine "mlx": mlx-whisper's
    own transcribe (see engine_whole.py)."""
    cmd = [sys.executable, "-m", "benchmarks.engine_whole", str(recording.audio),
           "--model", model, "--threads", str(threads), "--compute-type", "int8",
           "--batch-size", str(batch_size), "--engine", engine]
    run = run_sampled(cmd, cwd=ROOT, env=child_env(), on_stdout=_name_phase)
    check(run, "the whole-file engine run")
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("result ")]
    if not lines:
        raise VariantFailed("the whole-file engine run printed no result line")
    result = json.loads(lines[-1].removeprefix("result "))
    return Measurement.from_run(
        "whole-file" if not batch_size and engine == "faster-whisper"
        else f"batched-{batch_size}" if batch_size else f"{engine}-own",
        "mlx-whisper's own transcribe" if engine == "mlx"
        else f"faster-whisper's BatchedInferencePipeline, batch {batch_size}" if batch_size
        else "faster-whisper, whole file at once", recording.seconds, run,
        result["decode_and_transcribe_s"], score(recording.spoken_text, result["text"]),
        {"load_s": round(result["load_s"], 2), "decode_s": round(result["decode_s"], 2)})
