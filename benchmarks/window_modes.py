"""The two ways to hear a chunk, side by side, with the batched pipeline beside them (issue 34).

`python -m benchmarks.window_modes [--espeak 8] [--real 8] [--reps 1]` (`make bench-windows`):
one process, tiny.en int8 on 2 cores, each talk's 300-s chunks planned and heard as the worker
hears them (decoded, transcribed, repetition loops dropped, cues repaired), model loaded
before any timing, on the bench's 10-min espeak talks with their music bed (seeds 0..) and its
10-min real-speech talks (seeds 0..; reference: a whole-file base run, benchmarks/real_talks.py):

- `cursor`: windows from a cursor with timestamps (pipeline/asr/windows.py), two streams of one
  core each: `speed = "fastest"` before issue 34;
- `pauses-bN-pP`: windows cut at pauses, N decoded at once without timestamps, cue times by
  alignment (pipeline/asr/pause_windows.py), on P CTranslate2 workers of 2/P cores each;
- `batched-8`: faster-whisper's BatchedInferencePipeline, batch 8, on the file (the peer);
- `mlx-cursor`, `mlx-pauses-b4`, `mlx-own`: the mlx engine both ways, and mlx-whisper's own
  transcribe on the file (on this CPU mlx is ~25x slower than on a Mac: ratios only).

Per variant: WER pooled over all the talks of a kind (≥ 10,000 words is what a ±0.5-point
band needs, benchmarks/suite.py), transcription time summed, the peak RSS above the process's
RSS before the variant (the kernel's high-water mark, reset per variant), and the cues the
validator still finds wrong after repair. The order of the variants alternates by talk, so
drift in the machine's load falls on all of them. Writes benchmarks/window_modes.md and .json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import machine
from benchmarks.batched_prototype import peak_delta_mb, plan, run_engine, start_peak
from benchmarks.measure import score
from benchmarks.paths import BENCH_DIR

MODEL = "tiny.en"
THREADS = 2
PEER_BATCH = 8
MODES = {  # name: (windows, batch, workers); mlx-*: the mlx engine
    "cursor": ("cursor", 1, 2),
    "mlx-cursor": ("cursor", 2, 1),
    "mlx-pauses-b4": ("pauses", 4, 1),
    "mlx-pauses-b2": ("pauses", 2, 1),
    "pauses-b4-p1": ("pauses", 4, 1),
    "pauses-b4-p2": ("pauses", 4, 2),
    "pauses-b8-p1": ("pauses", 8, 1),
    "pauses-b2-p2": ("pauses", 2, 2),
}


def engines(names: list[str]) -> dict[str, object]:
    from pipeline.asr import create_engine

    cache = Path("~/.cache/talks/models").expanduser()
    made = {}
    for name in names:
        windows, batch, workers = MODES[name]
        engine = create_engine("mlx" if name.startswith("mlx") else "faster-whisper", MODEL,
                               cache, False, "en", THREADS, "int8", 1, 1, batch_size=batch,
                               streams=workers)
        engine.settings = dataclasses.replace(engine.settings, windows=windows)
        engine.load()
        made[name] = engine
    return made


def peer(engine) -> Callable[[Path], list]:
    """The batched pipeline (batch 8) on the engine's int8 weights, as the prototype runs it."""
    from faster_whisper import WhisperModel

    from benchmarks.batched_prototype import BATCH, run_fw_batched

    assert BATCH == PEER_BATCH
    model = WhisperModel(engine._weights(), device="cpu", compute_type="int8",
                         cpu_threads=THREADS, num_workers=1, local_files_only=True)
    return lambda audio: run_fw_batched(model, audio)[0]


def mlx_own() -> Callable[[Path], tuple[list, float]]:
    """mlx-whisper's own transcribe on the file, in a process of its own
    (benchmarks/engine_whole.py --engine mlx): this process has mlx-whisper's package stood
    in for and its decoder patched by the engine (pipeline/asr/mlx_engine.py), a user's has
    neither. Its segments and its own transcription time (samples decoded, model loaded and
    the file transcribed; not the process's start)."""
    import subprocess

    from pipeline.asr.base import Segment

    def run(audio: Path) -> tuple[list, float]:
        done = subprocess.run([sys.executable, "-m", "benchmarks.engine_whole", str(audio),
                               "--engine", "mlx", "--model", MODEL], capture_output=True,
                              text=True, check=True)
        line = next(x for x in done.stdout.splitlines() if x.startswith("result "))
        found = json.loads(line.removeprefix("result "))
        return ([Segment(a, b, text) for a, b, text in found["segments"]],
                found["decode_and_transcribe_s"])

    return run


def one(name: str, work: Callable[[], list], spoken: str, duration: float) -> dict:
    from pipeline.filing.cues import check, repair

    rss = start_peak()
    load = os.getloadavg()[0]
    began = time.perf_counter()
    segments = work()
    seconds = time.perf_counter() - began
    peak = peak_delta_mb(rss)
    if isinstance(segments, tuple):  # a run in a process of its own: its own time, no peak
        segments, seconds = segments
        peak = float("nan")
    errors = score(spoken, " ".join(s.text for s in segments))
    repaired = repair(segments, duration=duration)
    return {"variant": name, "seconds": round(seconds, 2), "peak_rise_mb": round(peak, 1),
            "errors": errors.substitutions + errors.deletions + errors.insertions,
            "words": errors.reference_words, "cues": len(segments),
            "repaired": len(repaired.notes),
            "problems": len(check(repaired.segments, duration)),
            "longest_cue_s": round(max((s.end - s.start for s in repaired.segments),
                                       default=0.0), 2),
            "load": round(load, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--espeak", type=int, default=8, help="10-min espeak talks")
    parser.add_argument("--real", type=int, default=8, help="10-min real-speech talks")
    parser.add_argument("--variants", default="cursor,pauses-b4-p1,batched-8",
                        help=f"any of {', '.join([*MODES, 'batched-8', 'mlx-own'])}")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "window_modes.json")
    args = parser.parse_args(argv)
    os.environ["HF_HUB_OFFLINE"] = "1"

    from benchmarks.real_talks import real_recording
    from benchmarks.recordings import long_talk, with_music
    from common.media import measure_duration

    talks = [("espeak", lambda n=n: with_music(long_talk(600, seed=n)))
             for n in range(args.espeak)]
    talks += [("real", lambda n=n: real_recording(600, seed=n)) for n in range(args.real)]
    names = [v for v in args.variants.split(",") if v in MODES]
    made = engines(names)
    runs: list[tuple[str, Callable[[Path, list], list]]] = [
        (n, lambda audio, chunks, e=made[n]: run_engine(e, audio, chunks)[0]) for n in names]
    if "batched-8" in args.variants.split(","):
        batched = peer(next(e for e in made.values() if e.name == "faster-whisper"))
        runs.append(("batched-8", lambda audio, _chunks: batched(audio)))
    if "mlx-own" in args.variants.split(","):
        own = mlx_own()
        runs.append(("mlx-own", lambda audio, _chunks: own(audio)))  # (segments, seconds)
    results = []
    for index, (kind, make) in enumerate(talks):
        recording = make()
        duration = measure_duration(recording.audio)
        chunks = plan(recording.audio, duration)
        order = runs if index % 2 == 0 else runs[::-1]
        for name, run in order:
            found = one(name, lambda run=run, r=recording, c=chunks: run(r.audio, c),
                        recording.spoken_text, duration)
            found |= {"talk": recording.audio.name, "kind": kind}
            print(json.dumps(found), flush=True)
            results.append(found)
    args.out.write_text(json.dumps({"machine": machine.describe(), "model": MODEL,
                                    "threads": THREADS, "results": results}, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(render(results))
    return 0


def _peak(mb: float) -> str:
    return "own process" if mb != mb else f"{mb:.0f}"  # NaN: measured in another process


def render(results: list[dict]) -> str:
    lines = ["# Windows from a cursor and windows at pauses, pooled (benchmarks/window_modes.py)",
             "", "| talks | variant | words | WER % | time (s, summed) | time vs the peer | "
             "peak rise MB (max) | cue problems after repair | longest cue s |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    kinds = sorted({r["kind"] for r in results})
    for kind in kinds:
        mine = [r for r in results if r["kind"] == kind]
        # The peer: faster-whisper's batched pipeline, or for mlx mlx-whisper's own transcribe.
        peer_name = "batched-8" if any(r["variant"] == "batched-8" for r in mine) else "mlx-own"
        base = sum(r["seconds"] for r in mine if r["variant"] == peer_name) or None
        for variant in dict.fromkeys(r["variant"] for r in mine):
            rows = [r for r in mine if r["variant"] == variant]
            words = sum(r["words"] for r in rows)
            errors = sum(r["errors"] for r in rows)
            seconds = sum(r["seconds"] for r in rows)
            ratio = f"{seconds / base:.2f}× {peer_name}" if base else "–"
            lines.append(
                f"| {kind} ×{len(rows)} | {variant} | {words:,} | "
                f"{100 * errors / max(1, words):.2f} | {seconds:.1f} | {ratio} | "
                f"{_peak(max(r['peak_rise_mb'] for r in rows))} | "
                f"{sum(r['problems'] for r in rows)} | "
                f"{max(r['longest_cue_s'] for r in rows):.1f} |")
    loads = [r["load"] for r in results]
    lines += ["", f"Machine load (1-min average) at each variant's start: "
              f"{min(loads):.1f}–{max(loads):.1f} on {os.cpu_count()} cores.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
