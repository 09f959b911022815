"""The app's queue keys against the real pipeline (flite speech, ffmpeg, tiny.en in worker
processes, SQLite): pause, quitting at once, a run lock held by another process, and a full
scan. The same keys with a stand-in pipeline are in test_tui_main.py; this is the proof that
the real runner answers them the same way.
"""

from __future__ import annotations

import subprocess
import sys

import psutil
import pytest

from pipeline.ledger import Ledger
from pipeline.run.batch import run_batch
from pipeline.run.events import ChunkPlanned
from tests.support.paths import ROOT  # noqa: E402
from tests.support.speech import TALKS, make_talk
from tests.support.tui_helpers import make_app, run, screen_text, wait_for, write_home

FIRST, SECOND = "first talk.mp3", "second talk.wav"


def states(config) -> dict[str, str]:
    with Ledger(config.output.ledger_path) as ledger:
        return {row.name: row.state for row in ledger.all_files()}


def done_chunks(config, name: str) -> tuple[int, int, set[int | None]]:
    with Ledger(config.output.ledger_path) as ledger:
        (row,) = [r for r in ledger.all_files() if r.name == name]
        chunks = ledger.chunks(row.id)
        return sum(c.done for c in chunks), len(chunks), {c.run_id for c in chunks}


def runs_in_ledger(config) -> int:
    with Ledger(config.output.ledger_path) as ledger:
        return ledger.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]


def workers() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True)
            if "pipeline.run.worker_main" in " ".join(p.cmdline())]


class RealRunner:
    """run_batch itself, keeping each file's ChunkPlanned as the app received it."""

    def __init__(self) -> None:
        self.plans: list[ChunkPlanned] = []

    def __call__(self, config, on_event, control=None, **options):
        def seen(event) -> None:
            if isinstance(event, ChunkPlanned):
                self.plans.append(event)
            on_event(event)

        return run_batch(config, seen, control, **options)


@pytest.fixture(scope="module")
def paused_then_full_scan(tmp_path_factory):
    """p during the first of two talks, then `talks --full-scan` from the app."""
    home = tmp_path_factory.mktemp("pause")
    config_path = write_home(home)
    make_talk(home / "inbox" / FIRST, TALKS["bees"][:4], tool="flite", voice="slt",
              pause_s=0.6)
    make_talk(home / "inbox" / SECOND, TALKS["kayaking"][:3], tool="flite", voice="rms",
              pause_s=0.6)
    seen: dict = {}

    async def pause_scenario():
        app = make_app(config_path)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("s")
            await wait_for(pilot, lambda: app.live.current is not None
                           and app.live.current.stage == "transcribe", timeout=120,
                           what="the first talk's transcription")
            await pilot.press("p")
            await wait_for(pilot, lambda: not app.live.running, timeout=240, what="the pause")
            await wait_for(pilot, lambda: "Paused after the file in progress" in
                           screen_text(app))
            seen["paused"] = states(app.config)
            seen["paused_runs"] = runs_in_ledger(app.config)
            with Ledger(app.config.output.ledger_path) as ledger:
                (row,) = [r for r in ledger.all_files() if r.name == FIRST]
                seen["destination"] = row.destination

    async def full_scan_scenario():
        plans = RealRunner()
        app = make_app(config_path, start=True, full_scan=True, runner=plans)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.live.finished is not None, timeout=300,
                           what="the full scan")
            seen["finished"] = app.live.finished
            seen["plans"] = {p.file: p.already_done for p in plans.plans}
            seen["rescanned"] = states(app.config)
            seen["first_chunks"] = done_chunks(app.config, FIRST)
            with Ledger(app.config.output.ledger_path) as ledger:
                (row,) = [r for r in ledger.all_files() if r.name == FIRST]
                seen["destination_again"] = row.destination

    run(pause_scenario)
    run(full_scan_scenario)
    return home, seen


@pytest.mark.models
def test_pause_lets_the_real_file_in_progress_finish_and_takes_no_other(paused_then_full_scan):
    _home, seen = paused_then_full_scan
    assert seen["paused"] == {FIRST: "filed"}  # the second was never taken up
    assert seen["paused_runs"] == 1


@pytest.mark.models
def test_full_scan_from_the_app_redoes_a_filed_talk_in_place(paused_then_full_scan):
    home, seen = paused_then_full_scan
    assert seen["rescanned"] == {FIRST: "filed", SECOND: "filed"}
    assert seen["plans"] == {FIRST: 0, SECOND: 0}  # transcribed again from the start
    done, total, run_ids = seen["first_chunks"]
    assert done == total and run_ids == {2}  # every chunk by the second run
    assert seen["finished"].filed == 2 and seen["finished"].unchanged == 0
    # Replaced where it was, not filed twice.
    assert seen["destination_again"] == seen["destination"]
    talks = [p.name for p in (home / "out" / "talks").rglob("*") if p.is_file()]
    assert len(talks) == 2, talks


@pytest.mark.models
def test_q_twice_ends_the_real_worker_at_once_and_the_next_start_resumes(tmp_path):
    config_path = write_home(tmp_path, chunk=30)
    make_talk(tmp_path / "inbox" / FIRST, TALKS["lighthouses"][:9] + TALKS["bees"][:6],
              tool="flite", voice="slt", pause_s=0.8)
    seen: dict = {}

    async def quit_at_once():
        app = make_app(config_path)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("s")
            await wait_for(pilot, lambda: app.live.current is not None
                           and app.live.current.chunks_done >= 1, timeout=180,
                           what="the first chunk")
            seen["workers"] = workers()
            seen["done_at_quit"] = app.live.current.chunks_done
            await pilot.press("q", "q")
            await wait_for(pilot, lambda: not app.is_running, timeout=30, what="the quit")
            # The queue this app started: `own` is let go once its end reaches the app,
            # which on a busy machine can be before the app is gone.
            seen["own"] = app.last_own

    run(quit_at_once)
    own = seen["own"]
    assert own is not None and own.ended.wait(30)
    assert seen["workers"] and not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE
                                       for w in seen["workers"])
    config = make_app(config_path).config
    done, total, _runs = done_chunks(config, FIRST)
    # The chunk under way was given up, not finished: the ledger has what was done before.
    assert done == seen["done_at_quit"] and done < total
    assert states(config) == {FIRST: "probed"}

    async def resume():
        plans = RealRunner()
        app = make_app(config_path, runner=plans)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("s")
            await wait_for(pilot, lambda: bool(plans.plans), timeout=120)
            await pilot.press("c", "c")
            await wait_for(pilot, lambda: not app.live.running, timeout=60)
            seen["resumed"] = plans.plans[0].already_done

    run(resume)
    assert seen["resumed"] == done


HOLD_THE_LOCK = """
import sys, time
from pipeline.config.settings import load_config
from pipeline.run.lock import exclusive_run
with exclusive_run(load_config(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.readline()
"""


@pytest.mark.models
def test_a_run_lock_held_elsewhere_is_said_and_no_second_run_starts(tmp_path):
    config_path = write_home(tmp_path)
    make_talk(tmp_path / "inbox" / FIRST, TALKS["bees"][:2], tool="flite", voice="slt")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(config_path)],
                              cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout.readline().strip() == "locked"

    async def scenario():
        app = make_app(config_path)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("s")
            await wait_for(pilot, lambda: "Another talks run is filing into" in
                           screen_text(app), timeout=60)
            await wait_for(pilot, lambda: not app.live.running and app.own is None)
            assert "queue idle" in screen_text(app)
            holder.communicate("\n", timeout=30)  # the other run ends
            await pilot.press("s")
            await wait_for(pilot, lambda: app.live.current is not None, timeout=60)
            await pilot.press("c", "c")
            await wait_for(pilot, lambda: not app.live.running, timeout=60)

    try:
        run(scenario)
    finally:
        holder.kill()
        holder.wait()
    assert runs_in_ledger(make_app(config_path).config) == 1  # only the one after the lock
