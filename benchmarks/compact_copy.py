"""What a compact filed copy saves, and what it costs to make.

Two 10-minute talks like the ones users keep — a lecture with short pauses and a sermon with
long ones — as 44.1 kHz stereo mp3 at 128 kbit/s, and pyannote's real phone recording
(16 kHz wav), each filed with `[output] filed_audio = "compact"`: seconds and bytes before
and after, and the time the organize stage took (encoding the copy), against the time with
the original filed as it is. Also the VAD worker's time for a talk whose speech the ledger
does not have yet (the mlx engine).

    python -m benchmarks.compact_copy [--minutes 10]   → benchmarks/compact_copy.md / .json
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from pipeline.config.settings import load_config
from pipeline.ledger import Ledger
from pipeline.run.events import CompactMade, StageStarted
from pipeline.run.file_flow import process_file
from tests.support.speech import make_long_talk

HERE = Path(__file__).resolve().parent
REAL = HERE.parent / "tests" / "data" / "real" / "pyannote" / "sample.wav"


def config_at(home: Path, filed_audio: str):
    path = home / "config.toml"
    path.write_text(f'[input]\nfolders = ["inbox"]\nmin_duration_s = 1.0\n[output]\n'
                    f'root = "out"\nfiled_audio = "{filed_audio}"\n[speakers]\n'
                    f'folder = "library"\n[logging]\nfile = "out/talks.log"\n', encoding="utf-8")
    return load_config(path)


def organize_seconds(events: list) -> float:
    starts = [(t, e) for t, e in events if isinstance(e, StageStarted)]
    organize = next(t for t, e in starts if e.stage == "organize")
    return events[-1][0] - organize


def file_once(recording: Path, home: Path, filed_audio: str) -> tuple[list, float]:
    (home / "inbox").mkdir(parents=True, exist_ok=True)
    rec = home / "inbox" / recording.name
    shutil.copy2(recording, rec)
    events: list = []
    outcome = process_file(rec, config_at(home, filed_audio),
                           lambda e: events.append((time.monotonic(), e)))
    assert outcome.status == "filed", outcome
    return events, organize_seconds(events)


def measure(recording: Path, work: Path) -> dict:
    events, compact_s = file_once(recording, work / "compact", "compact")
    made = next(e for _, e in events if isinstance(e, CompactMade))
    _, original_s = file_once(recording, work / "original", "original")
    # The same talk again with the ledger's speech forgotten: the VAD worker finds it.
    config = config_at(work / "compact", "compact")
    with Ledger(config.output.ledger_path) as ledger:
        row = ledger.all_files()[0]
        ledger.db.execute("UPDATE chunks SET speech = NULL")
        ledger.db.execute("UPDATE files SET state = 'titled' WHERE id = ?", (row.id,))
        Path(row.destination).unlink()
    events2: list = []
    process_file(work / "compact" / "inbox" / recording.name, config,
                 lambda e: events2.append((time.monotonic(), e)))
    return {"recording": recording.name,
            "original_seconds": made.original_seconds, "compact_seconds": made.compact_seconds,
            "seconds_saved": made.seconds_saved,
            "original_bytes": made.original_bytes, "compact_bytes": made.compact_bytes,
            "bytes_saved": made.bytes_saved,
            "organize_compact_s": round(compact_s, 2),
            "organize_original_s": round(original_s, 2),
            "organize_with_vad_worker_s": round(organize_seconds(events2), 2)}


def as_user_recording(src: Path, target: Path) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-ar", "44100", "-ac", "2",
                    "-b:a", "128k", str(target)], check=True)
    return target


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, pause in (("lecture", 1.2), ("sermon", 4.0)):
            raw = work / f"{name}-raw.wav"
            make_long_talk(raw, args.minutes * 60, pause_s=pause, seed=3)
            rec = as_user_recording(raw, work / f"{name}.mp3")
            results.append({"pause_s": pause, **measure(rec, work / name)})
        if REAL.is_file():
            results.append({"pause_s": None, **measure(REAL, work / "real")})
    (HERE / "compact_copy.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["# Compact filed copies", "",
             f"`python -m benchmarks.compact_copy --minutes {args.minutes:g}` "
             "(2-core Linux box, tiny.en, chunk 300 s).", "",
             "| recording | pauses | seconds: original → compact (saved) | bytes: original → "
             "compact (saved) | organize: original / compact / compact + VAD worker |",
             "|---|---|---|---|---|"]
    for r in results:
        pause = f"{r['pause_s']} s" if r["pause_s"] else "real speech"
        lines.append(
            f"| {r['recording']} | {pause} | {r['original_seconds']:.1f} → "
            f"{r['compact_seconds']:.1f} ({r['seconds_saved']:.1f}, "
            f"{r['seconds_saved'] / r['original_seconds']:.0%}) | {r['original_bytes']:,} → "
            f"{r['compact_bytes']:,} ({r['bytes_saved'] / r['original_bytes']:.0%}) | "
            f"{r['organize_original_s']} s / {r['organize_compact_s']} s / "
            f"{r['organize_with_vad_worker_s']} s |")
    (HERE / "compact_copy.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
