"""The archive follows the library, on real voices: `python -m benchmarks.archive_follow`.

The end-to-end scenario of benchmarks/speakers_real.py (speakerbox's city council: 7 people
enrolled from one meeting, talks made of their speech in the other meetings, 2 people never
enrolled) filed twice through the real program:

- **follow**: `talks --batch` with no speaker library (everything goes to the default
  speaker), then the library is put in place and `talks --batch` runs again: the talks are
  identified again from their voices (heard once from the filed copies) and moved.
- **direct**: `talks --batch` with the library there from the start.

Counted for each: right name, wrong name, review, unknown, never-enrolled named; and talk by
talk whether the two ways decided the same. The second run's wall time is given as a share
of the first's (which transcribed everything). Results: printed, and written to
benchmarks/archive_follow.md (+ .json).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
import time
from datetime import datetime
from pathlib import Path

import tomlkit

from benchmarks.paths import BENCH_DIR, ROOT, WORK_DIR, child_env
from benchmarks.procs import run_sampled
from benchmarks.speakers_real import (
    MATCH,
    Counts,
    Scenario,
    build_scenario,
    council_utterances,
    read_all,
)

RUN_DIR = WORK_DIR / "archive_follow"
RESULTS_MD = BENCH_DIR / "archive_follow.md"
RESULTS_JSON = BENCH_DIR / "archive_follow.json"


def write_config(run: Path, scenario: Scenario) -> Path:
    config = {
        "input": {"folders": [str(scenario.inbox)], "min_duration_s": 1.0},
        "output": {"root": str(run / "output"), "raw_backup": False},
        "speakers": {"folder": str(run / "library")},
        "transcription": {"engine": "faster-whisper", "model": "tiny.en", "threads": 2},
        "logging": {"file": str(run / "talks.log")},
    }
    path = run / "config.toml"
    path.write_text(tomlkit.dumps(config), encoding="utf-8")
    return path


def batch(run: Path, config: Path) -> tuple[dict, float]:
    env = child_env()
    env["TALKS_STATE_DIR"] = str(run / "state")  # a root made anew is not an unmounted disk
    done = run_sampled([sys.executable, "-m", "tui.cli", "--batch", "--json", "--config",
                        str(config)], cwd=ROOT, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"talks --batch failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout), done.wall_s


def decisions(run: Path) -> dict[str, tuple[str, str]]:
    db = sqlite3.connect(f"file:{run / 'output' / '.talks' / 'ledger.sqlite'}?mode=ro", uri=True)
    rows = db.execute("SELECT path, speaker, speaker_decision FROM files").fetchall()
    db.close()
    return {Path(p).name: (kind, speaker) for p, speaker, kind in rows}


def counted(scenario: Scenario, decided: dict[str, tuple[str, str]]) -> Counts:
    counts = Counts()
    for name, (kind, speaker) in decided.items():
        counts.add(scenario.truth[name], kind, speaker if kind == MATCH else None)
    return counts


def fresh(name: str) -> Path:
    run = RUN_DIR / name
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    return run


def main() -> int:
    began = time.monotonic()
    utts = council_utterances()
    scenario = build_scenario(utts, {u.path: read_all(u.path) for u in utts})

    follow = fresh("follow")
    config = write_config(follow, scenario)
    first, first_s = batch(follow, config)  # no library: everyone to the default speaker
    unknown_first = sum(1 for kind, _ in decisions(follow).values() if kind != MATCH)
    shutil.copytree(scenario.library, follow / "library")
    second, second_s = batch(follow, config)
    followed = decisions(follow)

    direct = fresh("direct")
    shutil.copytree(scenario.library, direct / "library")
    _, direct_s = batch(direct, write_config(direct, scenario))
    directly = decisions(direct)

    same = sum(followed[n] == directly.get(n) for n in followed)
    a, b = counted(scenario, followed), counted(scenario, directly)
    header = "right | wrong | review | unknown | never enrolled named | review | unknown"
    lines = [
        "# The archive follows the library, on real voices",
        "",
        f"Measured {datetime.now():%Y-%m-%d %H:%M} with `python -m benchmarks.archive_follow` "
        f"({(time.monotonic() - began) / 60:.1f} min). The scenario of "
        "`benchmarks/speakers_real.py`: speakerbox's council members, 7 enrolled from one "
        f"meeting, {len(scenario.truth)} talks from the other meetings (2 people never "
        "enrolled); campplus, tiny.en.",
        "",
        f"| filed | {header} |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| first with no library, then identified again once enrolled | {a.row()} |",
        f"| with the library from the start | {b.row()} |",
        "",
        f"- First run with no library: {unknown_first}/{len(followed)} talks under the default "
        f"speaker ({first['filed']} filed).",
        f"- The run after enrolling moved {second['refiled']} talks and sent "
        f"{second['sent_to_review']} to review, transcribing nothing: its wall time was "
        f"{second_s / first_s:.2f}× the first run's ({second_s:.1f} s against {first_s:.1f} s; "
        f"with the library from the start: {direct_s:.1f} s).",
        f"- Talk by talk, the two ways decided the same for {same}/{len(followed)} talks.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS_MD.write_text(text, encoding="utf-8")
    RESULTS_JSON.write_text(json.dumps({
        "follow": vars(a), "direct": vars(b), "same": same, "talks": len(followed),
        "refiled": second["refiled"], "sent_to_review": second["sent_to_review"],
        "first_s": first_s, "second_s": second_s, "direct_s": direct_s}, indent=2) + "\n",
        encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
