"""The memory and speed suite (`make bench`): writes benchmarks/results.md and results.json.

`python -m benchmarks.suite [--quick] [--minutes 10,30,60,120] [--files 20]`

On talks of each length (espeak-ng speech with pauses and a music-like bed), side by side:
- the raw engine given the whole file (benchmarks/engine_whole.py): its transcription time,
  its peak RSS, its WER;
- the real program (`talks --batch`, chunk_seconds 300, with a small speaker library so the
  speaker stage runs): RSS of the whole process tree sampled at ~100 Hz and put under the
  stage the batch printer named (probe, transcription, speaker, title, filing), its
  transcription time (the ledger's per-chunk seconds), end-to-end wall time and WER.
Then: the long-lived process before and after each of 20 consecutive files (the runner's own
memory checkpoints), `talks --help`, and the app's time to first screen and idle RSS in a
pseudo-terminal. Each target of issue 5 gets a verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import machine
from benchmarks.chunk_sizes import warm_up
from benchmarks.engine_variant import run_whole_file
from benchmarks.measure import Measurement, VariantFailed, check
from benchmarks.paths import BENCH_DIR, ROOT, WORK_DIR, child_env
from benchmarks.pipeline_variant import RUNS_DIR, run_pipeline, write_config
from benchmarks.procs import run_sampled
from benchmarks.recordings import Recording, long_talk, with_music
from benchmarks.tui_start import first_screen

LIBRARY_DIR = WORK_DIR / "library"
CHUNK_SECONDS = 300.0
MODEL, THREADS = "tiny.en", 2
_MEMORY_LINE = re.compile(r"memory file (start|done): rss ([\d.]+) MB, tree ([\d.]+) MB")
# Written by each transcription worker as it ends: its own kernel high-water mark.
_WORKER_END = re.compile(r"memory model unloaded: .*process peak ([\d.]+) MB")

# Issue 5's targets (tiny.en int8, the default speaker backend, this 2-core machine).
TREE_PEAK_60_MIN_MB = 450.0
PEAK_GROWTH = 0.10
LONG_LIVED_GROWTH_MB = 30.0
TRANSCRIBE_RATIO = 1.10
END_TO_END_RATIO = 1.30
HELP_S, FIRST_SCREEN_S, IDLE_RSS_MB = 0.3, 1.5, 80.0

# The stage names of the batch printer, as the pipeline variant records them.
STAGES = {"probe": ("probe",), "transcription": ("transcribe: start + plan",
                                                 "transcribe: load + chunks"),
          "speaker": ("identify",), "title": ("title",), "filing": ("organize", "exit")}


def speaker_library() -> Path:
    """Four flite voices, two clips each (made once, kept in work/)."""
    done = LIBRARY_DIR / ".complete"
    if not done.is_file():
        from benchmarks.speaker_stage import make_library

        shutil.rmtree(LIBRARY_DIR, ignore_errors=True)
        make_library(LIBRARY_DIR)
        done.touch()
    return LIBRARY_DIR


def stage_peaks(m: Measurement) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for stage, phases in STAGES.items():
        seen = [m.phase_peaks_mb[p] for p in phases if p in m.phase_peaks_mb]
        out[stage] = round(max(seen), 1) if seen else None
    return out


def worker_peaks(minutes: float) -> list[float]:
    """The kernel's peak RSS of each transcription worker of a talk's run, in order."""
    log = RUNS_DIR / f"suite-{minutes:g}min" / "talks.log"
    return [float(x) for x in _WORKER_END.findall(log.read_text(encoding="utf-8"))]


def one_length(minutes: float, library: Path, engine_first: bool) -> dict:
    recording = with_music(long_talk(minutes * 60))
    print(f"{minutes:g} min: {recording.audio.name} ({recording.seconds:.0f} s)", flush=True)

    def engine() -> Measurement:
        return run_whole_file(recording, threads=THREADS, model=MODEL)

    def program() -> Measurement:
        return run_pipeline(recording, CHUNK_SECONDS, threads=THREADS, model=MODEL,
                            speakers=library, name=f"suite-{minutes:g}min")

    # Alternate which goes first, so neither always meets the same stretch of other work.
    order = (engine, program) if engine_first else (program, engine)
    done = {}
    for run in order:
        m = run()
        done[m.name] = m
        print(f"  {m.name}: wall {m.wall_s:.1f} s, transcribe {m.transcribe_s:.1f} s, "
              f"tree peak {m.peak_tree_mb:.0f} MB", flush=True)
    raw, ours = done["whole-file"], done[f"suite-{minutes:g}min"]
    return {
        "minutes": minutes, "audio_s": round(recording.seconds, 1),
        "reference_words": ours.words.reference_words if ours.words else None,
        "raw": {"wall_s": round(raw.wall_s, 1), "transcribe_s": round(raw.transcribe_s, 1),
                "peak_tree_mb": round(raw.peak_tree_mb, 1),
                "wer": round(raw.words.wer, 4) if raw.words else None},
        "program": {"wall_s": round(ours.wall_s, 1),
                    "transcribe_s": round(ours.transcribe_s, 1),
                    "peak_tree_mb": round(ours.peak_tree_mb, 1),
                    "largest_process_mb": round(ours.largest_process_mb, 1),
                    "kernel_max_process_mb": ours.kernel_max_process_mb,
                    "samples_hz": round(ours.samples_hz),
                    "stage_peaks_mb": stage_peaks(ours),
                    "phase_seconds": {k: round(v, 1) for k, v in ours.phase_seconds.items()},
                    "chunks": ours.extra.get("chunks"),
                    "worker_peaks_mb": worker_peaks(minutes),
                    "wer": round(ours.words.wer, 4) if ours.words else None},
        "transcribe_ratio": round(ours.transcribe_s / raw.transcribe_s, 3),
        "end_to_end_ratio": round(ours.wall_s / raw.transcribe_s, 3),
    }


def _short_files(source: Recording, count: int, seconds: float, inbox: Path) -> None:
    """`count` different pieces of one talk, so the ledger sees `count` different files."""
    inbox.mkdir(parents=True)
    step = max(seconds, (source.seconds - seconds) / count)
    for i in range(count):
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-ss", f"{i * step:.2f}",
                        "-t", f"{seconds:g}", "-i", str(source.audio), "-c", "copy",
                        str(inbox / f"talk-{i + 1:02d}.mp3")], check=True)


def consecutive_files(count: int, library: Path, seconds: float = 20.0) -> dict:
    """One batch of `count` files; the runner logs the main process's RSS at the start and
    the end of every file."""
    run_dir = RUNS_DIR / f"consecutive-{count}"
    shutil.rmtree(run_dir, ignore_errors=True)
    _short_files(long_talk(600), count, seconds, run_dir / "inbox")
    config = write_config(run_dir, CHUNK_SECONDS, THREADS, MODEL, library)
    cmd = [sys.executable, "-m", "tui.cli", "--batch", "--json", "--config", str(config)]
    run = run_sampled(cmd, cwd=ROOT, env=child_env())
    check(run, "talks --batch (consecutive files)")
    summary = json.loads(run.stdout)
    if summary.get("filed") != count:
        raise VariantFailed(f"talks filed {summary.get('filed')} of {count} files: {summary}")
    found = _MEMORY_LINE.findall((run_dir / "talks.log").read_text(encoding="utf-8"))
    starts = [float(rss) for kind, rss, _tree in found if kind == "start"]
    dones = [float(rss) for kind, rss, _tree in found if kind == "done"]
    if len(starts) != count or len(dones) != count:
        raise VariantFailed(f"expected {count} memory checkpoints of each kind in the log, "
                            f"found {len(starts)} start and {len(dones)} done")
    return {"files": count, "seconds_each": seconds, "baseline_mb": starts[0],
            "rss_before_mb": starts, "rss_after_mb": dones,
            "largest_growth_mb": round(max(dones) - starts[0], 1),
            "peak_tree_mb": round(run.memory.peak_mb, 1), "wall_s": round(run.wall_s, 1)}


def help_seconds(repeats: int = 9) -> float:
    talks = Path(sys.executable).with_name("talks")
    cmd = [str(talks)] if talks.is_file() else [sys.executable, "-m", "tui.cli"]
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        subprocess.run([*cmd, "--help"], cwd=ROOT, env=child_env(), check=True,
                       capture_output=True)
        times.append(time.perf_counter() - began)
    return round(statistics.median(times), 3)


def app_start(repeats: int) -> dict:
    """The app on a copy of the demo inbox, in an 80×24 pseudo-terminal."""
    run_dir = RUNS_DIR / "app"
    shutil.rmtree(run_dir, ignore_errors=True)
    shutil.copytree(ROOT / "demo" / "inbox", run_dir / "inbox")
    config = write_config(run_dir, CHUNK_SECONDS, THREADS, MODEL, ROOT / "demo" / "speakers")
    runs = [first_screen(config) for _ in range(repeats)]
    return {"repeats": repeats,
            "first_screen_s": round(statistics.median(r.first_screen_s for r in runs), 3),
            "first_screen_all_s": [round(r.first_screen_s, 3) for r in runs],
            "idle_tree_mb": round(max(r.idle_tree_mb for r in runs), 1),
            "idle_rss_mb": round(max(r.idle_rss_mb for r in runs), 1),
            "settling_tree_mb": round(max(r.settling_tree_mb for r in runs), 1)}


def verdicts(results: dict) -> list[tuple[str, str, bool]]:
    lengths = results["lengths"]
    out = []
    sixty = next((x for x in lengths if x["minutes"] == 60), None)
    if sixty:
        peak = sixty["program"]["peak_tree_mb"]
        out.append((f"peak RSS of the process tree, 60-min talk ≤ {TREE_PEAK_60_MIN_MB:g} MB",
                    f"{peak:.0f} MB", peak <= TREE_PEAK_60_MIN_MB))
    if len(lengths) > 1:
        first, last = lengths[0]["program"]["peak_tree_mb"], lengths[-1]["program"]["peak_tree_mb"]
        growth = last / first - 1
        out.append((f"peak RSS growth from {lengths[0]['minutes']:g} to "
                    f"{lengths[-1]['minutes']:g} min ≤ {PEAK_GROWTH:.0%}",
                    f"{first:.0f} → {last:.0f} MB ({growth:+.1%})", growth <= PEAK_GROWTH))
    cons = results["consecutive"]
    out.append((f"long-lived process after each of {cons['files']} files ≤ baseline + "
                f"{LONG_LIVED_GROWTH_MB:g} MB",
                f"baseline {cons['baseline_mb']:.0f} MB, largest +{cons['largest_growth_mb']} MB",
                cons["largest_growth_mb"] <= LONG_LIVED_GROWTH_MB))
    # Over all lengths together: each length's ratio is in the table; the sum weighs them
    # by their length, as the user's hours of talks would.
    raw = sum(x["raw"]["transcribe_s"] for x in lengths)
    ours = sum(x["program"]["transcribe_s"] for x in lengths)
    wall = sum(x["program"]["wall_s"] for x in lengths)
    spread = ", ".join(f"{x['transcribe_ratio']:.2f}" for x in lengths)
    out.append((f"transcription, chunked vs raw whole file ≤ {TRANSCRIBE_RATIO:.2f}×",
                f"{ours / raw:.2f}× over all talks (each: {spread})",
                ours / raw <= TRANSCRIBE_RATIO))
    spread = ", ".join(f"{x['end_to_end_ratio']:.2f}" for x in lengths)
    out.append((f"end to end vs raw transcription ≤ {END_TO_END_RATIO:.2f}×",
                f"{wall / raw:.2f}× over all talks (each: {spread})",
                wall / raw <= END_TO_END_RATIO))
    # Accuracy must not drop: the word errors of all talks together, chunked vs whole file.
    words = sum(x.get("reference_words") or 0 for x in lengths)
    if words:
        def pooled(side: str) -> float:
            return sum(x[side]["wer"] * (x["reference_words"] or 0) for x in lengths) / words
        ours_wer, raw_wer = pooled("program"), pooled("raw")
        spread = ", ".join(f"{100 * x['program']['wer']:.1f} vs {100 * x['raw']['wer']:.1f}"
                           for x in lengths)
        out.append(("WER, chunked vs raw whole file, all talks' words together: no higher "
                    "than raw + 1 point", f"{100 * ours_wer:.1f} % vs {100 * raw_wer:.1f} % "
                    f"(each: {spread})", ours_wer <= raw_wer + 0.01))
    app = results["app"]
    out.append((f"`talks --help` < {HELP_S} s", f"{results['help_s']:.3f} s",
                results["help_s"] < HELP_S))
    out.append((f"app first screen < {FIRST_SCREEN_S} s", f"{app['first_screen_s']:.2f} s",
                app["first_screen_s"] < FIRST_SCREEN_S))
    out.append((f"app idle RSS ≤ {IDLE_RSS_MB:g} MB",
                f"{app['idle_tree_mb']:.0f} MB (process tree)",
                app["idle_tree_mb"] <= IDLE_RSS_MB))
    return out


def render(facts: dict, results: dict) -> str:
    lengths, cons, app = results["lengths"], results["consecutive"], results["app"]
    minutes = ", ".join(f"{x['minutes']:g}" for x in lengths)
    lines = [
        "# talks: memory and speed", "",
        "Made by `make bench` (`python -m benchmarks.suite`); every number comes from this one "
        "run, side by side. Timings are ratios: the machine is shared and noisy.", "",
        "## Machine", "",
        *(f"- {k.replace('_', ' ')}: {v}" for k, v in facts.items()), "",
        "## Settings", "",
        f"- talks: espeak-ng speech with pauses and a music-like bed (a soft chord, 30 s of "
        f"every 90 s), mp3; lengths {minutes} min",
        f"- model {MODEL}, int8, {THREADS} threads, beam 1, best_of 1; chunk_seconds "
        f"{CHUNK_SECONDS:g}, a fresh worker process every 4 chunks (config.toml's defaults); "
        "speaker backend resemblyzer, 4 people × 2 clips, 5 samples × 20 s",
        "- raw engine: faster-whisper given the whole decoded file at once, same options",
        "- RSS of the whole process tree sampled at ~100 Hz; each sample is put under the "
        "stage the batch printer had named last", "",
        "## Targets", "", "| target | measured | verdict |", "|---|---|---|",
        *(f"| {t} | {m} | {'met' if ok else 'NOT met'} |" for t, m, ok in results["verdicts"]),
        "", "## Talks of each length", "",
        "| talk | raw: transcribe s | raw: peak MB | raw: WER % | talks: transcribe s | "
        "talks: wall s | talks: peak tree MB | talks: WER % | transcribe ratio | "
        "end-to-end ratio |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for x in lengths:
        raw, ours = x["raw"], x["program"]
        lines.append(
            f"| {x['minutes']:g} min | {raw['transcribe_s']:.1f} | {raw['peak_tree_mb']:.0f} | "
            f"{100 * raw['wer']:.1f} | {ours['transcribe_s']:.1f} | {ours['wall_s']:.1f} | "
            f"{ours['peak_tree_mb']:.0f} | {100 * ours['wer']:.1f} | "
            f"{x['transcribe_ratio']:.2f} | {x['end_to_end_ratio']:.2f} |")
    lines += ["", "- transcribe s: decoding + transcribing, no start-up or model load (talks: "
              "the ledger's per-chunk seconds; raw: the same span).",
              "- end-to-end ratio: the whole `talks --batch` run (start-up, probe, model load, "
              "chunks, speaker stage, title, filing) ÷ the raw engine's transcription time.",
              "", "## Peak RSS of the process tree by stage (MB)", "",
              "| talk | " + " | ".join(STAGES) + " | largest process (sampled / kernel) |",
              "|---|" + "---:|" * (len(STAGES) + 1)]
    for x in lengths:
        ours = x["program"]
        cells = [f"{v:.0f}" if v is not None else "–" for v in ours["stage_peaks_mb"].values()]
        kernel = ours["kernel_max_process_mb"]
        kernel_text = f"{kernel:.0f}" if kernel else "–"
        lines.append(f"| {x['minutes']:g} min | " + " | ".join(cells) +
                     f" | {ours['largest_process_mb']:.0f} / {kernel_text} |")
    lines += ["", "Each transcription worker's own peak (the kernel's high-water mark, from the "
              "memory log; a worker does 4 chunks, then a fresh one takes over). The spread "
              "among the workers of one talk is chunk-to-chunk variance, not length: a longer "
              "talk has more workers, so its highest one is likelier to be high.", "",
              "| talk | workers | peaks MB |", "|---|---:|---|"]
    for x in lengths:
        peaks = x["program"].get("worker_peaks_mb") or []
        lines.append(f"| {x['minutes']:g} min | {len(peaks)} | "
                     f"{', '.join(f'{p:.0f}' for p in peaks) or '–'} |")
    lines += ["", f"## The long-lived process over {cons['files']} consecutive files", "",
              f"{cons['files']} different {cons['seconds_each']:g} s recordings in one "
              f"`talks --batch` ({cons['wall_s']} s; tree peak {cons['peak_tree_mb']} MB). "
              "RSS of the batch process itself, from its memory log:", "",
              "| file | before MB | after MB |", "|---:|---:|---:|",
              *(f"| {i} | {b:.1f} | {a:.1f} |" for i, (b, a) in
                enumerate(zip(cons["rss_before_mb"], cons["rss_after_mb"], strict=True), 1)),
              "", "## Start-up", "",
              f"- `talks --help`: {results['help_s']:.3f} s (median of 9)",
              f"- the app, in an 80×24 pseudo-terminal on the demo inbox: first screen with the "
              f"recordings listed in {app['first_screen_s']:.2f} s (median of {app['repeats']}: "
              f"{', '.join(f'{s:.2f}' for s in app['first_screen_all_s'])}); idle (5 s after the "
              f"first screen, sampled for 5 s): {app['idle_rss_mb']:.0f} MB RSS, "
              f"{app['idle_tree_mb']:.0f} MB with its children (multiprocessing's resource "
              f"tracker); while it settled (ffprobe reading each length): "
              f"{app['settling_tree_mb']:.0f} MB at most over the runs", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.suite", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="2- and 4-minute talks, 5 files; results under benchmarks/work/")
    parser.add_argument("--minutes", default="10,30,60,120",
                        help="talk lengths in minutes (default 10,30,60,120)")
    parser.add_argument("--files", type=int, default=20, help="consecutive files (default 20)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--render", action="store_true",
                        help="write results.md again from results.json and the run logs, "
                             "measuring nothing")
    args = parser.parse_args(argv)
    if args.render:
        out = args.out or (WORK_DIR if args.quick else BENCH_DIR)
        saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
        facts = saved.pop("machine")
        for x in saved["lengths"]:
            x["program"]["worker_peaks_mb"] = worker_peaks(x["minutes"])
        saved["verdicts"] = verdicts(saved)
        _write(out, facts, saved)
        return 0 if all(ok for _t, _m, ok in saved["verdicts"]) else 1
    minutes = [2.0, 4.0] if args.quick else [float(m) for m in args.minutes.split(",")]
    files = 5 if args.quick else args.files
    out = args.out or (WORK_DIR if args.quick else BENCH_DIR)
    os.environ["HF_HUB_OFFLINE"] = "1"
    began = time.monotonic()
    facts = machine.describe()
    warm_up()
    library = speaker_library()
    results: dict = {"lengths": []}
    for index, length in enumerate(minutes):
        results["lengths"].append(one_length(length, library, engine_first=index % 2 == 0))
    print(f"{files} consecutive files…", flush=True)
    results["consecutive"] = consecutive_files(files, library)
    results["help_s"] = help_seconds()
    print("the app's first screen…", flush=True)
    results["app"] = app_start(repeats=3 if args.quick else 5)
    results["verdicts"] = verdicts(results)
    facts["load_average_at_end"] = machine.load_average()
    facts["benchmark_seconds"] = round(time.monotonic() - began, 1)
    _write(out, facts, results)
    return 0 if all(ok for _t, _m, ok in results["verdicts"]) else 1


def _write(out: Path, facts: dict, results: dict) -> None:
    text = render(facts, results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text(text, encoding="utf-8")
    (out / "results.json").write_text(
        json.dumps({"machine": facts, **results}, indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8")
    print(text)


if __name__ == "__main__":
    sys.exit(main())
