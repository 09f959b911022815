"""The same talks filed on this machine alone and through a local Ray cluster of 1, 2 and 4
worker processes (issue 35): wall time, audio hours filed per hour, what going through Ray
costs each talk, and the head's peak memory (the `talks` process: the models live on the
workers). Writes benchmarks/cluster_results.md and .json.

    make bench-cluster                      8 talks of ~60 s
    python -m benchmarks.cluster --talks 8 --seconds 20 --workers 1,2,4

Each run files a fresh copy of one inbox with `talks --batch --json` in a subprocess; the
cluster is `ray start --head --block --num-cpus=N` in a temporary folder (one CPU per
transcription task: [transcription] threads = 1), ended after its run. The speaker library
is empty, so the heavy work is the transcription; the voice embedding would add its own
tasks beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.machine import describe, load_average
from tests.support.paths import ROOT
from tests.support.ray_cluster import local_cluster
from tests.support.speech import make_long_talk

OUT = ROOT / "benchmarks" / "cluster_results"
TOPICS = ["bees", "forgiveness", "kayaking", "sourdough"]


def make_inbox(folder: Path, talks: int, seconds: float) -> float:
    """`talks` recordings of about `seconds` each; returns their total length in seconds."""
    from common.media import probe

    folder.mkdir(parents=True)
    total = 0.0
    for n in range(talks):
        path = folder / f"talk {n + 1:02d}.mp3"
        make_long_talk(path, seconds, topics=[TOPICS[n % len(TOPICS)]], seed=n, year=2020)
        total += probe(path).duration
    return total


def write_config(home: Path, address: str) -> Path:
    text = ('[input]\nfolders = ["inbox"]\nmin_duration_s = 3.0\nsettle_seconds = 0.2\n'
            '[output]\nroot = "out"\n[speakers]\nfolder = "people"\n'
            '[transcription]\nmodel_cache = "models"\ncheck_language = false\n'
            'threads = 1\nstreams = 1\n'
            f'[cluster]\naddress = "{address}"\n')
    path = home / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def file_once(inbox: Path, work: Path, name: str, address: str = "",
              env: dict[str, str] | None = None) -> dict[str, object]:
    home = work / name
    shutil.copytree(inbox, home / "inbox")
    (home / "people").mkdir()
    config = write_config(home, address)
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config), "--batch",
                           "--json"], cwd=ROOT, capture_output=True, text=True, timeout=3600,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
                               **(env or {})})
    wall = time.monotonic() - began
    if done.returncode != 0:
        raise RuntimeError(f"{name}: exit {done.returncode}\n{done.stderr[-2000:]}")
    events = [json.loads(line) for line in
              (home / "out" / ".talks" / "run-events.jsonl").read_text().splitlines()[1:]]
    peaks = [e["peak_mb"] for e in events if e["type"] == "MemoryCheckpoint"
             and e["label"] in ("batch start", "batch end", "file start", "file done")]
    with sqlite3.connect(home / "out" / ".talks" / "ledger.sqlite") as db:
        engine_s = db.execute("SELECT SUM(seconds) FROM chunks").fetchone()[0] or 0.0
        filed = db.execute("SELECT COUNT(*) FROM files WHERE state = 'filed'").fetchone()[0]
    return {"run": name, "wall_s": round(wall, 2), "filed": filed,
            "engine_s": round(engine_s, 2), "head_peak_mb": max(peaks) if peaks else None,
            "summary_s": json.loads(done.stdout)["seconds"]}


def markdown(machine: dict, audio_s: float, talks: int, runs: list[dict]) -> str:
    local = next(r for r in runs if r["run"] == "local")
    lines = [
        "# The pipeline on a Ray cluster (issue 35)", "",
        f"{talks} talks, {audio_s / 60:.1f} minutes of audio in all (espeak-ng speech), "
        "tiny.en with faster-whisper on one thread per task, filed by `talks --batch` on "
        "this machine alone and through a local Ray cluster of 1, 2 and 4 worker processes "
        "(`ray start --num-cpus=N`). `make bench-cluster` makes these numbers.", "",
        "**Measured at a small scale, on a shared machine**: "
        f"{machine.get('cpu_count', '?')} cores (other work was running: load average "
        f"{machine.get('load_before', '?')} before, {machine.get('load_after', '?')} after), "
        "so the 4-worker cluster has twice the processes of the cores and "
        "the curve stops where the cores do. Short talks make the per-talk costs (a fresh "
        "process and model per task, the audio shipped) weigh more than on real talks of "
        "30-90 minutes.", "",
        "| run | wall | audio h / h | vs local | engine time | Ray's cost per talk | "
        "head peak |", "|---|---|---|---|---|---|---|"]
    for r in runs:
        rate = audio_s / r["wall_s"]
        overhead = (r["wall_s"] - local["wall_s"]) / talks if r["run"] == "cluster-1" else None
        lines.append(
            f"| {r['run']} | {r['wall_s']:.1f} s | {rate:.1f} | "
            f"{r['wall_s'] / local['wall_s']:.2f}x | {r['engine_s']:.1f} s | "
            f"{f'{overhead:+.2f} s' if overhead is not None else '—'} | "
            f"{r['head_peak_mb']} MB |")
    one = next((r for r in runs if r["run"] == "cluster-1"), None)
    peak = max((r["head_peak_mb"] or 0) for r in runs if r["run"] != "local")
    if one is not None:
        slower = one["wall_s"] / local["wall_s"] - 1
        lines += ["", f"Against the targets: a 1-worker cluster {slower:+.0%} against the local "
                  f"run (target: at most +10 %; "
                  f"{'met' if slower <= 0.10 else 'not met at this scale'}), the head's peak "
                  f"{peak:.0f} MB (target 150 MB: {'met' if peak <= 150 else 'not met'}). "
                  "On this 2-core machine the cluster's own processes (its GCS server, "
                  "raylet, the desk) share the cores with the transcription, and a talk of "
                  "half a minute pays Ray's per-talk cost against a few seconds of work; on "
                  "a node of its own and talks of an hour that cost is under 1 % of the work."]
    lines += ["", "- *audio h / h*: hours of audio filed per hour of wall time.",
              "- *engine time*: the transcription's own seconds, summed over the chunks "
              "(the ledger's `chunks.seconds`).",
              "- *Ray's cost per talk*: (the 1-worker cluster's wall time − the local run's) "
              "/ talks: a fresh Ray worker per task (the runtime env, imports), the audio "
              "through the object store, the desk's round trips.",
              "- *head peak*: the `talks` process's high-water mark (VmHWM), which with a "
              "cluster includes Ray's driver (~60-70 MB); target 150 MB.", ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--render", action="store_true",
                        help="write the .md again from the .json, without running anything")
    parser.add_argument("--talks", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.render:
        kept = json.loads(args.out.with_suffix(".json").read_text(encoding="utf-8"))
        args.out.with_suffix(".md").write_text(markdown(kept["machine"], kept["audio_s"],
                                                        kept["talks"], kept["runs"]),
                                               encoding="utf-8")
        return 0
    machine = describe()
    machine["load_before"] = load_average()
    with tempfile.TemporaryDirectory(prefix="talks-cluster-") as tmp:
        work = Path(tmp)
        audio_s = make_inbox(work / "inbox", args.talks, args.seconds)
        print(f"{args.talks} talks, {audio_s:.0f} s of audio; the local run …", flush=True)
        runs = [file_once(work / "inbox", work, "local")]
        for n in (int(w) for w in args.workers.split(",") if w):
            print(f"… a cluster of {n} worker process(es) …", flush=True)
            with local_cluster(cpus=n) as cluster:
                runs.append(file_once(work / "inbox", work, f"cluster-{n}", cluster.address,
                                      cluster.env))
            print(runs[-1], flush=True)
    machine["load_after"] = load_average()
    text = markdown(machine, audio_s, args.talks, runs)
    print(text)
    args.out.with_suffix(".md").write_text(text, encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(
        {"machine": machine, "talks": args.talks, "audio_s": round(audio_s, 1), "runs": runs},
        indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
