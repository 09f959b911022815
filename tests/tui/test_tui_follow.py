"""One view of whatever run is going: the app follows a run it did not start, through the
files every run writes beside the ledger, and asks it things; `talks status` reads the same.

The followed runs here are FakePipeline runs in a thread of the test (face "batch"): the
real run session around fake work, so the status, events and request files are the real
ones. A run killed without a word is a real process. (The real pipeline followed in a real
terminal is in test_tui_tmux.py.)
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time

from common.errors import Fault
from pipeline.config.settings import load_config
from pipeline.run.events import FileQueued, StageStarted
from pipeline.run.publish import read_status
from pipeline.run.session import run_session
from tests.support.tui_helpers import (
    FakePipeline,
    make_app,
    run,
    screen_text,
    seed_ledger,
    wait_for,
    write_home,
)
from tui.commands.status import render, status_report
from tui.follow_run import RunWatch
from tui.widgets.file_table import FileTable
from tui.widgets.line import Line

NAMES = ["a.mp3", "b.mp3"]
from tests.support.paths import ROOT as PATHS_ROOT  # noqa: E402

ROOT = str(PATHS_ROOT)


def home_with(tmp_path, names=NAMES):
    config = write_home(tmp_path)
    for name in names:
        (tmp_path / "inbox" / name).write_bytes(name.encode())
    return config


def start_run(config_path, fake: FakePipeline) -> threading.Thread:
    """A run "of another process": cron's batch, say."""
    config = load_config(config_path)
    thread = threading.Thread(target=fake, args=(config, lambda _event: None),
                              kwargs={"face": "batch"}, daemon=True)
    thread.start()
    folder = config.output.ledger_path.parent
    deadline = time.monotonic() + 10
    while not ((s := read_status(folder)) and s.going and s.ended_at is None):
        assert time.monotonic() < deadline, "the run never said it started"
        time.sleep(0.02)
    return thread


def status_line(app) -> str:
    return app.main_screen.query_one("#status", Line).shown_text


def state_cell(app, name: str) -> str:
    table = app.main_screen.query_one(FileTable)
    for index, entry in enumerate(table.entries):
        if entry.name == name:
            return str(table.get_row_at(index)[1])
    return ""


def test_the_app_follows_a_batch_and_stops_it_after_the_chunk(tmp_path):
    config = home_with(tmp_path)
    fake = FakePipeline(NAMES, chunks=3)
    thread = start_run(config, fake)
    pid = os.getpid()

    async def scenario():
        app = make_app(config)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: f"queue running (batch, pid {pid})" in status_line(app),
                           what="the app to find the run")
            fake.step()
            await wait_for(pilot, lambda: state_cell(app, "a.mp3") == "transcribing 1/3",
                           what="the chunk in the table")
            text = screen_text(app)
            assert "[1/2] a.mp3 — transcribing 1/3" in text and "chunk 1/3" in text
            assert "“the words of chunk 1 of a.mp3”" in text and "left" in text
            assert state_cell(app, "b.mp3") == "queued"
            # The run's memory checkpoint: an event of its own after the chunk's, so the app
            # may read it a moment after the table shows the chunk.
            await wait_for(pilot, lambda: "chunk 1/3 400" in screen_text(app),
                           what="the chunk's memory checkpoint")
            # s does not start a second run: it asks this one to look for more.
            await pilot.press("s")
            await wait_for(pilot, lambda: "then a look for more" in status_line(app))
            assert fake.runs == 1
            # c: the run stops after the chunk under way.
            await pilot.press("c")
            await wait_for(pilot, lambda: "stopping after this chunk" in status_line(app))
            fake.step()
            await wait_for(pilot, lambda: not app.live.running, what="the run to end")
            await pilot.pause(0.3)
            assert fake.stopped_on_request and fake.progress == {"a.mp3": 2}
            assert f"Stopped (batch, pid {pid})" in screen_text(app)
            assert "queue idle" in status_line(app)

    run(scenario)
    thread.join(10)
    assert not thread.is_alive()


def test_c_twice_stops_a_followed_run_at_once(tmp_path):
    config = home_with(tmp_path, ["a.mp3"])
    fake = FakePipeline(["a.mp3"], chunks=3)
    thread = start_run(config, fake)

    async def scenario():
        app = make_app(config)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.live.running and app.live.current is not None)
            await pilot.press("c")
            await wait_for(pilot, lambda: "stopping after this chunk" in status_line(app))
            await pilot.press("c")
            await wait_for(pilot, lambda: not app.live.running, what="the run to end")
            assert fake.stopped_at_once and fake.progress == {}

    run(scenario)
    thread.join(10)


def test_pause_from_the_app_lets_the_followed_file_finish(tmp_path):
    config = home_with(tmp_path)
    fake = FakePipeline(NAMES, chunks=2)
    thread = start_run(config, fake)

    async def scenario():
        app = make_app(config)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.live.current is not None)
            await pilot.press("p")
            await wait_for(pilot, lambda: "pausing after this file" in status_line(app))
            fake.step(2)
            await wait_for(pilot, lambda: not app.live.running, what="the run to end")
            assert fake.done == {"a.mp3"}
            await wait_for(pilot, lambda: "Paused (batch" in screen_text(app))

    run(scenario)
    thread.join(10)


def test_another_app_sees_the_run_this_app_started(tmp_path):
    config = home_with(tmp_path, ["a.mp3"])
    fake = FakePipeline(["a.mp3"], chunks=2)
    watch = RunWatch(load_config(config).output.ledger_path.parent)

    async def scenario():
        app = make_app(config, runner=fake)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("s")
            fake.step()
            await wait_for(pilot, lambda: app.live.current is not None
                           and app.live.current.chunks_done == 1)
            news = watch.poll()
            assert news.began.face == "app" and news.began.pid == os.getpid()
            assert [e.index for _t, e in news.events if type(e).__name__ == "ChunkDone"] == [0]
            fake.step()
            await wait_for(pilot, lambda: not app.live.running)
            await pilot.pause(0.3)
            assert "app" not in status_line(app)  # its own run is not followed as another's

    run(scenario)
    news = watch.poll()
    assert news.over and not news.died
    assert type(news.events[-1][1]).__name__ == "BatchFinished"


def test_the_app_closes_its_screen_when_the_terminal_goes_and_its_queue_goes_on(tmp_path):
    config = home_with(tmp_path, ["a.mp3"])
    fake = FakePipeline(["a.mp3"], chunks=3)

    async def scenario():
        app = make_app(config, runner=fake)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("s")
            await wait_for(pilot, lambda: app.live.current is not None)
            app.terminal_gone()  # what SIGHUP and a failed write to the terminal call
            await wait_for(pilot, lambda: not app.is_running, what="the screen to close")
            assert app.headless
            own = app.own
        assert own is not None and not own.ended.is_set()  # the queue goes on, headless
        fake.step(3)
        assert own.ended.wait(10)
        assert fake.done == {"a.mp3"} and not fake.stopped_on_request

    run(scenario)


def test_a_queue_whose_app_lost_its_terminal_is_published_as_headless(tmp_path):
    # `talks status --json` and other apps read run.json: the kernel's idea of the process's
    # terminal does not always change when the app loses it, so the app says so itself.
    config = home_with(tmp_path, ["a.mp3"])
    folder = load_config(config).output.ledger_path.parent
    fake = FakePipeline(["a.mp3"], chunks=3)

    async def scenario():
        app = make_app(config, runner=fake)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("s")
            await wait_for(pilot, lambda: app.live.current is not None)
            assert read_status(folder).headless is False
            app.terminal_gone()  # what SIGHUP and a failed write to the terminal call
            await wait_for(pilot, lambda: not app.is_running, what="the screen to close")
            own = app.own
        status = read_status(folder)
        assert status.going and status.headless
        assert status_report(load_config(config))["run"]["headless"] is True
        fake.step(3)
        assert own is not None and own.ended.wait(10)
        assert read_status(folder).headless  # it stays said after the run's end

    run(scenario)


KILLED_RUN = """
import sys, time
from pathlib import Path
from pipeline.run.events import ChunkDone, ChunkPlanned, FileQueued, StageStarted
from pipeline.run.publish import RunPublisher
with RunPublisher(Path(sys.argv[1]), "batch", None) as run:
    for event in (FileQueued("a.mp3", 1, 1), StageStarted("a.mp3", "transcribe"),
                  ChunkPlanned("a.mp3", 4, 0, 120.0),
                  ChunkDone("a.mp3", 0, 4, 0.0, 30.0, "first words", 2.0)):
        run.emit(event)
    print("going", flush=True)
    time.sleep(120)
"""


def test_a_followed_run_killed_without_a_word_is_said_so(tmp_path):
    config = home_with(tmp_path, ["a.mp3"])
    folder = load_config(config).output.ledger_path.parent
    folder.mkdir(parents=True)
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(folder)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "going"

    async def scenario():
        app = make_app(config)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: "transcribing 1/4" in screen_text(app))
            assert f"(batch, pid {proc.pid})" in status_line(app)
            proc.kill()
            proc.wait()
            await wait_for(pilot, lambda: "ended without finishing" in screen_text(app))
            assert not app.live.running

    try:
        run(scenario)
    finally:
        proc.kill()
        proc.wait()


def test_a_followed_run_a_fault_stopped_is_said_in_its_sentence(tmp_path):
    config_path = home_with(tmp_path, ["a.mp3"])
    config = load_config(config_path)
    full = ("The disk holding the output folder (out) is full: free some space there, then "
            "run again (finished work is kept).")
    go_on = threading.Event()

    def faulted_run() -> None:
        with contextlib.suppress(Fault), run_session(config, lambda _event: None) as session:
            session.emit(FileQueued("a.mp3", 1, 1))
            session.emit(StageStarted("a.mp3", "transcribe"))
            go_on.wait(20)
            raise Fault(full)  # as the runner raises it when the disk fills

    thread = threading.Thread(target=faulted_run, daemon=True)
    thread.start()

    async def scenario():
        app = make_app(config_path)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: "(batch, pid" in status_line(app),
                           what="the app to find the run")
            go_on.set()
            await wait_for(pilot, lambda: not app.live.running, what="the run to end")
            await pilot.pause(0.3)
            assert "stopped: The disk holding the output folder (out) is full" in \
                " ".join(screen_text(app).split())

    run(scenario)
    thread.join(10)
    text = render(status_report(config))
    assert "No run is going. The last one (batch" in text and "stopped" in text
    assert full in text


def test_status_says_what_the_run_does_then_how_it_ended(tmp_path):
    config_path = home_with(tmp_path)
    fake = FakePipeline(NAMES, chunks=3)
    thread = start_run(config_path, fake)
    config = load_config(config_path)
    deadline = time.monotonic() + 10
    fake.step()
    while (report := status_report(config))["run"]["current"] is None or \
            report["run"]["current"]["chunk"] < 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    run_ = report["run"]
    assert run_["going"] and run_["by"] == "batch" and run_["pid"] == os.getpid()
    assert run_["current"] == {**run_["current"], "file": "a.mp3", "position": 1,
                               "stage": "transcribe", "chunk": 1, "chunks": 3}
    assert run_["current"]["remaining_s"] > 0 and run_["queued"] == 1
    text = render(report)
    assert f"A run is going (batch, pid {os.getpid()})" in text
    assert "Now: [1/2] a.mp3 — transcribing, chunk 1/3" in text and "left" in text
    assert "Then: 1 more recording(s)" in text
    fake.step(5)
    thread.join(10)
    report = status_report(config)
    assert not report["run"]["going"] and report["run"]["finished"]["filed"] == 2
    assert "No run is going. The last one (batch" in render(report)
    assert "2 filed" in render(report).splitlines()[1]


def test_status_counts_the_ledger_and_names_the_last_failure(tmp_path):
    config_path = write_home(tmp_path)
    seed_ledger(config_path)
    done = subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config_path),
                           "status", "--json"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["run"] is None
    assert report["counts"] == {"filed": 2, "needs_review": 1, "failed": 1, "skipped": 1,
                                "unfinished": 1, "new": 1}
    failure = report["last_failure"]
    assert failure["file"] == "lighthouse.m4a" and failure["stage"] == "transcribe"
    assert failure["reason"].startswith("The engine made no progress")
    done = subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config_path),
                           "status"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "No run is going (none has run here yet)." in done.stdout
    assert ("Recordings: 2 filed (1 to review), 1 failed, 1 skipped, 1 unfinished, 1 new."
            in done.stdout)
    assert "Last failure: lighthouse.m4a at transcribe" in done.stdout
