"""What a transcription worker holds, per engine, model and precision
(`python -m benchmarks.engine_memory`): writes benchmarks/engine_memory.md and .json.

Each case runs in a fresh process, as the worker does: the engine is created from the config's
names, loaded, and given 20 s of real speech (pyannote's sample: two people on a phone line).
Measured: RSS after loading, the process's peak RSS (the kernel's high-water mark) after the
window, and for mlx its own counters (active and peak memory, cache) — on Apple silicon those
arrays live in unified memory that Metal allocates, which RSS may not show; the physical
footprint does (pipeline/run/memory.py reads it on macOS). On this machine mlx runs on the CPU
(mlx-cpu), where its arrays are ordinary heap memory and RSS shows them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import machine
from benchmarks.paths import BENCH_DIR, ROOT, child_env

SPEECH = ROOT / "tests" / "data" / "real" / "pyannote" / "sample.wav"
CLIP_S = 20.0
CASES = [("faster-whisper", "tiny.en", "int8"), ("faster-whisper", "base", "int8"),
         ("mlx", "tiny.en", "float32"), ("mlx", "tiny.en", "float16"),
         ("mlx", "base", "float32"), ("mlx", "base", "float16")]

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
engine_name, model, precision, cache, speech, clip_s = sys.argv[1:7]

def rss_mb():
    return int(open('/proc/self/statm').read().split()[1]) * 4096 / 1e6

from common.media import decode_range
from pipeline.asr import create_engine
pcm = decode_range(Path(speech), 0.0, float(clip_s))
base = rss_mb()
engine = create_engine(engine_name, model, Path(cache), False, "en", 2, precision, 1)
t0 = time.perf_counter()
engine.load()
loaded = rss_mb()
load_s = time.perf_counter() - t0
t0 = time.perf_counter()
segments = engine.transcribe(pcm, 0.0)
work_s = time.perf_counter() - t0
out = {"before_load_mb": base, "loaded_mb": loaded, "after_mb": rss_mb(),
       "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6,
       "load_s": load_s, "transcribe_s": work_s,
       "text": " ".join(s.text.strip() for s in segments)}
device = engine.device_memory() if hasattr(engine, "device_memory") else None
if device:
    out["device"] = device
print("RESULT " + json.dumps(out))
"""


def measure(engine: str, model: str, precision: str, cache: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", _CHILD, engine, model, precision, str(cache),
                           str(SPEECH), str(CLIP_S)], cwd=ROOT, env=child_env(),
                          capture_output=True, text=True, timeout=3600)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"{engine} {model} {precision} failed:\n{proc.stderr[-2000:]}")
    return {"engine": engine, "model": model, "precision": precision,
            **json.loads(line[len("RESULT "):])}


def render(facts: dict, rows: list[dict]) -> str:
    lines = ["# What a transcription worker holds, per engine, model and precision", "",
             f"`python -m benchmarks.engine_memory` on {facts['cpu']} "
             f"({facts['cpu_count']} cores), "
             f"{CLIP_S:g} s of real speech (pyannote's sample). One fresh process per case; "
             "MB are 10^6 bytes; peak RSS is the kernel's high-water mark; mlx active and peak are "
             "mlx's own counters (MiB); transcription "
             "times were taken while other work shared the machine.", "",
             "| engine | model | precision | RSS loaded | peak RSS | mlx active | mlx peak | "
             "load s | transcribe s |", "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    def mb(value: float | None) -> str:
        return "–" if value is None else f"{value:.0f}"

    for r in rows:
        device = r.get("device") or {}
        lines.append(f"| {r['engine']} | {r['model']} | {r['precision']} | "
                     f"{r['loaded_mb']:.0f} | {r['peak_mb']:.0f} | "
                     f"{mb(device.get('mlx active'))} | "
                     f"{mb(device.get('mlx peak'))} | {r['load_s']:.1f} | "
                     f"{r['transcribe_s']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", help="engine:model:precision,… (default: all six)")
    parser.add_argument("--render", action="store_true", help="engine_memory.md again from "
                        "engine_memory.json, measuring nothing")
    args = parser.parse_args(argv)
    if args.render:
        saved = json.loads((BENCH_DIR / "engine_memory.json").read_text())
        (BENCH_DIR / "engine_memory.md").write_text(render(saved["machine"], saved["rows"]))
        return 0
    cases = [tuple(c.split(":")) for c in args.cases.split(",")] if args.cases else CASES
    facts = machine.describe()
    rows = []
    with tempfile.TemporaryDirectory(prefix="engine-memory-") as cache:
        for engine, model, precision in cases:
            row = measure(engine, model, precision, Path(cache))
            print(f"{engine} {model} {precision}: loaded {row['loaded_mb']:.0f} MB, peak "
                  f"{row['peak_mb']:.0f} MB, device {row.get('device')}", flush=True)
            rows.append(row)
    (BENCH_DIR / "engine_memory.json").write_text(json.dumps({"machine": facts, "rows": rows},
                                                             indent=2) + "\n")
    (BENCH_DIR / "engine_memory.md").write_text(render(facts, rows), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
