"""The speaker-library screen: add a clip from a file, rename, merge, remove, and errors.
(A clip from a time range of a filed talk is added in test_tui_real.py.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

from textual.widgets import Input

from pipeline.ledger import Ledger
from speakers.library import SpeakerLibrary
from tests.support.tui_helpers import (
    make_app,
    run,
    screen_text,
    seed_ledger,
    seed_library,
    wait_for,
    write_home,
)
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


def tone(path: Path, hz: int) -> Path:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=frequency={hz}:duration=4", str(path)], check=True)
    return path


def test_a_library_gone_missing_is_said_instead_of_nobody_yet(tmp_path):
    # The library's disk unplugged: the screen said "Nobody yet: a adds a person's first
    # clips", and a made a new, empty library in its place.
    config_path = write_home(tmp_path)
    app = make_app(config_path)
    seed_library(app.config)
    library = app.config.speakers.folder
    clip = tone(tmp_path / "a tone.wav", 300)
    missing = (f"The speaker library {library} is missing, but people were enrolled from it "
               "before: if it is on an external disk, mount it and run again")

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("k")
            assert "3 people, 6 clips" in screen_text(app)
            await pilot.press("escape")
            library.rename(tmp_path / "unplugged disk")
            await pilot.press("k")
            text = screen_text(app)
            assert missing in text and "Nobody yet" not in text
            assert "· missing" in text
            await pilot.press("d")  # nobody to remove: the same sentence, not "Nobody is …"
            assert "Nobody is enrolled" not in screen_text(app)
            await pilot.press("a")
            await ask(pilot, app, name="Grace Hopper", source=str(clip))
            await wait_for(pilot, lambda: "Adding" not in screen_text(app), what="the add")
            assert missing in screen_text(app)
            assert not library.exists()  # no new library in the unplugged one's place

    run(scenario)


def test_adding_a_talk_filed_under_someone_else_asks_first(tmp_path):
    config_path = write_home(tmp_path)
    config = seed_ledger(config_path)
    with Ledger(config.output.ledger_path) as ledger:
        rows = {r.name: r for r in ledger.all_files()}
    bees, sourdough = rows["bees lecture.mp3"], rows["sourdough.wav"]
    assert (bees.speaker, sourdough.speaker) == ("Sarah Lane", "Miscellaneous Speakers")
    tone(Path(bees.destination), 300)  # the filed copies, as audio
    tone(Path(sourdough.destination), 500)
    app = make_app(config_path)

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("k", "a")
            await ask(pilot, app, name="Grace Hopper", source=str(bees.id))
            # Enrolled as someone else without a word, before.
            assert isinstance(app.screen, ConfirmDialog)
            assert ("Sarah Lane - Bees, Hive and Honey.mp3 is filed under Sarah Lane. Add its "
                    "voice to Grace Hopper anyway? If the whole talk is Grace Hopper's, "
                    f"relabel it instead (talks relabel {bees.id} 'Grace Hopper' --enroll)"
                    ) in app.screen.question
            await pilot.press("n")
            assert ("Nothing added: Sarah Lane - Bees, Hive and Honey.mp3 stays Sarah Lane's."
                    in screen_text(app))
            assert people(app.config) == {}
            await pilot.press("a")
            # Given by its path, the filed copy is known as the talk it is.
            await ask(pilot, app, name="Grace Hopper", source=bees.destination, start="1",
                      duration="2")
            assert isinstance(app.screen, ConfirmDialog)
            await pilot.press("y")  # a part of it is hers (a co-speaker, a question)
            await library_settled(pilot, app, "Added Grace Hopper.wav for Grace Hopper.")
            # A talk filed under nobody's name is what a new person is enrolled from: no
            # question.
            await pilot.press("a")
            await ask(pilot, app, name="Grace Hopper", source="sourdough bread and starter")
            assert not isinstance(app.screen, ConfirmDialog)
            await library_settled(pilot, app, "Added Grace Hopper_1.wav for Grace Hopper.")
            assert people(app.config) == {"Grace Hopper": 2}

    run(scenario)
