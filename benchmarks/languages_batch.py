"""Four talks in four languages through `talks --batch`, once with each engine (issue 32).

French, German and Spanish espeak-ng talks and an English one (tests/support/spoken_languages.py
and TALKS) go into one inbox, filed by a real `talks --batch --json` with `model = "auto"`,
`language = "auto"`: once with faster-whisper, once with mlx (on this machine's CPU, slowly:
ratios only, a Mac's times differ). For each talk: the language heard and how sure, the model
that transcribed it, its title, how many of its script's content words its transcript holds,
and whether it was filed. `make test` runs the faster-whisper batch (tests/pipeline/run/
test_batch_languages.py); the mlx one, minutes here, is measured here instead.

    python -m benchmarks.languages_batch [--engines faster-whisper,mlx]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.machine import describe
from tests.support.speech import TALKS, make_talk
from tests.support.spoken_languages import ELSEWHERE

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "language_batch_results"
ENGLISH = TALKS["bees"][:3]
ENGLISH_WORDS = ("bees", "honey", "flowers", "hive", "queen")


def inbox_of(folder: Path) -> dict[str, str]:
    """The four talks, spoken into `folder`: file name -> its language."""
    made = {"bees.mp3": "en"}
    make_talk(folder / "bees.mp3", list(ENGLISH), pause_s=0.6, year=2020)
    for code, talk in ELSEWHERE.items():
        name = f"talk-{code}.mp3"
        make_talk(folder / name, list(talk.sentences), voice=talk.voice, pause_s=0.6,
                  year=2020)
        made[name] = code
    return made


def run_engine(engine: str, work: Path) -> dict:
    home = work / engine
    spoken = inbox_of(home / "inbox")
    config = home / "config.toml"
    config.write_text('[input]\nfolders = ["inbox"]\nmin_duration_s = 3.0\n'
                      'settle_seconds = 0.5\n[output]\nroot = "out"\n[speakers]\n'
                      'identify = false\n[transcription]\n'
                      f'engine = "{engine}"\nmodel = "auto"\nlanguage = "auto"\n'
                      '[logging]\nfile = "out/talks.log"\n', encoding="utf-8")
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config), "--batch",
                           "--json"], cwd=ROOT, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - began
    if not (home / "out" / ".talks" / "ledger.sqlite").is_file():
        raise SystemExit(f"the {engine} batch filed nothing (exit {done.returncode}):\n"
                         f"{done.stderr.strip()}")
    files = {f["file"]: f for f in json.loads(done.stdout or '{"files": []}').get("files", [])}
    ledger = sqlite3.connect(home / "out" / ".talks" / "ledger.sqlite")
    transcripts = {Path(path).name: json.loads(made or "[]") for path, made in
                   ledger.execute("SELECT path, transcripts FROM files")}
    ledger.close()
    rows = []
    for name, code in spoken.items():
        got = files.get(name, {})
        record: dict = {}
        for path in transcripts.get(name, []):
            if path.endswith(".json"):
                record = json.loads(Path(path).read_text(encoding="utf-8"))
        text = " ".join(s["text"] for s in record.get("segments", [])).lower()
        words = ELSEWHERE[code].words if code in ELSEWHERE else ENGLISH_WORDS
        rows.append({"file": name, "spoken": code, "status": got.get("status"),
                     "heard": record.get("language"),
                     "probability": record.get("language_probability"),
                     "model": record.get("model"), "title": record.get("title"),
                     "content_words": sum(w in text for w in words),
                     "of_words": len(words)})
    return {"engine": engine, "exit": done.returncode, "wall_s": round(wall, 1),
            "stderr_tail": done.stderr[-600:], "talks": rows}


def markdown(machine: dict, runs: Sequence[dict]) -> str:
    lines = ["# Four languages in one batch, through each engine", "",
             "`python -m benchmarks.languages_batch` (run by `make bench-languages`), issue 32."
             f" Measured {machine.get('date')} on {machine.get('cpu')} "
             f"({machine.get('cpu_count')} cores). mlx runs here on the CPU: its times are "
             "ratios for this machine only.", "",
             "Each run: a real `talks --batch --json` of one inbox, `model = \"auto\"`, "
             "`language = \"auto\"`, speaker recognition off. \"Words\" counts the script's "
             "content words found in the transcript.", ""]
    for run in runs:
        right = sum(r["heard"] == r["spoken"] and r["status"] == "filed" for r in run["talks"])
        lines += [f"## {run['engine']}", "",
                  f"Exit {run['exit']}, {run['wall_s']:.0f} s for the batch; "
                  f"{right} of {len(run['talks'])} talks heard right and filed.", "",
                  "| talk | spoken | heard | sure | model | title | words | filed |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in run["talks"]:
            sure = f"{r['probability']:.2f}" if r["probability"] is not None else "—"
            lines.append(f"| {r['file']} | {r['spoken']} | {r['heard'] or '—'} | {sure} | "
                         f"{r['model'] or '—'} | {r['title'] or '—'} | "
                         f"{r['content_words']}/{r['of_words']} | {r['status'] or '—'} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="faster-whisper,mlx")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e]
    if "mlx" in engines and importlib.util.find_spec("mlx_whisper") is None:
        print("mlx-whisper is not installed here: the mlx batch is left out")
        engines.remove("mlx")
    machine = describe()
    with tempfile.TemporaryDirectory(prefix="talks-languages-") as work:
        runs = []
        for engine in engines:
            print(f"The four-language batch with {engine} …", flush=True)
            runs.append(run_engine(engine, Path(work)))
    text = markdown(machine, runs)
    print(text)
    args.out.with_suffix(".md").write_text(text, encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps({"machine": machine, "runs": runs},
                                                        indent=1, ensure_ascii=False),
                                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
