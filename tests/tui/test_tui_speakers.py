"""The speaker-library screen: add a clip from a file, rename, merge, remove, and errors.
(A clip from a time range of a filed talk is added in test_tui_real.py.)"""

from __future__ import annotations

import subprocess

from textual.widgets import Input

from speakers.library import SpeakerLibrary
from tests.support.tui_helpers import make_app, run, screen_text, seed_library, wait_for, write_home
from tui.screens.dialogs import AskDialog, ChooseDialog, ConfirmDialog
from tui.screens.speakers import SpeakersScreen
from tui.widgets.speaker_panel import SpeakerPanel


def people(config) -> dict[str, int]:
    return {p.name: len(p.clips) for p in SpeakerLibrary(config.speakers.folder).people()}


def select(app, name: str) -> None:
    panel = app.screen.query_one(SpeakerPanel)
    panel.move_cursor(row=[p.name for p in panel.people].index(name))


async def ask(pilot, app, **values: str) -> None:
    """Fill the add-clips dialog (typing long paths key by key only makes a test slow)."""
    assert isinstance(app.screen, AskDialog)
    for key, value in values.items():
        app.screen.query_one(f"#ask-{key}", Input).value = value
    await pilot.press("ctrl+s")


async def library_settled(pilot, app, news: str) -> None:
    await wait_for(pilot, lambda: news in screen_text(app), what=news)


def test_rename_merge_remove(tmp_path):
    config_path = write_home(tmp_path)
    app = make_app(config_path)
    seed_library(app.config)

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("k")
            assert isinstance(app.screen, SpeakersScreen)
            await wait_for(pilot, lambda: "…" not in screen_text(app), what="speech measured")
            text = screen_text(app)
            assert "3 people, 6 clips" in text
            # The seeded clips are not audio: no speech, which the panel says.
            assert "Alan Webb |     3 | 0 s (too little) | folder Alan Webb/" in text
            select(app, "Robert Moss")
            await pilot.press("r")
            assert isinstance(app.screen, AskDialog)
            await pilot.press("ctrl+a", "ctrl+k", *"Bob Moss", "enter")
            await library_settled(pilot, app, "Renamed Robert Moss to Bob Moss: 1 clip(s) "
                                  "moved, 0 filed talk(s) re-filed.")
            assert people(app.config) == {"Alan Webb": 3, "Bob Moss": 1, "Sarah Lane": 2}
            select(app, "Bob Moss")
            await pilot.press("m")
            assert isinstance(app.screen, ChooseDialog)
            await pilot.press("down", "enter")  # Alan Webb, Sarah Lane → Sarah Lane
            # A merge re-files talks: it is asked once more, and n merges nothing.
            assert isinstance(app.screen, ConfirmDialog)
            await pilot.press("n")
            assert "Nothing merged: Bob Moss and Sarah Lane stay apart." in screen_text(app)
            assert people(app.config) == {"Alan Webb": 3, "Bob Moss": 1, "Sarah Lane": 2}
            await pilot.press("m", "down", "enter")
            assert isinstance(app.screen, ConfirmDialog)
            await pilot.press("y")
            await library_settled(pilot, app, "Merged Bob Moss into Sarah Lane: 1 clip(s) "
                                  "moved, 0 filed talk(s) re-filed.")
            assert people(app.config) == {"Alan Webb": 3, "Sarah Lane": 3}
            select(app, "Alan Webb")
            await pilot.press("d")
            assert isinstance(app.screen, ConfirmDialog)
            await pilot.press("n")
            assert people(app.config)["Alan Webb"] == 3
            await pilot.press("d", "y")
            await library_settled(pilot, app, "Removed Alan Webb")
            assert people(app.config) == {"Sarah Lane": 3}
            assert len(list((app.config.speakers.folder / ".removed").rglob("*.wav"))) == 3

    run(scenario)


def test_add_a_clip_from_a_file_and_say_what_went_wrong(tmp_path):
    config_path = write_home(tmp_path)
    app = make_app(config_path)
    clip = tmp_path / "a tone.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                    "sine=frequency=300:duration=4", str(clip)], check=True)

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("k")
            assert "Nobody is enrolled" not in screen_text(app)
            await pilot.press("r")
            assert "Nobody is enrolled yet" in screen_text(app)
            await pilot.press("a", *"Grace Hopper", "tab")
            await ask(pilot, app, source=str(clip))
            await library_settled(pilot, app, "Added Grace Hopper.wav for Grace Hopper.")
            assert people(app.config) == {"Grace Hopper": 1}
            # A file that is not there, and a start that is not a number: one sentence each.
            await pilot.press("a")
            await ask(pilot, app, source="no such clip.wav")
            await library_settled(pilot, app, "is not a file, and no talk has been filed yet")
            await pilot.press("a")
            await ask(pilot, app, source=str(clip), start="soon")
            await library_settled(pilot, app, "must be a number of seconds, not 'soon'")
            assert people(app.config) == {"Grace Hopper": 1}

    run(scenario)


def test_rename_starts_from_the_old_name_and_typing_extends_it(tmp_path):
    config_path = write_home(tmp_path)
    app = make_app(config_path)
    seed_library(app.config)

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("k")
            await wait_for(pilot, lambda: "…" not in screen_text(app), what="speech measured")
            select(app, "Robert Moss")
            await pilot.press("r")
            assert isinstance(app.screen, AskDialog)
            await pilot.press(*" Jr", "enter")
            await library_settled(pilot, app, "Renamed Robert Moss to Robert Moss Jr: 1 "
                                  "clip(s) moved, 0 filed talk(s) re-filed.")
            assert people(app.config) == {"Alan Webb": 3, "Robert Moss Jr": 1, "Sarah Lane": 2}

    run(scenario)
