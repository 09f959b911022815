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

Then the kill test (--kill-trials, 10 by default; 0 leaves it out): in each trial a batch of
three talks (two of 40 s in 10-s chunks, one short) on a 2-CPU cluster, and one Ray worker
process transcribing is killed (SIGKILL) at a moment the trial's seed picks (after 0-3
chunks saved, plus up to 1.5 s). Counted: talks lost (not filed) and doubled (filed twice,
or a chunk done twice), whether the kill landed, and whether Ray ran the task again.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from benchmarks.machine import describe, load_average
from tests.support.paths import ROOT
from tests.support.ray_cluster import LocalCluster, local_cluster
from tests.support.speech import TALKS, make_long_talk, make_talk

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


def write_config(home: Path, address: str, chunk_seconds: int = 0) -> Path:
    chunks = f"chunk_seconds = {chunk_seconds}\n" if chunk_seconds else ""
    text = ('[input]\nfolders = ["inbox"]\nmin_duration_s = 3.0\nsettle_seconds = 0.2\n'
            '[output]\nroot = "out"\n[speakers]\nfolder = "people"\n'
            '[transcription]\nmodel_cache = "models"\ncheck_language = false\n'
            f'threads = 1\nstreams = 1\n{chunks}'
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

KILL_CHUNK_SECONDS = 10


def make_kill_inbox(folder: Path) -> None:
    """Two talks of 40 s (four chunks each) and a short one: a kill finds work in flight."""
    folder.mkdir(parents=True)
    make_long_talk(folder / "long river.mp3", 40, topics=["kayaking"], seed=1, year=2021)
    make_long_talk(folder / "long bread.mp3", 40, topics=["sourdough"], seed=2, year=2022)
    make_talk(folder / "bees.mp3", TALKS["bees"][:2], year=2019)


def _chunks_saved(ledger: Path) -> int:
    try:
        with sqlite3.connect(ledger, timeout=5) as db:
            return db.execute("SELECT COUNT(text) FROM chunks").fetchone()[0]
    except sqlite3.Error:  # not made yet, or busy
        return 0


def kill_trial(inbox: Path, home: Path, cluster: LocalCluster, seed: int) -> dict[str, object]:
    """One batch on the cluster, one transcribing worker killed at the seed's moment."""
    rng = random.Random(seed)
    after_chunks, delay = rng.randint(0, 3), round(rng.uniform(0.0, 1.5), 2)
    shutil.copytree(inbox, home / "inbox")
    (home / "people").mkdir()
    config = write_config(home, cluster.address, KILL_CHUNK_SECONDS)
    ledger = home / "out" / ".talks" / "ledger.sqlite"
    batch = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "--config", str(config), "--batch", "--json"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", **cluster.env})
    killed: int | None = None
    chunks_at_kill = None
    aimed_at: float | None = None
    deadline = time.monotonic() + 300
    while killed is None and batch.poll() is None and time.monotonic() < deadline:
        if aimed_at is None and _chunks_saved(ledger) >= after_chunks:
            aimed_at = time.monotonic() + delay
        if aimed_at is not None and time.monotonic() >= aimed_at:
            running = cluster.task_processes("talks-transcribe")
            if running:
                victim = rng.choice(running)
                chunks_at_kill = _chunks_saved(ledger)
                try:
                    victim.kill()
                    killed = victim.pid
                except Exception:  # noqa: BLE001 - it ended on its own meanwhile: aim again
                    pass
        time.sleep(0.05)
    out, err = batch.communicate(timeout=600)
    expected = sorted(p.name for p in inbox.iterdir())
    with sqlite3.connect(ledger) as db:
        rows = db.execute("SELECT path, state, destination FROM files").fetchall()
        chunks = db.execute("SELECT COUNT(*), COUNT(text) FROM chunks").fetchone()
    filed = Counter(Path(r[0]).name for r in rows if r[1] == "filed")
    archived = sorted((home / "out" / "talks").rglob("*.mp3"))
    events = [json.loads(line) for line in
              (home / "out" / ".talks" / "run-events.jsonl").read_text().splitlines()[1:]]
    said = Counter((e["file"], e["index"]) for e in events if e["type"] == "ChunkDone")
    log = (home / "out" / "talks.log").read_text(encoding="utf-8")
    lost = [name for name in expected if not filed.get(name)]
    doubled = sum(1 for n in filed.values() if n > 1) + max(0, len(archived) - len(expected))
    return {"seed": seed, "kill_after_chunks": after_chunks, "extra_delay_s": delay,
            "killed": killed is not None, "chunks_saved_at_kill": chunks_at_kill,
            "run_again": "runs again, on Ray node" in log, "exit": batch.returncode,
            "filed": sum(filed.values()), "lost": len(lost), "doubled": doubled,
            "chunks_done_twice": sum(1 for n in said.values() if n > 1),
            "chunks": chunks[0], "chunks_with_text": chunks[1],
            "json_ok": _summary_filed(out) == len(expected), "stderr_tail": err[-300:]}


def _summary_filed(out: str) -> int | None:
    try:
        return json.loads(out)["filed"]
    except (ValueError, KeyError):
        return None


def kill_trials(work: Path, trials: int, seed: int) -> list[dict[str, object]]:
    inbox = work / "kill-inbox"
    make_kill_inbox(inbox)
    results = []
    with local_cluster(cpus=2) as cluster:
        for n in range(trials):
            began = time.monotonic()
            result = kill_trial(inbox, work / f"kill-{n + 1:02d}", cluster, seed + n)
            result["wall_s"] = round(time.monotonic() - began, 1)
            print({k: v for k, v in result.items() if k != "stderr_tail"}, flush=True)
            results.append(result)
    return results


def kill_markdown(trials: list[dict]) -> list[str]:
    if not trials:
        return []
    landed = sum(1 for t in trials if t["killed"])
    lost = sum(t["lost"] for t in trials)
    doubled = sum(t["doubled"] + t["chunks_done_twice"] for t in trials)
    lines = ["", "## Kill test", "",
             f"{len(trials)} trials, each a batch of 3 talks (two of 40 s in 10-s chunks, one "
             "of ~10 s) on a 2-CPU local cluster; in each, one Ray worker process "
             "transcribing is killed with SIGKILL at a moment the trial's seed picks (after "
             "0-3 chunks saved, then up to 1.5 s more). Ray runs the task again; the chunks "
             "already saved are not done again. *Task run again* is the run's log saying so; "
             "a kill before the task had said where it started leaves no such line (its "
             "second start is its first word).", "",
             "| trial | seed | kill after | chunks saved at the kill | task run again | "
             "exit | filed | lost | doubled | chunks done twice | wall |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for n, t in enumerate(trials, start=1):
        lines.append(
            f"| {n} | {t['seed']} | {t['kill_after_chunks']} chunks + {t['extra_delay_s']} s | "
            f"{t['chunks_saved_at_kill'] if t['killed'] else 'missed'} | "
            f"{'yes' if t['run_again'] else 'no'} | {t['exit']} | {t['filed']}/3 | "
            f"{t['lost']} | {t['doubled']} | {t['chunks_done_twice']} | {t['wall_s']} s |")
    lines += ["", f"Against the target (0 talks lost or doubled in every trial): "
              f"{landed} of {len(trials)} kills landed on a transcribing worker; {lost} talks "
              f"lost and {doubled} doubled in all: "
              f"{'met' if lost == 0 and doubled == 0 and landed == len(trials) else 'NOT met'}."]
    return lines


# Where a 1-worker cluster's extra time went, measured before and after the two changes that
# cut it (same machine, same benchmark at a smaller scale where said): kept here because the
# code they measured is gone.
EARLIER = [
    {"when": "before (a fresh Ray worker per task, waits on the main thread)",
     "talks": "8 x ~32 s", "load": "4.9-5.8", "local_s": 49.5, "cluster_1_s": 65.1,
     "engine_local_s": 21.7, "engine_cluster_s": 38.2},
    {"when": "before, again", "talks": "4 x ~32 s", "load": "2.0-2.7", "local_s": 13.1,
     "cluster_1_s": 21.9, "engine_local_s": 6.7, "engine_cluster_s": 13.3},
    {"when": "the task keeps its CPUs (waits off the main thread)", "talks": "4 x ~32 s",
     "load": "2.0-2.4", "local_s": 13.1, "cluster_1_s": 16.8, "engine_local_s": 6.7,
     "engine_cluster_s": 5.6},
    {"when": "and Ray's workers reused, the job in a fresh child", "talks": "4 x ~32 s",
     "load": "5.0-5.2", "local_s": 13.9, "cluster_1_s": 16.7, "engine_local_s": 6.7,
     "engine_cluster_s": 6.4},
]


def earlier_markdown() -> list[str]:
    lines = ["", "## Where the 1-worker cluster's extra time went", "",
             "Two causes, found in the run's log (each task's start, model load and chunk "
             "times) and a bare Ray task timed alone:", "",
             "1. **Two transcriptions on one CPU.** Ray lends a task's CPUs to the node's "
             "next task while the task's main thread waits in `ray.get`, and a job waits on "
             "the desk at every event and ledger call: a 1-CPU cluster ran two talks at once, "
             "each at half speed (engine time doubled). The task now waits from a thread of "
             "its own, which keeps its CPUs.",
             "2. **A fresh Ray worker per task** (`max_calls=1`): ~0.7 s each (an "
             "interpreter, Ray, its connection; a reused worker takes a task in ~2 ms), "
             "~1.1 s from one talk's last chunk to the next talk's start. Ray's workers are "
             "now reused and the job runs in a fresh child process of the task (~0.3 s, "
             "as a local worker): its model's memory still goes back after each talk, and "
             "that child holds 123 MB with tiny.en loaded, not 183 MB (no Ray in it).", "",
             "What is left is per run, not per talk: joining the cluster (~1 s) and its "
             "first worker (~1.2 s with the code shipped once).", "",
             "| when | talks | load | local | 1-worker cluster | vs local | engine time "
             "local / cluster |", "|---|---|---|---|---|---|---|"]
    for e in EARLIER:
        lines.append(f"| {e['when']} | {e['talks']} | {e['load']} | {e['local_s']:.1f} s | "
                     f"{e['cluster_1_s']:.1f} s | "
                     f"{e['cluster_1_s'] / e['local_s'] - 1:+.0%} | "
                     f"{e['engine_local_s']:.1f} / {e['engine_cluster_s']:.1f} s |")
    return lines


def markdown(machine: dict, audio_s: float, talks: int, runs: list[dict],
             trials: list[dict] | None = None) -> str:
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
        "process and model per task, the audio shipped) and the run's own (joining the "
        "cluster) weigh more than on real talks of 30-90 minutes.", "",
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
                  "One run of each on a shared machine: a few seconds either way is its "
                  "noise (the section below has the overhead's causes, timed apart). "
                  "On this 2-core machine the cluster's own processes (its GCS server, "
                  "raylet, the desk) share the cores with the transcription, and a talk of "
                  "half a minute pays Ray's per-talk cost against a few seconds of work; on "
                  "a node of its own and talks of an hour that cost is under 1 % of the work."]
    lines += ["", "- *audio h / h*: hours of audio filed per hour of wall time.",
              "- *engine time*: the transcription's own seconds, summed over the chunks "
              "(the ledger's `chunks.seconds`).",
              "- *Ray's cost per talk*: (the 1-worker cluster's wall time − the local run's) "
              "/ talks: the run's joining the cluster and its first worker, spread over the "
              "talks, and per talk the job's fresh child process, the audio through the "
              "object store, the desk's round trips.",
              "- *head peak*: the `talks` process's high-water mark (VmHWM), which with a "
              "cluster includes Ray's driver (~60-70 MB); target 150 MB."]
    lines += earlier_markdown()
    lines += kill_markdown(trials or [])
    return "\n".join(lines + [""])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--render", action="store_true",
                        help="write the .md again from the .json, without running anything")
    parser.add_argument("--talks", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--kill-trials", type=int, default=10,
                        help="trials of the kill test (0: none)")
    parser.add_argument("--seed", type=int, default=35, help="the kill test's first seed")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.render:
        kept = json.loads(args.out.with_suffix(".json").read_text(encoding="utf-8"))
        args.out.with_suffix(".md").write_text(markdown(
            kept["machine"], kept["audio_s"], kept["talks"], kept["runs"],
            kept.get("kill_trials")), encoding="utf-8")
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
        trials = kill_trials(work, args.kill_trials, args.seed) if args.kill_trials else []
    machine["load_after"] = load_average()
    text = markdown(machine, audio_s, args.talks, runs, trials)
    print(text)
    args.out.with_suffix(".md").write_text(text, encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(
        {"machine": machine, "talks": args.talks, "audio_s": round(audio_s, 1), "runs": runs,
         "kill_trials": trials},
        indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
