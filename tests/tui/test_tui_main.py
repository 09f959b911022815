"""The main screen with a stand-in pipeline: the table, start / pause / stop, live progress,
bursts, the memory gauge, a blocked worker, quitting mid-file, the transcript, help, log."""

from __future__ import annotations

import threading
import time

from textual.widgets import ProgressBar, Sparkline, TextArea

from common.errors import Busy
from pipeline.ledger import Ledger
from pipeline.run.events import ChunkDone, ChunkPlanned, StageStarted
from tests.support.tui_helpers import (
    FakePipeline,
    make_app,
    run,
    screen_text,
    seed_ledger,
    wait_for,
    write_home,
)
from tui.progress_model import LiveState
from tui.screens.help import HelpScreen
from tui.screens.log import LogScreen
from tui.screens.main import MainScreen
from tui.screens.transcript import TranscriptScreen
from tui.widgets.file_table import FileTable, state_of
from tui.widgets.line import Line
from tui.widgets.memory_gauge import MemoryGauge
from tui.widgets.messages import FilesScanned

NAMES = ["a.mp3", "b.mp3", "c.mp3"]


def home_with(tmp_path, names=NAMES):
    config = write_home(tmp_path)
    for name in names:
        (tmp_path / "inbox" / name).write_bytes(name.encode())
    return config


def cells(app, shown: str) -> list[str]:
    """The cells of a recording's row, by its path below the input folder."""
    table = app.main_screen.query_one(FileTable)
    for index, entry in enumerate(table.entries):
        if entry.shown == shown:
            return [str(c) for c in table.get_row_at(index)]
    raise AssertionError(f"{shown} is not in the table: {screen_text(app)}")


async def queue_ended(pilot, app):
    await wait_for(pilot, lambda: not app.live.running, what="the queue to end")
    await pilot.pause(0.3)  # the next refresh tick shows it


def test_table_shows_every_state_from_the_ledger(tmp_path):
    config = write_home(tmp_path)
    seed_ledger(config)

    async def scenario():
        app = make_app(config)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.main_screen.query_one(FileTable).row_count == 6)
            assert cells(app, "bees lecture.mp3")[1:4] == ["filed", "   0:58", "Sarah Lane"]
            assert cells(app, "sourdough.wav")[1] == "needs review"
            assert cells(app, "lighthouse.m4a")[1].startswith("failed: The")
            assert cells(app, "kayaking.flac")[1] == "transcribed 1/3"
            assert cells(app, "Été 2024/soirée.m4a")[1].startswith("skipped: sh")
            assert cells(app, "new talk.mp3")[1] == "new"
            status = app.main_screen.query_one("#status", Line).shown_text
            assert "6 recordings, 2 filed, 1 to review, 1 failed" in status
            # The whole reason of a failure is one line below the table.
            table = app.main_screen.query_one(FileTable)
            table.focus()
            names = [e.name for e in table.entries]
            table.move_cursor(row=names.index("lighthouse.m4a"))
            await pilot.pause()
            detail = app.main_screen.query_one("#detail", Line).shown_text
            assert detail.startswith("failed at transcribe: The engine made no progress")

    run(scenario)


def test_a_name_that_is_not_utf8_is_shown_failed_with_how_to_rename_it(tmp_path):
    import os

    config = home_with(tmp_path, ["b.mp3"])
    (tmp_path / "inbox" / os.fsdecode(b"caf\xe9.mp3")).write_bytes(b"latin-1 name")

    async def scenario():
        app = make_app(config)
        async with app.run_test(size=(100, 24)) as pilot:
            await wait_for(pilot, lambda: app.main_screen.query_one(FileTable).row_count == 2)
            assert cells(app, "caf\\xe9.mp3")[1] == "failed: bad name"
            assert cells(app, "b.mp3")[1] == "new"
            status = app.main_screen.query_one("#status", Line).shown_text
            assert "2 recordings" in status and "1 failed" in status, status
            assert "idle, 1 to do" in status, status  # a bad name is not work to do
            table = app.main_screen.query_one(FileTable)
            table.focus()
            table.move_cursor(row=[e.shown for e in table.entries].index("caf\\xe9.mp3"))
            await pilot.pause()
            detail = app.main_screen.query_one("#detail", Line).shown_text
            assert detail.startswith("failed at discover: its name is not UTF-8 text (")
            assert "caf\\xe9.mp3): rename it" in detail

    run(scenario)


def test_a_stopped_file_keeps_the_runs_chunk_count_until_the_next_scan(tmp_path):
    # The scan before a run's last chunks read fewer chunks done; when the run stops, the row
    # must say how far it got (CI once showed "transcribed 0/5" after 2 of 5 were done).
    config = write_home(tmp_path)
    seed_ledger(config)

    async def scenario():
        app = make_app(config)
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.main_screen.query_one(FileTable)
            await wait_for(pilot, lambda: table.row_count == 6)
            assert cells(app, "kayaking.flac")[1] == "transcribed 1/3"
            live = LiveState()
            live.begin()
            live.apply(StageStarted("kayaking.flac", "transcribe"), 0)
            live.apply(ChunkPlanned("kayaking.flac", total=3, already_done=1, duration=90), 0)
            live.apply(ChunkDone("kayaking.flac", index=1, total=3, start=30, end=60,
                                 text="", seconds=1), 1)
            entry = next(e for e in table.entries if e.name == "kayaking.flac")
            assert state_of(entry, live)[0] == "transcribing 2/3"
            # The run ends before the table draws again (CI once saw "transcribed 1/5").
            live.end()
            table.show(None, live)
            assert cells(app, "kayaking.flac")[1] == "transcribed 2/3"

    run(scenario)


def test_start_shows_live_progress_then_pause_finishes_the_file_first(tmp_path):
    config = home_with(tmp_path)
    fake = FakePipeline(NAMES, chunks=3)

    async def scenario():
        app = make_app(config, runner=fake)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("s")
            await wait_for(pilot, lambda: app.live.current is not None, what="a current file")
            fake.step()
            await wait_for(pilot, lambda: cells(app, "a.mp3")[1] == "transcribing 1/3")
            assert cells(app, "b.mp3")[1] == "queued"
            text = screen_text(app)
            assert "[1/3] a.mp3 — transcribing 1/3" in text
            assert "chunk 1/3" in text and "elapsed 0:0" in text and "left" in text
            assert "“the words of chunk 1 of a.mp3”" in text
            assert "chunk 1/3 400" in text  # the memory checkpoint of this file
            bar = app.main_screen.query_one("#now-bar", ProgressBar)
            assert (bar.progress, bar.total) == (1, 3)
            # p: the file in progress goes on to the end; the next one is not taken.
            await pilot.press("p")
            await wait_for(pilot, lambda: "pausing" in screen_text(app))
            fake.step(2)
            await queue_ended(pilot, app)
            assert fake.done == {"a.mp3"} and not fake.stopped_on_request
            assert "Paused" in screen_text(app)
            assert cells(app, "b.mp3")[1] == "new"
            # s again goes on with the next file.
            await pilot.press("s")
            await wait_for(pilot, lambda: app.live.current is not None
                           and app.live.current.name == "b.mp3")
            fake.step(6)
            await queue_ended(pilot, app)
            assert fake.done == set(NAMES) and fake.runs == 2
            assert "Done in" in screen_text(app)

    run(scenario)


def test_stop_ends_between_chunks_and_start_resumes_there(tmp_path):
    config = home_with(tmp_path)
    fake = FakePipeline(NAMES, chunks=4)

    async def scenario():
        app = make_app(config, runner=fake)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("s")
            fake.step()
            await wait_for(pilot, lambda: app.live.current is not None
                           and app.live.current.chunks_done == 1)
            await pilot.press("c")
            await wait_for(pilot, lambda: "stopping after this chunk" in screen_text(app))
            fake.step()  # the chunk under way finishes; then it stops
            await queue_ended(pilot, app)
            assert fake.stopped_on_request and fake.progress == {"a.mp3": 2}
            assert "Stopped" in screen_text(app)
            await pilot.press("s")
            await wait_for(pilot, lambda: app.live.current is not None)
            assert app.live.current.resumed_chunks == 2
            await wait_for(pilot, lambda: "2 chunk(s) resumed" in screen_text(app))
            fake.step(2 + 4 + 4)
            await wait_for(pilot, lambda: not app.live.running)
            assert fake.done == set(NAMES)

    run(scenario)


def test_a_burst_of_progress_collapses_into_a_few_redraws(tmp_path):
    config = home_with(tmp_path, ["a.mp3"])
    fake = FakePipeline(["a.mp3"], chunks=1, auto=True, burst=3000)

    async def scenario():
        app = make_app(config, runner=fake)
        async with app.run_test(size=(80, 24)) as pilot:
            label = app.main_screen.query_one("#now-file", Line)
            before = label.updates
            await pilot.press("s")
            await queue_ended(pilot, app)
            assert app.live.events_seen > 6000
            # Thousands of events, a handful of redraws: one per refresh tick at most.
            assert label.updates - before < 12
            assert cells(app, "a.mp3")[1] == "new"  # the fake writes no ledger

    run(scenario)


def test_the_ui_answers_while_the_worker_is_blocked(tmp_path):
    config = home_with(tmp_path, ["a.mp3"])
    fake = FakePipeline(["a.mp3"], chunks=2, auto=True)
    fake.block = threading.Event()  # like a model that takes its time

    async def scenario():
        app = make_app(config, runner=fake)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("s")
            await wait_for(pilot, lambda: app.live.current is not None)
            began = time.monotonic()
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), timeout=2)
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), timeout=2)
            assert time.monotonic() - began < 2
            assert app.live.running  # still waiting on the "model"
            fake.block.set()
            await wait_for(pilot, lambda: not app.live.running)

    run(scenario)


def test_quit_mid_file_stops_after_the_chunk(tmp_path):
    config = home_with(tmp_path, ["a.mp3"])
    fake = FakePipeline(["a.mp3"], chunks=3)

    async def scenario():
        app = make_app(config, runner=fake)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("s")
            fake.step()
            await wait_for(pilot, lambda: app.live.current is not None
                           and app.live.current.chunks_done == 1)
            await pilot.press("q")
            await pilot.pause(0.2)
            assert app.is_running and app.quit_requested
            fake.step()  # the chunk under way ends; the queue stops; the app quits
            await wait_for(pilot, lambda: not app.is_running, what="the app to quit")
        assert fake.stopped_on_request and fake.progress == {"a.mp3": 2}

    run(scenario)


def test_q_twice_quits_at_once(tmp_path):
    config = home_with(tmp_path, ["a.mp3"])
    fake = FakePipeline(["a.mp3"], chunks=3)

    async def scenario():
        app = make_app(config, runner=fake)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("s")
            await wait_for(pilot, lambda: app.live.current is not None)
            await pilot.press("q", "q")
            await wait_for(pilot, lambda: not app.is_running, what="the app to quit")
            own = app.own
        # The chunk under way was given up: the queue ended without another step.
        assert own is not None and own.ended.wait(5)
        assert fake.stopped_at_once and fake.progress == {}

    run(scenario)


def test_problems_of_the_queue_are_said(tmp_path):
    config = home_with(tmp_path, ["a.mp3"])

    def busy(config, on_event, control, **_options):
        raise Busy("Another talks run is filing into out: wait for it to finish.")

    async def scenario():
        app = make_app(config, runner=busy)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("s")
            await wait_for(pilot, lambda: "Another talks run" in screen_text(app))
            assert not app.live.running

    run(scenario)


def test_memory_gauge_samples_every_second_and_shows_checkpoints(tmp_path):
    config = home_with(tmp_path, ["a.mp3"])
    readings = iter(range(100, 10_000, 10))
    fake = FakePipeline(["a.mp3"], chunks=2)

    async def scenario():
        app = make_app(config, runner=fake, sampler=lambda pid: float(next(readings)))
        async with app.run_test(size=(80, 24)) as pilot:
            gauge = app.main_screen.query_one(MemoryGauge)
            await wait_for(pilot, lambda: len(gauge.history) >= 3, timeout=5)
            assert list(gauge.history)[:3] == [100.0, 110.0, 120.0]
            spark = gauge.query_one(Sparkline)
            assert spark.data[:3] == [100.0, 110.0, 120.0]
            assert spark.render().plain.strip().startswith("▁")
            assert "of 8.0 GB" in screen_text(app)
            await pilot.press("s")
            fake.step()
            await wait_for(pilot, lambda: "chunk 1/2 400" in screen_text(app))
            assert gauge.checkpoints[0] == ("file start", 60.0)
            fake.step()
            await wait_for(pilot, lambda: not app.live.running)

    run(scenario)


def test_new_recordings_show_up_without_a_restart(tmp_path):
    config = home_with(tmp_path, ["a.mp3"])

    async def scenario():
        app = make_app(config)
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.main_screen.query_one(FileTable)
            await wait_for(pilot, lambda: table.row_count == 1)
            (tmp_path / "inbox" / "b.mp3").write_bytes(b"b")
            app.request_scan()
            await wait_for(pilot, lambda: table.row_count == 2)

    run(scenario)


def test_transcript_of_a_filed_talk_and_of_one_in_progress(tmp_path):
    config = write_home(tmp_path)
    seeded = seed_ledger(config)
    with Ledger(seeded.output.ledger_path) as ledger:  # the language each is in, when known
        for row in ledger.all_files():
            if row.name in ("bees lecture.mp3", "kayaking.flac"):
                ledger.update(row.id, language="fr" if row.name.startswith("bees") else "de",
                              language_probability=0.9, language_source="detected")

    async def scenario():
        app = make_app(config)
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.main_screen.query_one(FileTable)
            await wait_for(pilot, lambda: table.row_count == 6)
            names = [e.name for e in table.entries]
            table.focus()
            table.move_cursor(row=names.index("bees lecture.mp3"))
            await pilot.pause()
            assert app.main_screen.query_one("#detail", Line).shown_text == (
                "→ Sarah Lane - Bees, Hive and Honey.mp3 · French  (t shows the transcript)")
            await pilot.press("t")
            assert isinstance(app.screen, TranscriptScreen)
            assert app.screen.query_one("#screen-title", Line).shown_text == (
                "Sarah Lane - Bees, Hive and Honey (Transcript).txt · French")
            assert "bees, honey and the flowers" in app.screen.query_one(TextArea).text
            await pilot.press("escape")
            table.move_cursor(row=names.index("kayaking.flac"))
            await pilot.press("enter")  # Enter on a row opens it too
            assert isinstance(app.screen, TranscriptScreen)
            assert "paddle a kayak" in app.screen.query_one(TextArea).text
            assert app.screen.query_one("#screen-title", Line).shown_text == (
                "kayaking.flac · German (so far: 1 chunk(s))")
            await pilot.press("escape")
            table.move_cursor(row=names.index("new talk.mp3"))
            await pilot.press("t")
            assert isinstance(app.screen, MainScreen)

    run(scenario)


def test_help_and_footer_bindings(tmp_path):
    config = home_with(tmp_path, ["a.mp3"])

    async def scenario():
        app = make_app(config)
        async with app.run_test(size=(80, 24)) as pilot:
            shown = {b.binding.key for b in app.screen.active_bindings.values()
                     if b.binding.show and b.enabled}
            assert {"s", "t", "r", "k", "o", "l", "question_mark", "q"} <= shown
            assert "p" not in shown  # pause and stop appear while the queue runs
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
            await pilot.pause()
            assert "1–9" in screen_text(app)
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), what="main")

    run(scenario)


def test_news_arriving_while_the_screen_is_taken_down_is_dropped(tmp_path):
    # Seen in CI: a scan finished just as the app quit, when the main screen's widgets were
    # already gone; drawing it raised NoMatches and the app ended with an error.
    config = home_with(tmp_path, ["a.mp3"])

    async def scenario():
        app = make_app(config)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: bool(app.main_screen.table.entries), what="scan")
            entries = app.main_screen.table.entries
            await app.main_screen.query("*").remove()
            app.post_message(FilesScanned(entries, None))
            app.main_screen.add_memory_sample(50.0)
            await pilot.pause()
            assert app.main_screen.stale  # kept for a screen that would come back
            assert app.return_code is None  # no error ended the app

    run(scenario)


def test_log_view_follows_the_log_file(tmp_path):
    config = home_with(tmp_path, ["a.mp3"])
    log_file = tmp_path / "out" / "talks.log"
    log_file.parent.mkdir(parents=True)
    log_file.write_text("2026-01-01 INFO first line\n", encoding="utf-8")

    async def scenario():
        app = make_app(config)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("l")
            assert isinstance(app.screen, LogScreen)
            assert "first line" in "\n".join(app.screen.shown)
            with open(log_file, "a", encoding="utf-8") as handle:
                handle.write("2026-01-01 INFO memory chunk 1/2: rss 300 MB\n")
            await wait_for(pilot, lambda: "chunk 1/2" in "\n".join(app.screen.shown), timeout=5)
            await pilot.press("escape")
            assert isinstance(app.screen, MainScreen)

    run(scenario)


def test_new_recordings_show_their_length_before_processing(tmp_path, monkeypatch):
    import subprocess

    from pipeline.config.settings import load_config
    from pipeline.inbox import listing as file_table

    config_path = home_with(tmp_path, ["not audio.mp3"])
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    "sine=frequency=300:duration=7.5", str(tmp_path / "inbox" / "tone.wav")],
                   check=True)
    config = load_config(config_path)
    # With no time left for probing, a scan still lists every file, without lengths …
    monkeypatch.setattr(file_table, "PROBE_BUDGET_S", -1.0)
    entries = {e.shown: e for e in file_table.scan_files(config)}
    assert set(entries) == {"tone.wav", "not audio.mp3"}
    assert entries["tone.wav"].duration is None
    # … and a later scan with time fills them in; what is not audio stays blank.
    monkeypatch.setattr(file_table, "PROBE_BUDGET_S", 5.0)
    entries = {e.shown: e for e in file_table.scan_files(config)}
    assert abs(entries["tone.wav"].duration - 7.5) < 0.1
    assert entries["not audio.mp3"].duration is None

    async def scenario():
        app = make_app(config_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.main_screen.query_one(FileTable).row_count == 2)
            row = next(r for r in screen_text(app).splitlines() if r.startswith("tone.wav"))
            assert "new" in row and "0:08" in row, row

    run(scenario)


def test_start_flag_starts_the_queue_when_the_app_opens(tmp_path):
    config = home_with(tmp_path)
    pipeline = FakePipeline(NAMES, auto=True)

    async def scenario():
        app = make_app(config, runner=pipeline, start=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: pipeline.runs == 1, what="the queue to start")
            await queue_ended(pilot, app)
            assert pipeline.done == set(NAMES)

    run(scenario)


def test_without_a_terminal_talks_says_to_use_batch(tmp_path):
    import subprocess
    import sys

    config = home_with(tmp_path)
    done = subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "needs a terminal" in done.stderr and "talks --batch" in done.stderr
