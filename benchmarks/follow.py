"""Following a run: what it costs the run, how soon another app shows it, how fast `talks
status` answers, and the app's first screen and idle memory with the watch running.

`python -m benchmarks.follow [--repeats 5]` writes benchmarks/follow.md and follow.json.

- the run's side: microseconds per event written beside the ledger, and bytes per chunk;
- a long run's events file (500 recordings of 24 chunks each, written by the real
  publisher): its size, the time to fold it in-process, and `talks status` on it;
- a real `talks --batch` on the demo (chunks of 10 s) followed by the app in a real
  terminal (tmux, 100×30): the app's first screen while the run goes, then for each chunk
  the delay between the run writing it and the app showing it (the screen read every
  0.1 s), the app's own memory and CPU while it follows;
- the app alone, idle: first screen and idle RSS as the suite measures them (targets
  < 1.5 s, ≤ 80 MB), and its CPU while idle.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from benchmarks import machine
from benchmarks.paths import BENCH_DIR, ROOT, WORK_DIR, child_env
from benchmarks.suite import FIRST_SCREEN_S, IDLE_RSS_MB, app_start
from pipeline.run.events import (
    BatchFinished,
    ChunkDone,
    ChunkPlanned,
    FileFiled,
    FileQueued,
    MemoryCheckpoint,
    SpeakerDecided,
    StageStarted,
)
from pipeline.run.publish import EVENTS_FILE, EventTail, RunPublisher
from tui.progress_model import LiveState

TALKS = Path(sys.executable).with_name("talks")
NOW_LINE = re.compile(r"\[\d+/\d+\] (.+?) — transcribing (\d+)/(\d+)")
WORDS = ("and so the bees went back to the hive where the queen waited for the "
         "summer to end ") * 40  # ~3 KB: the text of a 300 s chunk


def _talks(*args: str) -> list[str]:
    return [str(TALKS), *args] if TALKS.is_file() else [sys.executable, "-m", "tui.cli", *args]


# --- the run's side ---------------------------------------------------------------------------

def _one_file(name: str, chunks: int) -> list:
    out: list = [MemoryCheckpoint("file start", 60.0, 80.0), StageStarted(name, "probe"),
                 MemoryCheckpoint("after probe", 60.0, 80.0), StageStarted(name, "transcribe"),
                 MemoryCheckpoint("worker started", 40.0, 120.0),
                 ChunkPlanned(name, chunks, 0, chunks * 300.0)]
    for i in range(chunks):
        out += [ChunkDone(name, i, chunks, i * 300.0, i * 300.0 + 300, WORDS, 14.0),
                MemoryCheckpoint(f"chunk {i + 1}/{chunks}", 290.0, 350.0, 300.0)]
    out += [StageStarted(name, "identify"),
            SpeakerDecided(name, "match", "Sarah Lane", (("Sarah Lane", 0.91),)),
            StageStarted(name, "title"), StageStarted(name, "organize"),
            FileFiled(name, f"/out/{name}", (f"/out/{name}.txt",), "A Title", "Sarah Lane"),
            MemoryCheckpoint("file done", 60.0, 80.0)]
    return out


def run_side(folder: Path, files: int = 500, chunks: int = 24) -> dict:
    events = [FileQueued(f"talk {n}.mp3", n + 1, files) for n in range(files)]
    for n in range(files):
        events += _one_file(f"talk {n}.mp3", chunks)
    events.append(BatchFinished(files, 0, 0, 0, 3600.0))
    with RunPublisher(folder, "batch", None) as publisher:
        began = time.perf_counter()
        for event in events:
            publisher.emit(event)
        emit_s = time.perf_counter() - began
        run = publisher.status.run
    size = (folder / EVENTS_FILE).stat().st_size
    began = time.perf_counter()
    live = LiveState()
    for when, event in EventTail(folder, run).read() or []:
        live.apply(event, when)
    fold_s = time.perf_counter() - began
    return {"events": len(events), "emit_us_per_event": round(emit_s / len(events) * 1e6, 1),
            "bytes_per_chunk": round(size / (files * chunks)),
            "long_run": {"recordings": files, "chunks_each": chunks,
                         "events_file_mb": round(size / 2**20, 2),
                         "fold_s": round(fold_s, 3)}}


def status_time(config: Path, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        subprocess.run(_talks("--config", str(config), "status"), cwd=ROOT, env=child_env(),
                       check=True, capture_output=True)
        times.append(time.perf_counter() - began)
    return round(statistics.median(times), 3)


def long_run_status(repeats: int) -> dict:
    with tempfile.TemporaryDirectory(dir=WORK_DIR) as tmp:
        home = Path(tmp)
        (home / "inbox").mkdir()
        config = home / "config.toml"
        config.write_text('[input]\nfolders = ["inbox"]\n[output]\nroot = "out"\n'
                          '[logging]\nfile = "out/talks.log"\n', encoding="utf-8")
        side = run_side(home / "out" / ".talks")
        side["long_run"]["talks_status_s"] = status_time(config, repeats)
    return side


# --- a real batch, followed by the app in a real terminal ---------------------------------------

class Tmux:
    def __init__(self, name: str) -> None:
        self.socket = f"talks-bench-{name}"

    def __call__(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, timeout=30).stdout

    def start(self, command: str) -> None:
        self("new-session", "-d", "-s", "b", "-x", "100", "-y", "30", "-c", str(ROOT),
             f"env TERM=xterm-256color HF_HUB_OFFLINE=1 {command}; sleep 30")

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "b")

    def stop(self) -> None:
        self("kill-server")


def demo_home(home: Path) -> Path:
    shutil.copytree(ROOT / "demo" / "inbox", home / "inbox")
    config = home / "config.toml"
    config.write_text(
        '[input]\nfolders = ["inbox"]\nsettle_seconds = 0.5\n[output]\nroot = "out"\n'
        f'[speakers]\nfolder = "{ROOT / "demo" / "speakers"}"\n'
        '[transcription]\nchunk_seconds = 10\n[logging]\nfile = "out/talks.log"\n',
        encoding="utf-8")
    return config


def followed_batch(repeats: int) -> dict:
    with tempfile.TemporaryDirectory(dir=WORK_DIR) as tmp:
        home = Path(tmp)
        config = demo_home(home)
        folder = home / "out" / ".talks"
        batch = subprocess.Popen(_talks("--config", str(config), "--batch"), cwd=ROOT,
                                 env=child_env(), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        app = Tmux("follow")
        seen: dict[tuple[str, int], float] = {}
        own_mb, cpu = 0.0, 0.0
        try:
            deadline = time.monotonic() + 120
            while not (folder / "run.json").exists():
                assert time.monotonic() < deadline, "the batch never started"
                time.sleep(0.05)
            began = time.monotonic()
            app.start(" ".join(_talks("--config", f"'{config}'")))
            first_screen = None
            while "queue running (batch" not in (screen := app.screen()):
                if first_screen is None and re.search(r"\d+ recordings", screen):
                    first_screen = time.monotonic() - began
                assert time.monotonic() - began < 60, screen
                time.sleep(0.02)
            run_shown = time.monotonic() - began
            first_screen = first_screen or run_shown
            pid = next(p.pid for p in psutil.process_iter(["cmdline"])
                       if p.info["cmdline"] and "--batch" not in p.info["cmdline"]
                       and str(config) in p.info["cmdline"])
            proc = psutil.Process(pid)
            cpu_before = sum(proc.cpu_times()[:2])
            watched_from = time.monotonic()
            while batch.poll() is None:
                for name, done, _total in NOW_LINE.findall(app.screen()):
                    seen.setdefault((name, int(done)), time.time())
                own_mb = max(own_mb, proc.memory_info().rss / 2**20)
                time.sleep(0.1)
            cpu = (sum(proc.cpu_times()[:2]) - cpu_before) / (time.monotonic() - watched_from)
        finally:
            app.stop()
            batch.wait()
        written: dict[tuple[str, int], float] = {}
        for line in (folder / EVENTS_FILE).read_text(encoding="utf-8").splitlines()[1:]:
            item = json.loads(line)
            if item["type"] == "ChunkDone":
                written[(item["file"], item["index"] + 1)] = item["t"]
        delays = sorted(seen[k] - written[k] for k in seen if k in written and k[1] > 0)
        return {"first_screen_while_a_run_goes_s": round(first_screen, 3),
                "run_shown_s": round(run_shown, 3),
                "chunks_seen": len(delays),
                "delay_median_s": round(statistics.median(delays), 3) if delays else None,
                "delay_max_s": round(max(delays), 3) if delays else None,
                "app_rss_following_mb": round(own_mb, 1),
                "app_cpu_following_pct": round(cpu * 100, 1),
                "talks_status_s": status_time(config, repeats)}


def idle_cpu(seconds: float = 20.0) -> float:
    with tempfile.TemporaryDirectory(dir=WORK_DIR) as tmp:
        config = demo_home(Path(tmp))
        app = Tmux("idle")
        try:
            app.start(" ".join(_talks("--config", f"'{config}'")))
            deadline = time.monotonic() + 60
            while "recordings" not in app.screen():
                assert time.monotonic() < deadline, app.screen()
                time.sleep(0.1)
            time.sleep(8)  # the lengths of new recordings are probed first
            pid = next(p.pid for p in psutil.process_iter(["cmdline"])
                       if p.info["cmdline"] and str(config) in p.info["cmdline"])
            proc = psutil.Process(pid)
            before = sum(proc.cpu_times()[:2])
            time.sleep(seconds)
            return round((sum(proc.cpu_times()[:2]) - before) / seconds * 100, 2)
        finally:
            app.stop()


def render(results: dict) -> str:
    side, live, app = results["run_side"], results["followed_batch"], results["app"]
    m = results["machine"]
    long = side["long_run"]
    rows = [
        ("app first screen (nothing running)", f"{app['first_screen_s']:.2f} s",
         f"< {FIRST_SCREEN_S} s", app["first_screen_s"] < FIRST_SCREEN_S),
        ("app idle RSS, with its children", f"{app['idle_tree_mb']:.0f} MB",
         f"≤ {IDLE_RSS_MB:g} MB", app["idle_tree_mb"] <= IDLE_RSS_MB),
        ("app idle CPU (the watch of the run files included)", f"{results['idle_cpu_pct']}%",
         "", None),
        ("app first screen, then the run shown, while a batch transcribes on the same cores",
         f"{live['first_screen_while_a_run_goes_s']:.2f} s, {live['run_shown_s']:.2f} s", "",
         None),
        ("chunk written by the batch → shown by the app (median, max)",
         f"{live['delay_median_s']} s, {live['delay_max_s']} s "
         f"({live['chunks_seen']} chunks)", "", None),
        ("the following app's RSS, CPU", f"{live['app_rss_following_mb']:.0f} MB, "
         f"{live['app_cpu_following_pct']}%", "", None),
        ("`talks status` (demo, after the run)", f"{live['talks_status_s']:.2f} s", "", None),
        ("the run: writing one event beside the ledger", f"{side['emit_us_per_event']} µs",
         "", None),
        ("the run: bytes written per chunk (its event and checkpoint)",
         f"{side['bytes_per_chunk']} B", "", None),
        (f"a run of {long['recordings']} recordings × {long['chunks_each']} chunks: events "
         "file, fold, `talks status`",
         f"{long['events_file_mb']} MB, {long['fold_s']:.2f} s, {long['talks_status_s']:.2f} s",
         "", None),
    ]
    lines = ["# Following a run (benchmarks/follow.py)", "",
             f"{m['cpu']} ({m['cpu_count']} cores), {m['os']}, {m['date']}, load at start "
             f"{m['load_average_at_start']}", "",
             "| what | measured | target | |", "|---|---|---|---|"]
    for what, value, target, ok in rows:
        verdict = "" if ok is None else ("met" if ok else "MISSED")
        lines.append(f"| {what} | {value} | {target} | {verdict} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    results = {"machine": machine.describe(),
               "app": app_start(args.repeats), "idle_cpu_pct": idle_cpu(),
               "followed_batch": followed_batch(args.repeats),
               "run_side": long_run_status(args.repeats)}
    (BENCH_DIR / "follow.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    text = render(results)
    (BENCH_DIR / "follow.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
