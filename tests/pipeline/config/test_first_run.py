"""First run: `talks setup` answered on its stdin as a person would, and the app's setup
screen driven by Pilot; both write a commented config that validates, and a second setup
keeps the file's comments."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tomllib
from pathlib import Path

from textual.widgets import Input

from pipeline.config.settings import load_config
from tests.support.paths import ROOT  # noqa: E402
from tui.setup_app import SetupApp, SetupScreen
from tui.widgets.line import Line


def talks(*args: str, stdin: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], input=stdin,
                          capture_output=True, text=True, cwd=cwd, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(cwd),
                               "PYTHONPATH": str(ROOT)})


def test_plain_setup_checks_folders_and_writes_a_valid_commented_config(tmp_path):
    (tmp_path / "tapes").mkdir()
    for name in ("a.mp3", "b.mp3", "c.wav", ".hidden.mp3", "notes.txt"):
        (tmp_path / "tapes" / name).write_bytes(b"x")
    answers = "\n".join([
        "tapes, sermons",   # sermons does not exist …
        "y",                # … create it
        "filed",            # output root
        "",                 # speaker library: the default
        "faster-whisper",
        "base",
        "n",                # no schedule
    ]) + "\n"
    proc = talks("setup", stdin=answers, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "tapes: 3 recording(s) (2 .mp3, 1 .wav)" in out
    assert "sermons does not exist" in out and (tmp_path / "sermons").is_dir()
    assert "No one enrolled yet" in out
    assert "`talks config validate`: OK" in out
    path = tmp_path / "config.toml"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# talks — configuration.")
    assert "# folders scanned for recordings" in text
    config = load_config(path)
    assert [f.name for f in config.input.folders] == ["tapes", "sermons"]
    assert config.output.root == tmp_path / "filed" and config.output.root.is_dir()
    assert config.transcription.engine == "faster-whisper"
    assert config.transcription.model == "base"
    assert config.logging.file == tmp_path / "filed" / "talks.log"
    assert talks("config", "validate", stdin="", cwd=tmp_path).returncode == 0

    # A second setup starts from these answers and keeps the user's own comments; "auto"
    # (a model by each talk's language) is one of the models it offers.
    path.write_text("# my note, keep it\n" + text, encoding="utf-8")
    again = talks("setup", stdin="\n\n\n\nauto\nn\n", cwd=tmp_path)
    assert again.returncode == 0, again.stdout
    assert "[tapes, sermons]" in again.stdout
    assert "auto: by each talk's language" in again.stdout
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# my note, keep it\n")
    assert tomllib.loads(text)["transcription"]["model"] == "auto"


def test_setup_of_a_config_elsewhere_gives_its_config_option_in_the_hints(tmp_path):
    # The commands it suggests must find this config: it is not ./config.toml here.
    import shlex

    path = tmp_path / "my talks" / "talks.toml"
    (path.parent / "tapes").mkdir(parents=True)
    answers = "tapes\nfiled\n\nauto\ntiny.en\nn\n"
    proc = talks("--config", str(path), "setup", stdin=answers, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    option = f"--config {shlex.quote(str(path))}"
    assert f"`talks {option} config validate`: OK." in proc.stdout
    assert (f"Next: `talks {option}` opens the app (s starts the queue); `talks {option} "
            f"--batch` files every new recording headless; `talks {option} --watch` files "
            "them as they arrive.") in proc.stdout


def test_setup_without_answers_writes_nothing(tmp_path):
    proc = talks("setup", stdin="", cwd=tmp_path)
    assert proc.returncode == 2
    assert "Nothing was written" in proc.stdout
    assert not (tmp_path / "config.toml").exists()


def test_setup_refuses_a_missing_folder_until_it_is_fixed(tmp_path):
    (tmp_path / "talks-in").mkdir()
    answers = "nowhere\nn\ntalks-in\nout\nlib\nauto\ntiny.en\nn\n"
    proc = talks("setup", stdin=answers, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert "nowhere does not exist" in proc.stdout
    assert load_config(tmp_path / "config.toml").input.folders == [tmp_path / "talks-in"]


def test_the_setup_screen_writes_the_config(tmp_path):
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "one.m4a").write_bytes(b"x")
    path = tmp_path / "config.toml"

    async def scenario():
        app = SetupApp(path)
        async with app.run_test(size=(80, 24)) as pilot:
            assert isinstance(app.screen, SetupScreen)
            box = app.screen.query_one("#setup-folders", Input)
            assert app.screen.focused is box  # typing goes straight into the first field
            box.value = ""
            await pilot.press(*"inbox")
            assert "inbox: 1 recording(s) (1 .m4a)" in \
                app.screen.query_one("#setup-help-folders", Line).shown_text
            app.screen.query_one("#setup-time", Input).value = "99:00"
            await pilot.pause()
            await pilot.press("ctrl+s")
            assert not path.exists()  # a bad time: nothing written
            assert "schedule.time" in app.screen.query_one("#settings-status", Line).shown_text
            app.screen.query_one("#setup-time", Input).value = "03:15"
            await pilot.pause()
            await pilot.press("ctrl+s")
            await pilot.pause()
        return app.return_value

    assert asyncio.run(scenario()) is True
    config = load_config(path)
    assert config.input.folders == [tmp_path / "inbox"]
    assert config.schedule.time == "03:15"
    assert "# where talks/, transcripts/, raw/ and the ledger live" in path.read_text("utf-8")
