"""What the app's process exits with (run_app returns `TalksApp.exit_code()`): 5 when the
last queue it started was stopped before its end — `c`, or `q` while it ran — as a batch
asked to stop exits; 0 when it ran to its end, or the app only looked. FakePipeline runs
inside the real run session and answers the control as the real runner does."""

from __future__ import annotations

import pytest

from common.errors import ExitCode
from tests.support.tui_helpers import FakePipeline, make_app, run, wait_for, write_home


def home_with(tmp_path, names: list[str]):
    config = write_home(tmp_path)
    for name in names:
        (tmp_path / "inbox" / name).write_bytes(name.encode())
    return config


def test_a_queue_stopped_with_c_then_q_exits_5(tmp_path):
    config = home_with(tmp_path, ["a.mp3", "b.mp3"])
    fake = FakePipeline(["a.mp3", "b.mp3"], chunks=3)

    async def scenario():
        app = make_app(config, runner=fake)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("s")
            await wait_for(pilot, lambda: app.live.current is not None)
            await pilot.press("c")
            fake.step()  # the chunk under way finishes; then it stops
            await wait_for(pilot, lambda: not app.live.running, what="the queue to end")
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running, what="the app to quit")
        assert fake.stopped_on_request and "b.mp3" not in fake.done
        assert app.exit_code() == ExitCode.STOPPED == 5

    run(scenario)


def test_q_while_the_queue_runs_exits_5(tmp_path):
    config = home_with(tmp_path, ["a.mp3"])
    fake = FakePipeline(["a.mp3"], chunks=3)

    async def scenario():
        app = make_app(config, runner=fake)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("s")
            await wait_for(pilot, lambda: app.live.current is not None)
            await pilot.press("q")
            fake.step()
            await wait_for(pilot, lambda: not app.is_running, what="the app to quit")
        assert app.exit_code() == ExitCode.STOPPED

    run(scenario)


@pytest.mark.parametrize("start", [True, False])
def test_a_queue_that_ran_to_its_end_or_none_at_all_exits_0(tmp_path, start):
    config = home_with(tmp_path, ["a.mp3"])
    fake = FakePipeline(["a.mp3"], chunks=2, auto=True)

    async def scenario():
        app = make_app(config, runner=fake)
        async with app.run_test(size=(80, 24)) as pilot:
            if start:
                await pilot.press("s")
                await wait_for(pilot, lambda: fake.done == {"a.mp3"} and
                               not app.live.running, what="the queue to end")
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running, what="the app to quit")
        assert app.exit_code() == ExitCode.OK

    run(scenario)
