"""faster-whisper's own VAD + features vs pipeline/asr/lean_frontend.py, on the same chunks.

`python -m benchmarks.frontend_check [--minutes 60] [--chunk 300]` transcribes the benchmark
talk in fixed pieces twice, each in a fresh process (stock front end, then the sliced one),
with the engine options of pipeline/asr/faster_whisper_engine.py, and prints the peak RSS of
each process (the kernel's high-water mark), its transcription time and its WER. The two
differ only in float32 rounding of the features (≤ 1 ulp; faster-whisper's own features
already differ that much between a 300 s and a 600 s input), so any WER gap should be noise:
a long talk gives it enough words to show.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.paths import ROOT, child_env


def _child(audio: Path, seconds: float, chunk: float, lean: bool) -> None:
    from faster_whisper import WhisperModel

    from common.media import decode_range
    from pipeline.asr.models import resolve_ct2_model

    model = WhisperModel(resolve_ct2_model("tiny.en", Path("~/.cache/talks/models"), False),
                         device="cpu", compute_type="int8", cpu_threads=2,
                         local_files_only=True)
    if lean:
        from pipeline.asr.lean_frontend import install

        install(model)
    texts: list[str] = []
    began = time.perf_counter()
    start = 0.0
    while start < seconds:
        pcm = decode_range(audio, start, chunk)
        segments, _info = model.transcribe(
            pcm, language="en", beam_size=1, best_of=1, condition_on_previous_text=False,
            vad_filter=True, vad_parameters={"min_silence_duration_ms": 700})
        texts.extend(s.text.strip() for s in segments)
        start += chunk
    elapsed = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "peak_mb": peak, "text": " ".join(texts)}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--chunk", type=float, default=300.0)
    parser.add_argument("--child", choices=["stock", "lean"], help=argparse.SUPPRESS)
    parser.add_argument("--audio", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.audio, args.seconds, args.chunk, args.child == "lean")
        return 0
    from benchmarks.measure import score
    from benchmarks.recordings import long_talk

    recording = long_talk(args.minutes * 60)
    rows = []
    for name in ("stock", "lean"):
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.frontend_check", "--child", name,
             "--audio", str(recording.audio), "--seconds", str(recording.seconds),
             "--chunk", str(args.chunk)],
            cwd=ROOT, env=child_env(), capture_output=True, text=True, check=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        errors = score(recording.spoken_text, result["text"])
        rows.append((name, result["peak_mb"], result["seconds"], errors))
    print(f"{recording.seconds:.0f} s talk, {args.chunk:g} s pieces, tiny.en int8, 2 threads")
    print("| front end | peak RSS MB | transcribe s | WER % | S / D / I of N words |")
    print("|---|---:|---:|---:|---|")
    for name, peak, seconds, e in rows:
        print(f"| {name} | {peak:.0f} | {seconds:.1f} | {100 * e.wer:.2f} | "
              f"{e.substitutions} / {e.deletions} / {e.insertions} of {e.reference_words} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
