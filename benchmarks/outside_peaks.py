"""The tree's peak seen from outside on long talks, talks beside the batched pipeline (issue 34).

`python -m benchmarks.outside_peaks [--minutes 30,60]` (part of `make bench-windows`): for each
length, the espeak talk with its music bed (seed 0) through `talks --batch` (the default
config: speed "fastest", chunks of 300 s, a small speaker library so the speaker stage runs)
and through faster-whisper's BatchedInferencePipeline (batch 8) given the file, one run each,
both measured by the outside sampler (benchmarks/outside_memory.py: the whole process tree's
RSS and PSS, ~50 Hz). The full suite (`make bench`) measures the same with repetitions and
WER over 10,000 words a length; this is its memory column for the long talks, in minutes
rather than hours. Writes benchmarks/outside_peaks.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from benchmarks import machine
from benchmarks.engine_variant import run_whole_file
from benchmarks.paths import BENCH_DIR
from benchmarks.pipeline_variant import run_pipeline
from benchmarks.recordings import long_talk, with_music
from benchmarks.suite import OUTSIDE_PEAK_MB, speaker_library


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", default="30,60")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "outside_peaks.json")
    args = parser.parse_args(argv)
    os.environ["HF_HUB_OFFLINE"] = "1"
    library = speaker_library()
    rows = []
    for minutes in (float(m) for m in args.minutes.split(",") if m):
        recording = with_music(long_talk(minutes * 60, seed=0))
        ours = run_pipeline(recording, 300.0, speakers=library, name=f"outside-{minutes:g}")
        peer = run_whole_file(recording, batch_size=8)
        row = {"minutes": minutes, "load": round(os.getloadavg()[0], 2)}
        for name, m in (("talks", ours), ("batched-8", peer)):
            row[name] = {"wall_s": round(m.wall_s, 1), "transcribe_s": m.transcribe_s,
                         "outside_rss_mb": m.outside_rss_mb, "outside_pss_mb": m.outside_pss_mb,
                         "wer": round(m.words.wer, 4), "words": m.words.reference_words}
        print(json.dumps(row), flush=True)
        rows.append(row)
    args.out.write_text(json.dumps({"machine": machine.describe(), "rows": rows}, indent=1)
                        + "\n")
    lines = ["# The tree's peak seen from outside, long talks (benchmarks/outside_peaks.py)", "",
             "| talk | system | wall s | tree peak RSS MB | tree peak PSS MB | WER % | "
             f"PSS ≤ {OUTSIDE_PEAK_MB:g} MB |", "|---|---|---:|---:|---:|---:|---|"]
    for row in rows:
        for name in ("talks", "batched-8"):
            r = row[name]
            verdict = ("met" if (r["outside_pss_mb"] or 1e9) <= OUTSIDE_PEAK_MB else "NOT met"
                       ) if name == "talks" else ""
            lines.append(f"| {row['minutes']:g} min | {name} | {r['wall_s']:.1f} | "
                         f"{r['outside_rss_mb'] or 0:.0f} | {r['outside_pss_mb'] or 0:.0f} | "
                         f"{100 * r['wer']:.1f} | {verdict} |")
    lines += ["", "Machine load (1-min average) after each length: "
              + ", ".join(f"{r['load']:.1f}" for r in rows) + f" on {os.cpu_count()} cores.",
              "Wall times under load are indicative only; the memory columns do not depend "
              "on it.", ""]
    args.out.with_suffix(".md").write_text("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
