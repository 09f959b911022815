"""Chunk lengths compared: python -m benchmarks.chunk_sizes [--minutes N | --quick] …

Each variant is a function from a recording to a Measurement; adding a measurement is adding
an entry to VARIANTS. All variants of one run use the same recording, one after another, so
their ratios are fair even when the machine is busy with other work.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import machine, report
from benchmarks.engine_variant import run_whole_file
from benchmarks.measure import Measurement, VariantFailed
from benchmarks.paths import BENCH_DIR, WORK_DIR, child_env
from benchmarks.pipeline_variant import run_pipeline
from benchmarks.recordings import Recording, long_talk

MODEL = "tiny.en"
THREADS = 2

Variant = Callable[[Recording], Measurement]

VARIANTS: dict[str, Variant] = {
    "whole-file": lambda rec: run_whole_file(rec, threads=THREADS, model=MODEL),
    "chunked-300": lambda rec: run_pipeline(rec, 300, threads=THREADS, model=MODEL),
    "chunked-600": lambda rec: run_pipeline(rec, 600, threads=THREADS, model=MODEL),
    "chunked-60": lambda rec: run_pipeline(rec, 60, threads=THREADS, model=MODEL),
    "chunked-30": lambda rec: run_pipeline(rec, 30, threads=THREADS, model=MODEL),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chunk_sizes", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0,
                        help="length of the benchmark recording (default 10)")
    parser.add_argument("--quick", action="store_true",
                        help="a 2-minute recording, results under benchmarks/work/")
    # mp3 by default: what talks usually arrive as, and the pipeline's ranged decoding has
    # to seek in it.
    parser.add_argument("--format", default="mp3", choices=["mp3", "wav", "flac", "m4a"],
                        help="container/codec of the benchmark recording (default mp3)")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated, from: {', '.join(VARIANTS)}")
    parser.add_argument("--repeats", type=int, default=1,
                        help="rounds over all variants (times: fastest round; memory: largest)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for chunk_sizes.md/.json (default benchmarks/, or "
                             "benchmarks/work/ with --quick)")
    args = parser.parse_args(argv)
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; use {', '.join(VARIANTS)}")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.quick:
        args.minutes = 2.0
    args.out = args.out or (WORK_DIR if args.quick else BENCH_DIR)
    return args


def warm_up() -> None:
    """Read the model and import the engine once, so the first variant does not pay for a
    cold disk cache that the others then get for free."""
    from pipeline.asr.models import resolve_ct2_model

    model_dir = Path(resolve_ct2_model(MODEL, Path("~/.cache/talks/models"), False))
    for weights in model_dir.iterdir():
        if weights.is_file():
            weights.read_bytes()
    subprocess.run([sys.executable, "-c", "import faster_whisper, tui.cli"], check=True,
                   env=child_env())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["HF_HUB_OFFLINE"] = "1"
    began = time.monotonic()
    facts = machine.describe()
    print(f"Making the {args.minutes:g}-minute recording (cached in {WORK_DIR})…", flush=True)
    recording = long_talk(args.minutes * 60, suffix=f".{args.format}")
    warm_up()
    measurements: list[Measurement] = []
    failures: list[str] = []
    for round_no in range(1, args.repeats + 1):
        # Each round starts one variant later, so none is always first (or always meets the
        # same stretch of someone else's work).
        shift = (round_no - 1) % len(args.variants)
        for name in args.variants[shift:] + args.variants[:shift]:
            print(f"[round {round_no}/{args.repeats}] {name}…", flush=True)
            try:
                measured = VARIANTS[name](recording)
            except VariantFailed as exc:
                failures.append(f"{name}: {exc}")
                print(f"  FAILED: {exc}", file=sys.stderr, flush=True)
                continue
            measured.extra["round"] = round_no
            measurements.append(measured)
            print(f"  wall {measured.wall_s:.1f} s, peak tree {measured.peak_tree_mb:.0f} MB",
                  flush=True)
    facts["load_average_at_end"] = machine.load_average()
    facts["benchmark_seconds"] = round(time.monotonic() - began, 1)
    settings = {"model": MODEL, "compute_type": "int8", "threads": THREADS, "beam_size": 1,
                "recording": f"{recording.audio.name} ({recording.seconds:.1f} s, "
                             f"{len(recording.spoken_text.split())} words, espeak-ng)",
                "repeats": args.repeats, "sampling": "RSS every 0.01 s, process list every 0.2 s",
                "failures": failures or "none"}
    if measurements:
        md, js, table = report.write(args.out, facts, settings, measurements)
        print("\n" + table + "\n")
        print(f"Written: {md} and {js} ({facts['benchmark_seconds']} s in all)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
