"""End to end: the real `talks` in a real terminal (tmux, 100×30) on a copy of the demo.

Start the queue with `s`, wait until a talk is filed, read the screen, quit with `q` while the
next file is in progress, and check the ledger: talks filed, nothing failed, the interrupted
file resumable. A second start files the rest. The bytes the app writes to the terminal are
counted on the way (tmux pipe-pane), to say what it costs over a slow link.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.ledger import Ledger
from tests.support.paths import ROOT  # noqa: E402

pytestmark = [pytest.mark.tmux, pytest.mark.models]

SIZE = (100, 30)
STAMP = """\
import sys, time
with open(sys.argv[1], "w") as out:
    while data := sys.stdin.buffer.raw.read(65536):
        out.write(f"{time.monotonic():.3f} {len(data)}\\n")
        out.flush()
"""


def test_tmux_is_installed() -> None:
    assert shutil.which("tmux"), "tmux drives the end-to-end test: `make test` installs it"


class Terminal:
    opened = 0

    def __init__(self, home: Path, config: Path) -> None:
        # A server of its own per terminal: a new session on the socket of one just killed
        # can land on the server while it exits, and then nothing ever shows (seen in CI).
        Terminal.opened += 1
        self.socket = f"talks-test-{os.getpid()}-{Terminal.opened}"
        self.home = home
        self.config = config
        self.stream = home / "terminal-bytes.txt"
        (home / "stamp.py").write_text(STAMP, encoding="utf-8")

    def tmux(self, *args: str, check: bool = False) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, timeout=30)
        if check and done.returncode != 0:
            raise AssertionError(f"tmux {args[0]} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self, *flags: str) -> None:
        talks = Path(sys.executable).with_name("talks")
        command = (f"{talks} --config '{self.config}'" if talks.exists()
                   else f"{sys.executable} -m tui.cli --config '{self.config}'")
        command = " ".join((command, *flags))
        self.tmux("new-session", "-d", "-s", "talks", "-x", str(SIZE[0]), "-y", str(SIZE[1]),
                  "-c", str(ROOT),
                  f"env TERM=xterm-256color HF_HUB_OFFLINE=1 {command}; "
                  "echo talks-exited-$?; sleep 60", check=True)
        self.tmux("pipe-pane", "-t", "talks", "-o",
                  f"{sys.executable} '{self.home / 'stamp.py'}' '{self.stream}'", check=True)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "talks")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "talks", *keys)

    def wait(self, pattern: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.screen()
            if re.search(pattern, text, re.MULTILINE):
                return text
            time.sleep(0.5)
        raise AssertionError(f"{pattern!r} never showed; the screen:\n{self.screen()}")

    def stop(self) -> None:
        self.tmux("kill-server")

    def bytes_between(self, start: float, end: float) -> int:
        total = 0
        for line in self.stream.read_text().splitlines():
            when, size = line.split()
            if start <= float(when) < end:
                total += int(size)
        return total


@pytest.fixture
def demo_home(tmp_path):
    shutil.copytree(ROOT / "demo" / "inbox", tmp_path / "inbox")
    shutil.copytree(ROOT / "demo" / "speakers", tmp_path / "speakers")
    config = tmp_path / "config.toml"
    # Chunks of 10 s: each demo recording has several, so a quit lands inside a file.
    config.write_text('[input]\nfolders = ["inbox"]\n[output]\nroot = "out"\n'
                      '[speakers]\nfolder = "speakers"\n[transcription]\n'
                      'check_language = false\nchunk_seconds = 10\n'
                      '[logging]\nfile = "out/talks.log"\n', encoding="utf-8")
    return tmp_path, config


def ledger_states(home: Path) -> dict[str, str]:
    with Ledger(home / "out" / ".talks" / "ledger.sqlite") as ledger:
        return {row.name: row.state for row in ledger.all_files()}


def chunk_table(home: Path) -> dict[str, list[tuple[int, int | None, bool]]]:
    """Each recording's chunks as (index, run, done), read-only: safe while a run writes."""
    path = home / "out" / ".talks" / "ledger.sqlite"
    if not path.exists():
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute("SELECT f.path, c.idx, c.run_id, c.text IS NOT NULL FROM chunks c "
                          "JOIN files f ON f.id = c.file_id ORDER BY f.path, c.idx").fetchall()
    except sqlite3.OperationalError:  # the schema is still being made
        return {}
    finally:
        db.close()
    table: dict[str, list[tuple[int, int | None, bool]]] = {}
    for path_, idx, run, done in rows:
        table.setdefault(Path(path_).name, []).append((idx, run, bool(done)))
    return table


def voice_groups_seen(home: Path) -> dict[str, int]:
    """Each grouped talk's recording -> its group of unnamed voices, read-only: safe while a
    run writes (a run writes the groups in one transaction)."""
    path = home / "out" / ".talks" / "ledger.sqlite"
    if not path.exists():
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute("SELECT f.path, g.group_id FROM voice_groups g "
                          "JOIN files f ON f.id = g.file_id").fetchall()
    except sqlite3.OperationalError:  # the schema is still being made
        return {}
    finally:
        db.close()
    return {Path(path_).name: group for path_, group in rows}


def wait_for(condition, what: str, timeout: float):
    """The value of `condition()` once it is true; the deadline only guards against a hang."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


def test_the_app_files_the_demo_in_tmux_and_quits_safely_mid_file(demo_home):
    home, config = demo_home
    term = Terminal(home, config)
    try:
        term.start()
        term.wait(r"queue idle, 4 to do", timeout=60)
        time.sleep(2)  # the first paint done: what follows is what an idle app sends
        idle_from = time.monotonic()
        time.sleep(4)
        idle_bytes = term.bytes_between(idle_from, time.monotonic())
        busy_from = time.monotonic()
        term.keys("s")
        screen = term.wait(r"^ recording A\.mp3 +filed ", timeout=180)
        busy_bytes = term.bytes_between(busy_from, time.monotonic())
        busy_seconds = time.monotonic() - busy_from
        # Nobody the demo library knows (the column is cut to "Miscellan…" at 100 columns).
        assert re.search(r"^ recording A\.mp3 +filed +[\d:]+ +Miscellan", screen, re.M), screen
        assert "queue running" in screen and "Memory" in screen

        # q once a recording has some of its chunks done and not all: inside that file, not
        # between files.
        def a_file_half_done():
            return next((name for name, chunks in chunk_table(home).items()
                         if 0 < sum(done for *_, done in chunks) < len(chunks)), None)

        current = wait_for(a_file_half_done, "a recording with some chunks done", timeout=180)
        term.keys("q")
        term.wait(r"Quitting after the current chunk", timeout=30)
        term.wait(r"talks-exited-5", timeout=180)  # stopped before its end: run again
        states = ledger_states(home)
        assert states["recording A.mp3"] == "filed" and "failed" not in states.values(), states
        assert states[current] != "filed", states  # it stopped inside the file …
        kept = {(idx, run) for idx, run, done in chunk_table(home)[current] if done}
        assert 1 <= len(kept) < len(chunk_table(home)[current]), chunk_table(home)[current]
        term.stop()

        # … and the next start goes on at its next unfinished chunk, and files the rest;
        # --start (what `make run` uses) starts the queue without a key.
        term = Terminal(home, config)
        term.start("--start")
        # The queue ends after its last file is filed: the voices are grouped first.
        term.wait(r"4 recordings, 4 filed.* · queue idle", timeout=240)
        # The voice nobody enrolled speaks two of the demo's talks: the run grouped them as
        # one voice waiting for a name (the README's newcomer's path).
        groups = voice_groups_seen(home)
        assert sorted(groups) == ["recording A.mp3", "recording C.ogg"], groups
        assert len(set(groups.values())) == 1, groups
        term.keys("q")
        term.wait(r"talks-exited-0", timeout=30)
        assert set(ledger_states(home).values()) == {"filed"}
        after = {(idx, run) for idx, run, done in chunk_table(home)[current] if done}
        assert kept <= after, (kept, after)  # the chunks done before the quit were not redone
        assert all(done for *_, done in chunk_table(home)[current])
        report = {"idle_bytes_per_s": round(idle_bytes / 4), "busy_seconds": round(busy_seconds),
                  "busy_bytes_per_s": round(busy_bytes / busy_seconds)}
        (home / "slow-link.json").write_text(json.dumps(report), encoding="utf-8")
        print("terminal output:", report)
        # A 56 kbit/s modem carries 7 KB/s: the app must stay far below that. (Measured
        # here: ~100–300 B/s idle, ~0.5–1.5 KB/s while filing.)
        assert report["idle_bytes_per_s"] < 1000 and report["busy_bytes_per_s"] < 2500
    finally:
        term.stop()


# --- runs that outlive their terminal, and one view of whatever run is going -------------------

def chunked_home(home: Path, names: list[str], copies: int = 1) -> Path:
    """The demo's speakers, some of its recordings, chunks of 10 s (so a run lasts a while
    and has chunks to show). `copies` > 1 makes each recording that many times itself end to
    end, for a test whose run must still be transcribing after a terminal was killed and
    another one started (the demo's 6 chunks were done by then)."""
    (home / "inbox").mkdir()
    for name in names:
        source, target = ROOT / "demo" / "inbox" / name, home / "inbox" / name
        if copies == 1:
            shutil.copy(source, target)
            continue
        listing = home / "concat.txt"
        listing.write_text("".join(f"file '{source}'\n" for _ in range(copies)),
                           encoding="utf-8")
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "concat", "-safe", "0",
                        "-i", str(listing), "-c", "copy", str(target)], check=True)
        listing.unlink()
    shutil.copytree(ROOT / "demo" / "speakers", home / "speakers")
    config = home / "config.toml"
    config.write_text('[input]\nfolders = ["inbox"]\nsettle_seconds = 0.5\n'
                      '[output]\nroot = "out"\n[speakers]\nfolder = "speakers"\n'
                      '[transcription]\ncheck_language = false\n'
                      'chunk_seconds = 10\n[logging]\nfile = "out/talks.log"\n',
                      encoding="utf-8")
    return config


def planned_chunks(home: Path, name: str) -> int:
    """How many 10 s chunks a run plans for a recording of the inbox (as the runner does)."""
    from common.media import probe
    from pipeline.stages.chunking import chunk_count

    return chunk_count(probe(home / "inbox" / name).duration, 10)


def run_status(home: Path) -> dict:
    return json.loads((home / "out" / ".talks" / "run.json").read_text(encoding="utf-8"))


def chunks_done(home: Path, name: str) -> tuple[int, int]:
    with Ledger(home / "out" / ".talks" / "ledger.sqlite") as ledger:
        (row,) = [r for r in ledger.all_files() if r.name == name]
        chunks = ledger.chunks(row.id)
        return sum(c.done for c in chunks), len(chunks)


def outlives_its_terminal(home: Path, run, name: str, said: str) -> None:
    """After its terminal was killed: the run says it lost it, has no terminal, and finishes
    chunks of `name` it had not finished when the terminal went (not only "is still there"
    a moment later)."""
    import psutil

    done = sum(d for *_, d in chunk_table(home).get(name, []))
    log = home / "out" / "talks.log"
    wait_for(lambda: log.exists() and said in log.read_text(encoding="utf-8"),
             f"the log says {said!r}", timeout=60)
    assert run.terminal() is None  # it has no terminal any more …
    wait_for(lambda: sum(d for *_, d in chunk_table(home)[name]) > done,
             "a chunk finished after the terminal went away", timeout=300)
    # … and it still works on: alive, not a zombie, after a chunk's worth of work.
    assert run.is_running() and run.status() != psutil.STATUS_ZOMBIE, "the run died"


def test_a_queue_started_in_the_app_outlives_its_terminal_and_a_new_app_shows_it(tmp_path):
    import psutil

    config = chunked_home(tmp_path, ["recording A.mp3"], copies=4)
    total = planned_chunks(tmp_path, "recording A.mp3")
    first = Terminal(tmp_path, config)
    second = None
    try:
        first.start("--start")
        first.wait(rf"chunk [12]/{total} ", timeout=120)
        pid = run_status(tmp_path)["pid"]
        run = psutil.Process(pid)
        first.stop()  # the terminal goes away, as when an SSH connection drops
        # It notices, and goes on: chunks are finished after the terminal is gone.
        outlives_its_terminal(tmp_path, run, "recording A.mp3",
                              "the terminal went away: the queue goes on headless")
        status = subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config),
                                 "status"], cwd=ROOT, capture_output=True, text=True,
                                timeout=60).stdout
        assert f"A run is going (app, pid {pid}, headless" in status, status
        assert re.search(rf"Now: \[1/1\] recording A\.mp3 — transcribing, chunk \d+/{total}",
                         status), status

        second = Terminal(tmp_path, config)
        second.start()
        screen = second.wait(rf"queue running \(app, pid {pid}, headless\)", timeout=30)
        screen = second.wait(r"chunk \d+/\d+ ", timeout=60)
        assert re.search(rf"recording A\.mp3 +transcribing \d+/{total}", screen), screen
        second.wait(r"1 recordings, 1 filed", timeout=300)
        run.wait(timeout=60)  # its queue done, the headless app exits by itself
        assert set(ledger_states(tmp_path).values()) == {"filed"}
        log = (tmp_path / "out" / "talks.log").read_text(encoding="utf-8")
        assert "the terminal went away: the queue goes on headless" in log
        assert "the queue of the app whose terminal went away is done" in log
        second.keys("q")
        second.wait(r"talks-exited-0", timeout=30)
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_a_watch_whose_terminal_goes_finishes_its_batch_then_ends(tmp_path):
    import psutil

    config = chunked_home(tmp_path, ["recording A.mp3"])
    term = Terminal(tmp_path, config)
    try:
        term.start("--watch")
        term.wait(r"\[1/1\] recording A\.mp3 +chunk [12]/6 ", timeout=120)
        status = run_status(tmp_path)
        assert status["face"] == "watch"
        run = psutil.Process(status["pid"])
        term.stop()  # the SSH connection drops
        outlives_its_terminal(tmp_path, run, "recording A.mp3",
                              "the terminal went away: the batch in progress goes on")
        run.wait(timeout=300)  # the batch done, the watch ends by itself
        assert ledger_states(tmp_path) == {"recording A.mp3": "filed"}
        assert run_status(tmp_path)["stopped"] is None  # it ran to its end
        log = (tmp_path / "out" / "talks.log").read_text(encoding="utf-8")
        assert "the terminal went away: the batch in progress goes on, then watching ends" \
            in log
    finally:
        term.stop()


def test_two_apps_follow_a_batch_ask_for_more_and_stop_it_after_the_chunk(tmp_path):
    config = chunked_home(tmp_path, ["recording A.mp3"], copies=4)
    total = planned_chunks(tmp_path, "recording A.mp3")
    batch = Terminal(tmp_path, config)
    apps = [Terminal(tmp_path, config), Terminal(tmp_path, config)]
    try:
        batch.start("--batch")
        # On a terminal the batch shows where it is: file, chunk n/m, time left.
        batch.wait(rf"\[1/1\] recording A\.mp3 +chunk [1-4]/{total} .*left ━", timeout=120)
        pid = run_status(tmp_path)["pid"]
        assert run_status(tmp_path)["face"] == "batch"
        for app in apps:
            app.start()
        for app in apps:  # both show it, as their own
            app.wait(rf"queue running \(batch, pid {pid}\)", timeout=30)
            app.wait(rf"transcribing \d+/{total}", timeout=30)
        # s in an app starts no second run: the batch is asked to look for more.
        apps[1].keys("s")
        for app in apps:
            app.wait(r"queue running, then a look for more \(batch", timeout=30)
        done_before, total = chunks_done(tmp_path, "recording A.mp3")
        apps[0].keys("c")
        batch.wait(r"Asked to stop after the current chunk\.", timeout=30)
        screen = batch.wait(r"talks-exited-5", timeout=120)  # stopped when asked: not "OK"
        assert "Stopped before the end: 1 recording(s) not finished" in screen, screen
        done_after, _total = chunks_done(tmp_path, "recording A.mp3")
        # Stopped after the chunk under way: it was finished, the next one never began.
        assert done_before <= done_after <= done_before + 1 and done_after < total
        for app in apps:
            app.wait(rf"Stopped \(batch, pid {pid}\)", timeout=30)
            app.wait(r"queue idle, 1 to do", timeout=30)
        with Ledger(tmp_path / "out" / ".talks" / "ledger.sqlite") as ledger:
            runs = ledger.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        assert runs == 1  # neither app started a run of its own
        assert ledger_states(tmp_path) == {"recording A.mp3": "probed"}
        for app in apps:
            app.keys("q")
            app.wait(r"talks-exited-0", timeout=30)
    finally:
        batch.stop()
        for app in apps:
            app.stop()
