"""Time and peak memory of the speaker stage on a long talk, run as the pipeline runs it.

`python -m benchmarks.speaker_stage [--minutes 60]` makes (or reuses) a long espeak talk and a
small library of flite voices, then runs the identify stage in its worker process twice:
with a cold embedding cache (the clips are embedded too) and a warm one (only the talk's
samples). The RSS of the whole process tree is sampled at ~100 Hz. Results are printed and
written to benchmarks/speaker_stage.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from benchmarks.recordings import long_talk
from benchmarks.sampler import TreeSampler
from pipeline.config.settings import Config, OutputConfig, SpeakersConfig
from pipeline.ledger import Ledger
from pipeline.run.worker import run_in_worker
from pipeline.stages.identify import identify_job
from tests.support.speech import TALKS, make_talk

HERE = Path(__file__).resolve().parent
VOICES = {"Sarah Lane": "slt", "Robert Moss": "rms", "Alan Webb": "awb", "Kal Baker": "kal"}


def make_library(folder: Path) -> None:
    for name, voice in VOICES.items():
        make_talk(folder / f"{name}.wav", TALKS["forgiveness"][:3], tool="flite", voice=voice)
        make_talk(folder / f"{name}_1.wav", TALKS["lighthouses"][:3], tool="flite", voice=voice)


def run_stage(config: Config, talk: Path, duration: float) -> dict:
    with Ledger(config.output.ledger_path) as ledger:
        row, _new = ledger.register(talk, ledger.hash_of(talk))
    sampler = TreeSampler(os.getpid()).start()
    began = time.monotonic()
    result = run_in_worker(identify_job, (row.id, str(talk), duration, config, os.getpid()),
                           lambda event: None, None, stall_seconds=1800, stage="identify")
    seconds = time.monotonic() - began
    report = sampler.stop()
    if result.status != "done":
        raise SystemExit(f"speaker stage failed: {result.message}\n{result.detail}")
    with Ledger(config.output.ledger_path) as ledger:
        evidence = ledger.get(row.id).speaker_evidence or {}
    return {"seconds": round(seconds, 2), "peak_tree_mb": round(report.peak_mb, 1),
            "largest_process_mb": round(report.largest_process_mb, 1),
            "samples_per_s": round(report.hz, 1), "decision": evidence.get("kind"),
            "best": evidence.get("candidates", [[None]])[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0)
    args = parser.parse_args(argv)
    recording = long_talk(args.minutes * 60)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        make_library(base / "library")
        config = Config(output=OutputConfig(root=base / "out"),
                        speakers=SpeakersConfig(folder=base / "library"))
        cold = run_stage(config, recording.audio, recording.seconds)
        warm = run_stage(config, recording.audio, recording.seconds)
    sp = config.speakers
    results = {"talk_seconds": round(recording.seconds, 1), "people": len(VOICES),
               "clips": 2 * len(VOICES), "samples": sp.sample_count,
               "sample_seconds": sp.sample_seconds, "backend": sp.backend,
               "cold_cache": cold, "warm_cache": warm}
    lines = [
        "# Speaker stage on a long talk",
        "",
        f"{results['talk_seconds']:.0f} s espeak talk (a voice not enrolled), {len(VOICES)} "
        f"flite people × 2 clips, {sp.sample_count} samples × {sp.sample_seconds:g} s, "
        f"{sp.backend}; RSS of the whole process tree sampled at ~100 Hz.",
        "",
        "| cache | wall s | peak tree RSS MB | largest process MB | decision |",
        "|---|---:|---:|---:|---|",
        *(f"| {name} | {r['seconds']} | {r['peak_tree_mb']} | {r['largest_process_mb']} | "
          f"{r['decision']} |" for name, r in (("cold (clips embedded)", cold),
                                               ("warm (cached clips)", warm))),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    (HERE / "speaker_stage.md").write_text(text, encoding="utf-8")
    (HERE / "speaker_stage.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
