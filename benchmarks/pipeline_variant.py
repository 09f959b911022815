"""The real pipeline, end to end: `talks --batch --json` on a folder holding one recording."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import tomlkit

from benchmarks.measure import Measurement, VariantFailed, check, score
from benchmarks.paths import ROOT, WORK_DIR, child_env
from benchmarks.procs import run_sampled
from benchmarks.recordings import Recording
from benchmarks.sampler import TreeSampler

RUNS_DIR = WORK_DIR / "runs"

# The batch printer's plain lines (stderr is a pipe, so no progress bar): "[1/1] x.mp3: probe"
_STAGE_LINE = re.compile(r": (probe|transcribe|identify|title|organize)$")
_PLANNED_LINE = re.compile(r": \d+ chunk\(s\) over ")
_CHUNK_LINE = re.compile(r": chunk \d+/\d+ \([^,]*, ([\d.]+) s\)")


def write_config(run_dir: Path, chunk_seconds: float, threads: int, model: str,
                 speakers: Path | None = None, engine: str = "faster-whisper",
                 batch_size: int | None = None, settle_seconds: float | None = None,
                 streams: int | None = None, transcription: dict | None = None) -> Path:
    """A config of its own per run: nothing of the user's config.toml or output is touched.
    `settle_seconds`: the recording was copied in a moment ago, so talks would wait that long
    (10 s by default) for it to settle; a benchmark of the program's work sets it to 0."""
    config = {
        "input": {"folders": [str(run_dir / "inbox")], "recursive": False},
        "output": {"root": str(run_dir / "output"), "originals": "keep"},
        "speakers": {"folder": str(speakers or run_dir / "speakers")},
        "transcription": {"engine": engine, "model": model, "language": "en",
                          "chunk_seconds": chunk_seconds, "compute_type": "int8",
                          "threads": threads, "beam_size": 1, "allow_download": False},
        "logging": {"file": str(run_dir / "talks.log"), "memory": True},
    }
    if batch_size is not None:  # left out, the program's default (and an older one's)
        config["transcription"]["batch_size"] = batch_size
    if streams is not None:
        config["transcription"]["streams"] = streams
    config["transcription"].update(transcription or {})  # keys a variant sets
    if settle_seconds is not None:  # a key older checkouts do not know
        config["input"]["settle_seconds"] = settle_seconds
    path = run_dir / "config.toml"
    path.write_text(tomlkit.dumps(config), encoding="utf-8")
    return path


def _chunk_seconds_from_ledger(output: Path) -> list[float]:
    db = sqlite3.connect(f"file:{output / '.talks' / 'ledger.sqlite'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT seconds FROM chunks ORDER BY file_id, idx").fetchall()
    finally:
        db.close()
    return [float(r[0] or 0.0) for r in rows]


def _transcript_text(output: Path) -> str:
    found = sorted((output / "transcripts").rglob("*.txt"))
    if len(found) != 1:
        raise VariantFailed(f"expected one .txt transcript under {output}, found {len(found)}")
    return found[0].read_text(encoding="utf-8")


def _name_phase(line: str, sampler: TreeSampler) -> None:
    if match := _STAGE_LINE.search(line):
        # The worker's start and the chunk plan come first; the plan line is the boundary.
        stage = match.group(1)
        sampler.set_phase("transcribe: start + plan" if stage == "transcribe" else stage)
    elif _PLANNED_LINE.search(line):
        sampler.set_phase("transcribe: load + chunks")
    elif line.startswith("Done in "):
        sampler.set_phase("exit")


def run_pipeline(recording: Recording, chunk_seconds: float, *, threads: int = 2,
                 model: str = "tiny.en", speakers: Path | None = None,
                 name: str | None = None, engine: str = "faster-whisper",
                 batch_size: int | None = None, code_dir: Path = ROOT,
                 streams: int | None = None,
                 transcription: dict | None = None) -> Measurement:
    """`speakers`: a speaker library folder, so the identify stage runs too (without one it
    is skipped, as it is for a user with no enrolled speakers)."""
    name = name or f"chunked-{chunk_seconds:g}"
    run_dir = RUNS_DIR / name
    shutil.rmtree(run_dir, ignore_errors=True)
    (run_dir / "inbox").mkdir(parents=True)
    # A copy, not a link: the pipeline hashes, copies and backs up the file as it would
    # any user's recording.
    shutil.copy2(recording.audio, run_dir / "inbox" / recording.audio.name)
    config = write_config(run_dir, chunk_seconds, threads, model, speakers, engine, batch_size,
                          settle_seconds=0.0 if code_dir == ROOT else None, streams=streams,
                          transcription=transcription)
    cmd = [sys.executable, "-m", "tui.cli", "--batch", "--json", "--config", str(config)]
    # code_dir: another checkout of talks (an earlier commit, measured side by side).
    env = child_env()
    # talks remembers the output roots it filed into (an unmounted disk is not an empty
    # folder); this run's folder was just made anew on purpose, so it gets a memory of its own.
    env["XDG_STATE_HOME"] = str(run_dir / "state")
    if speakers is not None and code_dir == ROOT:
        # The library's clips embedded first, untimed, as they are for a user after their
        # first talk (or `talks speakers check`): the ledger caches them, and a fresh
        # ledger per run would charge every run the one-time embedding of the library.
        subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config), "speakers",
                        "check"], cwd=code_dir, env=env, check=True, capture_output=True)
    run = run_sampled(cmd, cwd=code_dir, env=env, on_stderr=_name_phase)
    check(run, "talks --batch")
    summary = json.loads(run.stdout)
    if summary.get("filed") != 1:
        raise VariantFailed(f"talks filed {summary.get('filed')} files, not 1: {summary}")
    output = run_dir / "output"
    chunk_times = _chunk_seconds_from_ledger(output)
    printed = [float(m.group(1)) for m in _CHUNK_LINE.finditer(run.stderr)]
    return Measurement.from_run(
        name, f"talks --batch, chunk_seconds = {chunk_seconds:g}", recording.seconds, run,
        sum(chunk_times), score(recording.spoken_text, _transcript_text(output)),
        {"chunks": len(chunk_times), "chunk_seconds": [round(s, 2) for s in chunk_times],
         "printed_chunk_seconds_sum": round(sum(printed), 2),
         "batch_seconds": summary.get("seconds")})
