"""The settings screen: problems shown at their field, nothing saved while there are any, a
save that keeps the file's comments, and leaving with unsaved changes."""

from __future__ import annotations

import tomllib

from textual.widgets import Input

from pipeline.config.settings import load_config
from tests.support.tui_helpers import make_app, run, write_home
from tui.screens.config_editor import SettingsScreen
from tui.screens.dialogs import ConfirmDialog
from tui.screens.main import MainScreen
from tui.widgets.line import Line


def field(app, key: str) -> Input:
    return app.screen.query_one(f"#set-{key.replace('.', '--')}", Input)


def help_line(app, key: str) -> str:
    return app.screen.query_one(f"#help-{key.replace('.', '--')}", Line).shown_text


async def type_into(pilot, app, key: str, text: str) -> None:
    box = field(app, key)
    box.focus()
    box.value = ""
    await pilot.press(*text)


def test_problems_show_at_their_field_and_block_saving(tmp_path):
    config_path = write_home(tmp_path)
    before = config_path.read_text(encoding="utf-8")

    async def scenario():
        app = make_app(config_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("o")
            assert isinstance(app.screen, SettingsScreen)
            assert field(app, "transcription.chunk_seconds").value == "10.0"
            assert "audio handed to the engine" in help_line(app, "transcription.chunk_seconds")
            await type_into(pilot, app, "transcription.chunk_seconds", "5")
            assert help_line(app, "transcription.chunk_seconds") == "⚠ must be at least 10"
            await type_into(pilot, app, "input.recursive", "maybe")
            assert help_line(app, "input.recursive") == "⚠ must be true or false"
            await type_into(pilot, app, "speakers.unknown_below", "0.9")
            assert help_line(app, "speakers.unknown_below").startswith(
                "⚠ must not be above speakers.threshold")
            assert "3 problem(s)" in app.screen.query_one("#settings-status", Line).shown_text
            await pilot.press("ctrl+s")
            assert config_path.read_text(encoding="utf-8") == before
            assert app.screen.focused is field(app, "input.recursive")  # the first problem
            await type_into(pilot, app, "input.recursive", "false")
            assert help_line(app, "input.recursive") == "also scan sub-folders"

    run(scenario)


def test_save_keeps_comments_and_the_app_uses_the_new_config(tmp_path):
    config_path = write_home(tmp_path)

    async def scenario():
        app = make_app(config_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("o")
            await type_into(pilot, app, "transcription.chunk_seconds", "60")
            await type_into(pilot, app, "output.originals", "move")
            await type_into(pilot, app, "input.extensions", ".mp3, .ogg")
            await pilot.press("ctrl+s")
            assert "Saved." in app.screen.query_one("#settings-status", Line).shown_text
            text = config_path.read_text(encoding="utf-8")
            assert "chunk_seconds = 60.0   # small, so a short talk has several chunks" in text
            assert text.startswith("# A test config. Comments like this one must survive")
            data = tomllib.loads(text)
            assert data["output"]["originals"] == "move"
            assert data["input"]["extensions"] == [".mp3", ".ogg"]
            assert "model" not in data["transcription"]  # untouched keys are not written
            assert load_config(config_path).transcription.chunk_seconds == 60.0
            assert app.config.output.originals == "move"
            await pilot.press("escape")  # saved: no question
            assert isinstance(app.screen, MainScreen)

    run(scenario)


def test_leaving_with_unsaved_changes_asks(tmp_path):
    config_path = write_home(tmp_path)
    before = config_path.read_text(encoding="utf-8")

    async def scenario():
        app = make_app(config_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("o")
            await type_into(pilot, app, "titles.max_title_words", "8")
            await pilot.press("escape")
            assert isinstance(app.screen, ConfirmDialog)
            await pilot.press("n")
            assert isinstance(app.screen, SettingsScreen)
            await pilot.press("down", "up")  # arrows move between fields
            await pilot.press("escape", "y")
            assert isinstance(app.screen, MainScreen)
            assert config_path.read_text(encoding="utf-8") == before
            assert app.config.titles.max_title_words == 6

    run(scenario)


def test_a_table_is_a_line_of_name_equals_code_and_saves_as_one(tmp_path):
    config_path = write_home(tmp_path)

    async def put(pilot, app, text: str) -> None:  # at once: a key at a time checks each
        field(app, "input.languages").value = text
        await pilot.pause()

    async def scenario():
        app = make_app(config_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("o")
            assert field(app, "input.languages").value == ""
            await put(pilot, app, "spanish-mass = spanish")
            assert help_line(app, "input.languages").startswith(
                "⚠ the language of 'spanish-mass' must be one of Whisper's language codes")
            assert 'did you mean "es" (Spanish)?' in help_line(app, "input.languages")
            await put(pilot, app, "nonsense")
            assert help_line(app, "input.languages").startswith("⚠ must be a table")
            # A folder's name may hold a comma: each value is one word, a code.
            await put(pilot, app, "spanish-mass = es, talks, guest/fr = fr")
            assert help_line(app, "input.languages").startswith("the language spoken in")
            await pilot.press("ctrl+s")
            data = tomllib.loads(config_path.read_text(encoding="utf-8"))
            assert data["input"]["languages"] == {"spanish-mass": "es", "talks, guest/fr": "fr"}
            assert app.config.input.languages == {"spanish-mass": "es", "talks, guest/fr": "fr"}
            await pilot.press("escape")
            await pilot.press("o")  # shown again as it was typed
            assert field(app, "input.languages").value == "spanish-mass = es, talks, guest/fr = fr"

    run(scenario)
