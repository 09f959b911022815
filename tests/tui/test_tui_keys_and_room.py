"""Keys that do what they say, and text that fits: p pauses and p again goes on, w starts what
already waits and shows that it watches, the footer keeps q Quit at 80×24 while a run goes,
dialogs and hints wrap at a word, and the file table's names use a wide terminal's room.

Each test reads what the terminal would show (screen_lines), not the widgets' state."""

from __future__ import annotations

import logging
import re

from pipeline.run.logs import LOGGER_NAME
from tests.support.tui_helpers import (
    FakePipeline,
    make_app,
    run,
    seed_ledger,
    seed_library,
    wait_for,
    write_home,
)
from tui.screens.dialogs import ConfirmDialog
from tui.screens.log import LogScreen
from tui.widgets.file_table import FileTable

NAMES = ["a.mp3", "b.mp3"]


def home_with(tmp_path, names=NAMES):
    config = write_home(tmp_path)
    for name in names:
        (tmp_path / "inbox" / name).write_bytes(name.encode())
    return config


def screen_lines(app) -> list[str]:
    """The terminal's rows as a person sees them, drawn as export_screenshot draws them."""
    return ["".join(segment.text for segment in strip)
            for strip in app.screen._compositor.render_strips()]


def footer(app) -> str:
    return screen_lines(app)[-1]


def status(app) -> str:
    return screen_lines(app)[0]


def box_text(app, selector: str) -> str:
    """The words inside a bordered widget, its lines joined: a sentence wrapped over several
    lines reads whole; one cut at the border does not."""
    region = app.screen.query_one(selector).region
    lines = screen_lines(app)[region.y + 1:region.bottom - 1]
    return " ".join(" ".join(line[region.x + 1:region.right - 1].split()) for line in lines)


def test_p_pauses_and_p_again_goes_on(tmp_path):
    config = home_with(tmp_path)
    fake = FakePipeline(NAMES, chunks=2)

    async def scenario():
        app = make_app(config, runner=fake)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("s")
            await wait_for(pilot, lambda: app.live.current is not None, what="a.mp3 started")
            await wait_for(pilot, lambda: "p Pause" in footer(app), what="p Pause")
            # p: pausing after this file; the footer's p now goes on.
            await pilot.press("p")
            await wait_for(pilot, lambda: "queue pausing after this file" in status(app))
            await wait_for(pilot, lambda: "p Go on" in footer(app), what="p Go on")
            # p again, before the file is done: the pause is off.
            await pilot.press("p")
            await wait_for(pilot, lambda: "queue running" in status(app), what="running")
            await wait_for(pilot, lambda: "p Pause" in footer(app), what="p Pause again")
            # p, and this time the file finishes and the queue waits.
            await pilot.press("p")
            fake.step(2)
            await wait_for(pilot, lambda: not app.live.running, what="the pause")
            await wait_for(pilot, lambda: "queue paused" in status(app), what="paused")
            assert fake.done == {"a.mp3"}
            assert ("Paused after the file in progress: p goes on with the next one."
                    in box_text(app, "#progress")), screen_lines(app)
            assert "p Go on" in footer(app)
            # p once paused: the queue goes on with the next file.
            await pilot.press("p")
            await wait_for(pilot, lambda: app.live.current is not None
                           and app.live.current.name == "b.mp3", what="b.mp3 started")
            fake.step(2)
            await wait_for(pilot, lambda: not app.live.running, what="the end")
            assert fake.done == set(NAMES) and fake.runs == 2

    run(scenario)


def test_w_starts_what_waits_and_shows_that_it_watches(tmp_path):
    config = home_with(tmp_path)
    fake = FakePipeline(NAMES, chunks=1)
    said: list[str] = []
    logger = logging.getLogger(LOGGER_NAME)
    handler = logging.Handler()
    handler.emit = lambda record: said.append(record.getMessage())  # type: ignore[method-assign]

    async def scenario():
        app = make_app(config, runner=fake)
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.main_screen.query_one(FileTable)
            await wait_for(pilot, lambda: table.row_count == 2, what="the first scan")
            await wait_for(pilot, lambda: "w Watch" in footer(app), what="the footer")
            assert "watching" not in status(app)
            await pilot.press("w")
            # What was in the inbox already is queued at once, as `talks --watch` files it.
            await wait_for(pilot, lambda: fake.runs == 1 and app.live.current is not None,
                           what="the queue to start")
            await wait_for(pilot, lambda: re.search(r"b\.mp3 +queued", "\n".join(
                screen_lines(app))), what="b.mp3 queued")
            await wait_for(pilot, lambda: "queue running, watching" in status(app))
            assert "w Stop watching" in footer(app) and "q Quit" in footer(app)
            assert any("watching the input folders" in line for line in said)
            fake.step(2)
            await wait_for(pilot, lambda: not app.live.running, what="the queue to end")
            await wait_for(pilot, lambda: "queue watching" in status(app), what="watching")
            await pilot.press("w")
            await wait_for(pilot, lambda: "w Watch " in footer(app), what="w Watch")
            assert "watching" not in status(app) and not app.watching.on
            assert fake.runs == 1

    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        run(scenario)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_the_footer_keeps_quit_while_a_run_goes_at_80x24(tmp_path):
    config = home_with(tmp_path)
    fake = FakePipeline(NAMES, chunks=1)

    async def scenario():
        app = make_app(config, runner=fake)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("s")
            await wait_for(pilot, lambda: "c Stop" in footer(app), what="the run's keys")
            assert "? Help q Quit" in footer(app), footer(app)
            await pilot.press("w")  # its label grows: "w Stop watching"
            await wait_for(pilot, lambda: "w Stop watching" in footer(app), what="watching")
            assert "? Help q Quit" in footer(app), footer(app)
            # A key that left the footer still works.
            await pilot.press("l")
            await wait_for(pilot, lambda: isinstance(app.screen, LogScreen), what="the log")
            await pilot.press("escape")
            fake.step(2)
            await wait_for(pilot, lambda: not app.live.running, what="the end")

    run(scenario)


def test_a_dialogs_question_wraps_whole_at_80x24(tmp_path):
    config_path = write_home(tmp_path)
    seed_library(seed_ledger(config_path))

    async def scenario():
        app = make_app(config_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("k")
            await wait_for(pilot, lambda: "Alan Webb" in "\n".join(screen_lines(app)),
                           what="the speakers")
            await pilot.press("d")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="ask")
            await pilot.pause()
            assert box_text(app, ".dialog") == ("Remove Alan Webb? Their clips are moved to "
                                                ".removed/ in the library, not deleted.")

    run(scenario)


def test_a_wide_terminal_shows_long_recording_and_speaker_names_whole(tmp_path):
    config_path = write_home(tmp_path)
    seed_ledger(config_path)  # "Miscellaneous Speakers" is among its speakers
    long_name = "annual beekeepers meeting.mp3"
    (tmp_path / "inbox" / long_name).write_bytes(b"not audio")

    async def scenario():
        app = make_app(config_path)
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.main_screen.query_one(FileTable)
            await wait_for(pilot, lambda: table.row_count == 7, what="the first scan")
            await pilot.pause()
            shown = "\n".join(screen_lines(app))
            assert f" {long_name} " in shown, shown
            assert " Miscellaneous Speakers " in shown, shown
            assert " Sourdough Bread and Starter" in shown, shown  # the title kept its room

    run(scenario)
