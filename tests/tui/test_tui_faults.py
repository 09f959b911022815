"""A fault of the machine in the app: one sentence on screen, and the app stays usable."""

from __future__ import annotations

from tests.support.mounts import mounts  # noqa: F401 - a fixture
from tests.support.speech import TALKS, make_talk
from tests.support.tui_helpers import make_app, run, screen_text, wait_for, write_home
from tui.screens.help import HelpScreen


def test_a_read_only_output_disk_is_one_sentence_and_the_app_goes_on(tmp_path,
                                                                     mounts):  # noqa: F811
    config_path = write_home(tmp_path)
    make_talk(tmp_path / "inbox" / "bees.wav", TALKS["bees"][:2])
    mounts.tmpfs(tmp_path / "out", "4m", read_only=True)
    seen: dict = {}

    async def scenario():
        app = make_app(config_path)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("s")
            await wait_for(pilot, lambda: app.live.problem is not None, timeout=60,
                           what="the queue to stop on the fault")
            seen["problem"] = app.live.problem
            seen["notes"] = [n.message for n in app._notifications]
            await pilot.press("question_mark")  # still answering keys
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
            await pilot.press("escape")
            seen["screen"] = screen_text(app)

    run(scenario)
    assert "read-only disk" in seen["problem"], seen
    assert "Traceback" not in seen["problem"] and "\n" not in seen["problem"]
    assert any("read-only disk" in note for note in seen["notes"]), seen["notes"]
    assert "bees.wav" in seen["screen"]
    assert list((tmp_path / "out").iterdir()) == []  # nothing could be, nothing was written
