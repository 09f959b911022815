"""PyAV left unloaded (pipeline/lazy_pyav.py): the tree's peak from outside, before and after.

`python -m benchmarks.lazy_pyav --before DIR [--reps 2]`: DIR is a checkout of talks from
before the change (`git worktree add DIR 550dc85`). The 10-min espeak talk with its music bed
(seed 0) goes through `talks --batch` (speed "fastest", chunks of 300 s, no speaker library:
the transcription worker is the tree's largest process) from each checkout in turn, `--reps`
times, alternating which goes first; each run is measured by the outside sampler
(benchmarks/outside_memory.py). Writes benchmarks/lazy_pyav.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

from benchmarks import machine
from benchmarks.paths import BENCH_DIR, ROOT
from benchmarks.pipeline_variant import run_pipeline
from benchmarks.recordings import long_talk, with_music


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "lazy_pyav.json")
    args = parser.parse_args(argv)
    os.environ["HF_HUB_OFFLINE"] = "1"
    recording = with_music(long_talk(600, seed=0))
    runs: dict[str, list[dict]] = {"PyAV loaded (before)": [], "PyAV left unloaded": []}
    checkouts = {"PyAV loaded (before)": args.before.resolve(), "PyAV left unloaded": ROOT}
    for rep in range(args.reps):
        order = list(checkouts) if rep % 2 == 0 else list(reversed(checkouts))
        for name in order:
            m = run_pipeline(recording, 300.0, name=f"lazy-pyav-{rep}", code_dir=checkouts[name])
            row = {"wall_s": round(m.wall_s, 1), "cpu_s": m.cpu_s,
                   "outside_rss_mb": m.outside_rss_mb, "outside_pss_mb": m.outside_pss_mb,
                   "largest_process_mb": m.largest_process_mb, "wer": round(m.words.wer, 4),
                   "load": round(os.getloadavg()[0], 2)}
            print(name, json.dumps(row), flush=True)
            runs[name].append(row)
    args.out.write_text(json.dumps({"machine": machine.describe(), "runs": runs}, indent=1)
                        + "\n")
    lines = ["# PyAV left unloaded: the tree's peak from outside (benchmarks/lazy_pyav.py)", "",
             f"The 10-min espeak talk with music, `talks --batch`, no speaker library, "
             f"{args.reps} runs each, alternating.", "",
             "| code | tree peak RSS MB | tree peak PSS MB | largest process MB | WER % |",
             "|---|---:|---:|---:|---:|"]
    for name, rows in runs.items():
        def span(key: str, rows: list[dict] = rows) -> str:
            values = [r[key] for r in rows if r[key] is not None]
            return "/".join(f"{v:.0f}" for v in values)
        lines.append(f"| {name} | {span('outside_rss_mb')} | {span('outside_pss_mb')} | "
                     f"{span('largest_process_mb')} | "
                     f"{100 * statistics.mean(r['wer'] for r in rows):.1f} |")
    lines += ["", "Machine load (1-min average) after each run: "
              + ", ".join(f"{r['load']:.1f}" for rows in runs.values() for r in rows)
              + f" on {os.cpu_count()} cores. Wall times are in the JSON but not compared: "
              "the other checkout runs with its default settle time.", ""]
    args.out.with_suffix(".md").write_text("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
