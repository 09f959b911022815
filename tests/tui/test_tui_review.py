"""The review screen on talks in a known state: a new person, Miscellaneous Speakers, skip,
and a candidate number that is not there. (Picking a candidate and enrolling its voice is
tested on a real talk in test_tui_real.py.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipeline.ledger import Ledger
from tests.support.paths import ROOT
from tests.support.tui_helpers import make_app, run, screen_text, seed_ledger, wait_for, write_home
from tui.screens.dialogs import AskDialog
from tui.screens.main import MainScreen
from tui.screens.review import ReviewScreen

MISC = "Miscellaneous Speakers"


def reviewed(config, name: str):
    with Ledger(config.output.ledger_path) as ledger:
        return next(r for r in ledger.all_files() if r.name == name)


def test_review_shows_candidates_and_excerpt_then_a_new_person(tmp_path):
    config_path = write_home(tmp_path)
    config = seed_ledger(config_path)

    async def scenario():
        app = make_app(config_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("r")
            assert isinstance(app.screen, ReviewScreen)
            text = screen_text(app)
            assert "talk 1 of 1 · sourdough.wav (2024, 0:26)" in text
            assert "1  Sarah Lane   0.912" in text and "3  Alan Webb    0.402" in text
            assert "under the threshold 0.95" in text
            assert "Sourdough bread rises without any yeast" in text
            await pilot.press("n")
            assert isinstance(app.screen, AskDialog)
            await pilot.press(*"Ida Wells", "enter")
            await wait_for(pilot, lambda: "no talks need review" in screen_text(app))
            assert "Filed as Ida Wells - Sourdough Bread and Starter.mp3" in screen_text(app)
            row = reviewed(config, "sourdough.wav")
            assert row.speaker == "Ida Wells" and not row.needs_review
            assert Path(row.destination).is_file() and "/Ida Wells/" in row.destination
            assert not list(config.output.talks_dir.rglob(f"{MISC}/*"))
            await pilot.press("escape")
            assert isinstance(app.screen, MainScreen)

    run(scenario)


def test_skip_keeps_a_talk_listed_and_m_files_it_under_misc(tmp_path):
    config_path = write_home(tmp_path)
    config = seed_ledger(config_path, reviews=2)

    async def scenario():
        app = make_app(config_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("r")
            assert "talk 1 of 2 · sourdough.wav" in screen_text(app)
            await pilot.press("s")
            assert "talk 2 of 2 · sourdough 2.wav" in screen_text(app)
            assert "Skipped sourdough.wav" in screen_text(app)
            await pilot.press("m")
            await wait_for(pilot, lambda: "no talks need review (1 skipped)" in screen_text(app))
            kept = reviewed(config, "sourdough 2.wav")
            assert kept.speaker == MISC and not kept.needs_review
            assert kept.speaker_decision == "manual" and Path(kept.destination).is_file()
            assert reviewed(config, "sourdough.wav").needs_review  # skipped: still listed
            await pilot.press("escape", "r")
            assert "talk 1 of 1 · sourdough.wav" in screen_text(app)

    run(scenario)


def test_a_candidate_that_is_not_there_and_the_enroll_switch(tmp_path):
    config_path = write_home(tmp_path)
    config = seed_ledger(config_path)

    async def scenario():
        app = make_app(config_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("r", "9")
            assert "There is no candidate 9." in screen_text(app)
            assert reviewed(config, "sourdough.wav").needs_review
            assert "[ ] e:" in screen_text(app)
            await pilot.press("e")
            assert "[x] e:" in screen_text(app)

    run(scenario)


def test_the_enroll_switch_is_for_one_talk_only(tmp_path):
    """A pick with `e` on enrolls that talk's voice; the next talk starts with it off, so its
    voice is never enrolled by a switch left on."""
    config_path = write_home(tmp_path)
    seed_ledger(config_path, reviews=3)

    async def scenario():
        app = make_app(config_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("r", "e")
            assert "[x] e:" in screen_text(app)
            await pilot.press("m")
            await wait_for(pilot, lambda: "talk 1 of 2" in screen_text(app))
            assert "[ ] e:" in screen_text(app)
            await pilot.press("e", "s")
            assert "talk 2 of 2" in screen_text(app) and "[ ] e:" in screen_text(app)

    run(scenario)


def test_nothing_to_review(tmp_path):
    config_path = write_home(tmp_path)

    async def scenario():
        app = make_app(config_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("r", "1", "m", "s")
            assert "no talks need review" in screen_text(app)

    run(scenario)


# What a batch holds for its whole run (pipeline/run/session.py), held by another process.
HOLD_THE_LOCK = """
import sys
from pipeline.config.settings import load_config
from pipeline.run.lock import exclusive_run
with exclusive_run(load_config(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_a_pick_while_a_batch_runs_is_refused_and_moves_nothing(tmp_path):
    """The review screen's relabel takes the run lock inside the seam: while another run
    files into the same root it is refused with the run's sentence, the talk stays where it
    is and still needs review; once that run ends, the same pick files it."""
    config_path = write_home(tmp_path)
    config = seed_ledger(config_path)
    before = reviewed(config, "sourdough.wav")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(config_path)],
                              cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"

        async def scenario():
            app = make_app(config_path)
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.press("r", "1")
                await wait_for(pilot, lambda: "Another talks run is filing into" in
                               screen_text(app))
                row = reviewed(config, "sourdough.wav")
                assert row.needs_review and row.destination == before.destination
                assert Path(before.destination).is_file()
                holder.communicate("\n", timeout=30)  # the batch ends
                await pilot.press("1")
                await wait_for(pilot, lambda: "no talks need review" in screen_text(app))
                row = reviewed(config, "sourdough.wav")
                assert row.speaker == "Sarah Lane" and not row.needs_review
                assert Path(row.destination).is_file() and not Path(before.destination).exists()

        run(scenario)
    finally:
        holder.kill()
        holder.wait()
