"""The voices view (k then v, or v): the groups of unnamed voices largest first, a group's
talks, taking a talk out, merging two groups, naming one (its talks re-filed on disk, the
person enrolled), a refusal while a run files, a clip played or its path shown; and the
main screen saying after a run that voices wait for a name.

The ledger is seeded without Whisper or a speaker model: filed talks under the default
speaker whose filed copies are real audio (a tone: naming cuts the person's clips from
them with ffmpeg), a transcript segment placing their speech, their voices as unit vectors
and the groups as a run would have stored them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from textual.widgets import Input

from pipeline.config.settings import Config, load_config
from pipeline.ledger import Ledger
from pipeline.run.lock import exclusive_run
from pipeline.run.states import FileState
from speakers.library import SpeakerLibrary
from tests.support.paths import ROOT
from tests.support.tui_helpers import (
    FakePipeline,
    make_app,
    run,
    screen_text,
    wait_for,
    write_home,
)
from tui.screens.dialogs import AskDialog, ChooseDialog, ConfirmDialog
from tui.screens.speakers import SpeakersScreen
from tui.screens.voices import VoicesScreen

MISC = "Miscellaneous Speakers"
SECONDS = 8.0
# group id -> the titles of its talks, as a run left them: 7 holds three talks, 4 and 9 two.
GROUPS = {4: ["Bees in Winter", "Hives at Dawn"],
          7: ["Sourdough Starter", "Rye and Spelt", "Baking at Altitude"],
          9: ["Kayak Safety", "Rolling a Kayak"]}


def seed_voices(config_path: Path, tmp_path: Path) -> tuple[Config, dict[str, int]]:
    """The talks of GROUPS filed under the default speaker, grouped; title -> talk number."""
    config = load_config(config_path)
    tone = tmp_path / "tone.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"sine=frequency=220:duration={SECONDS}", str(tone)], check=True)
    rng = np.random.default_rng(30)
    numbers: dict[str, int] = {}
    groups: dict[int, int] = {}
    with Ledger(config.output.ledger_path) as ledger:
        for gid, titles in GROUPS.items():
            centre = rng.normal(size=192)
            for year, title in enumerate(titles, start=2021):
                recording = config.input.folders[0] / f"{title.lower()}.mp3"
                recording.write_bytes(f"the recording of {title}".encode())
                row, _ = ledger.register(recording, ledger.hash_of(recording))
                stem = f"{MISC} - {title}"
                talk = config.output.talks_dir / str(year) / MISC / f"{stem}.wav"
                text = config.output.transcripts_dir / str(year) / MISC / f"{stem}.txt"
                for path in (talk, text):
                    path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(tone, talk)
                text.write_text(f"A talk about {title}.", encoding="utf-8")
                ledger.save_plan(row.id, [(0.0, SECONDS)])
                ledger.save_chunk(row.id, 0, f"A talk about {title}.",
                                  [{"start": 0.0, "end": SECONDS, "text": title}], 1, 1.0)
                for state in (FileState.PROBED, FileState.TRANSCRIBED, FileState.IDENTIFIED,
                              FileState.TITLED):
                    ledger.advance(row.id, state)
                ledger.advance(row.id, FileState.FILED, speaker=MISC, title=title, year=year,
                               destination=str(talk), transcripts=[str(text)],
                               planned_name=stem, duration=SECONDS)
                voice = centre + rng.normal(scale=0.1, size=192)  # one voice, heard again
                ledger.save_voice(row.id, "campplus", voice / np.linalg.norm(voice), 3)
                numbers[title] = row.id
                groups[row.id] = gid
        ledger.set_voice_groups(groups)
    return config, numbers


def shown_groups(app) -> list[str]:
    table = app.screen.group_table
    return [str(table.get_row_at(n)[0]).strip() for n in range(table.row_count)]


async def name_in_dialog(pilot, app, name: str) -> None:
    """n, and the name put in its box (typed key by key, a name only makes a test slow)."""
    await pilot.press("n")
    assert isinstance(app.screen, AskDialog)
    app.screen.query_one("#ask-name", Input).value = name
    await pilot.press("enter")


async def settled(pilot, app, news: str = "") -> None:
    """The voices read (after a change: its sentence said)."""
    await wait_for(pilot, lambda: isinstance(app.screen, VoicesScreen) and not app.screen.busy
                   and news in screen_text(app), what=news or "the voices read")


def test_list_talks_take_out_merge_and_name(tmp_path):
    config_path = write_home(tmp_path)
    config, numbers = seed_voices(config_path, tmp_path)
    app = make_app(config_path)

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("k", "v")
            await settled(pilot, app)
            assert shown_groups(app) == ["7", "4", "9"]  # the largest first, then by number
            text = screen_text(app)
            assert "3 voices in 7 talks" in text
            assert "7 |     3 |   24 s | 2021–2023 |" in text  # talks, speech, years
            await pilot.press("enter")  # voice 7's talks: where each is filed, and from what
            text = screen_text(app)
            assert f"#{numbers['Rye and Spelt']} | rye and spelt.mp3 | 2022/{MISC}/{MISC} - " \
                   "Rye and Spelt.wav" in text
            # The highlighted talk's whole path, under the table.
            first = app.screen.talk
            assert f"#{first.id} is filed as {config.output.talks_dir}/" in text
            # Taking a talk out is asked first; n changes nothing.
            while app.screen.talk.title != "Rye and Spelt":
                await pilot.press("down")
            await pilot.press("x")
            assert isinstance(app.screen, ConfirmDialog)
            await pilot.press("n")
            await pilot.press("x", "y")
            await settled(pilot, app, f"Took {MISC} - Rye and Spelt.wav out of voice 7.")
            with Ledger(config.output.ledger_path) as ledger:
                assert numbers["Rye and Spelt"] not in ledger.voice_groups()
                assert frozenset((numbers["Rye and Spelt"], numbers["Sourdough Starter"])) \
                    in ledger.voice_links("apart")  # it never joins voice 7 again
            assert app.screen.talk_table.row_count == 2
            await pilot.press("escape")  # back to the voices: 7 now has two talks like 4, 9
            assert shown_groups(app) == ["4", "7", "9"]
            # Voice 9 merged into voice 4, after a confirmation.
            app.screen.group_table.move_cursor(row=2)
            await pilot.press("m")
            assert isinstance(app.screen, ChooseDialog)
            await pilot.press("enter")  # the first other voice: 4
            assert isinstance(app.screen, ConfirmDialog)
            await pilot.press("y")
            await settled(pilot, app, "Merged voice 9 into voice 4: it now holds 4 talks.")
            assert shown_groups(app) == ["4", "7"]
            assert app.screen.group.id == 4
            # Naming while a run files is refused in one sentence, and nothing moves.
            with exclusive_run(config):
                await name_in_dialog(pilot, app, "Ada Lovelace")
                await settled(pilot, app, "Another talks run is filing into")
            assert shown_groups(app) == ["4", "7"]
            # Named: the person enrolled from the voice's speech, its four talks re-filed.
            await name_in_dialog(pilot, app, "Ada Lovelace")
            await settled(pilot, app, "Filed 4 talks of voice 4 under Ada Lovelace; enrolled")
            assert shown_groups(app) == ["7"]
            filed = sorted(p.name for p in config.output.talks_dir.rglob("Ada Lovelace/*"))
            assert filed == sorted(f"Ada Lovelace - {t}.wav" for t in [*GROUPS[4], *GROUPS[9]])
            left = {p.name for p in config.output.talks_dir.rglob(f"{MISC}/*")}
            assert left == {f"{MISC} - {t}.wav" for t in GROUPS[7]}
            await pilot.press("escape")  # the speaker library lists her now
            assert isinstance(app.screen, SpeakersScreen)
            assert "Ada Lovelace" in screen_text(app)
            assert SpeakerLibrary(config.speakers.folder).person("Ada Lovelace").clips

    run(scenario)


def test_a_clip_of_a_voice_is_played_or_its_path_shown(tmp_path, monkeypatch):
    config_path = write_home(tmp_path)
    seed_voices(config_path, tmp_path)
    # A PATH with ffmpeg (the clip is cut with it) and no audio player, then with a stand-in
    # ffplay that writes down what it was asked to play: no sound can be played here.
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("ffmpeg", "ffprobe"):
        (tools / tool).symlink_to(shutil.which(tool))
    monkeypatch.setenv("PATH", str(tools))
    app = make_app(config_path)
    # Named by the group and the talk it is cut from (its most typical).
    clips = app.config.output.ledger_path.parent / "voices"

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("v")  # from the main screen too
            await settled(pilot, app)
            await pilot.press("p")
            await settled(pilot, app, "No audio player here: the clip is at "
                                      f"{clips / 'voice 7 from talk '}")
            (clip,) = clips.glob("voice 7 from talk *.wav")
            played = tmp_path / "played.txt"
            player = tools / "ffplay"
            player.write_text(f'#!/bin/sh\necho "$@" > "{played}"\n', encoding="utf-8")
            player.chmod(0o755)
            await pilot.press("p")
            await settled(pilot, app, "Playing voice 7 on this machine's speakers (ffplay)")
            await wait_for(pilot, played.is_file, what="the player started")
            app.playback.process.wait(5)
            assert played.read_text().split() == ["-nodisp", "-autoexit", "-loglevel",
                                                  "quiet", *str(clip).split()]

    run(scenario)


def test_after_a_run_the_app_says_voices_wait_for_a_name(tmp_path):
    config_path = write_home(tmp_path)
    seed_voices(config_path, tmp_path)
    fake = FakePipeline(["a talk.mp3"], chunks=1, auto=True, voices=(3, 7))
    app = make_app(config_path, runner=fake)

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: "3 voices to name (v)" in screen_text(app),
                           what="the status line")
            await pilot.press("s")
            await wait_for(pilot, lambda: fake.runs and not app.live.running, what="the run")
            await wait_for(pilot, lambda: "Voices heard in two or more talks wait for a name: "
                           "3 voices in 7 talks (v names them)." in screen_text(app),
                           what="the news")
            assert "3 voices to name (v)" in screen_text(app)

    run(scenario)


def test_with_nothing_filed_the_view_says_why_no_voice_waits(tmp_path):
    config_path = write_home(tmp_path)
    app = make_app(config_path)

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("v")
            await settled(pilot, app, "No voice waits for a name: no two talks under "
                          f"{MISC} share a voice")
            await pilot.press("n", "p", "m")  # nothing to act on: the same sentence
            assert isinstance(app.screen, VoicesScreen)
            assert not app.config.output.ledger_path.exists()  # not made by looking
            await pilot.press("escape")
            assert not isinstance(app.screen, VoicesScreen)

    run(scenario)


NUMPY_LATE = """
import asyncio, sys
from pathlib import Path
from tests.support.tui_helpers import make_app, wait_for

async def main():
    app = make_app(Path(sys.argv[1]))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "3 voices to name" in str(
            app.main_screen.query_one("#status").render()), what="the status line")
        await pilot.press("k")
        print("at start:", "numpy" in sys.modules)
        await pilot.press("v")
        await wait_for(pilot, lambda: not app.screen.busy, what="the voices read")
        print("with the voices:", "numpy" in sys.modules)

asyncio.run(main())
"""


def test_the_app_imports_numpy_only_once_the_voices_are_read(tmp_path):
    # The app is one small process: the voices view orders a group's talks with numpy, which
    # is imported then, in its thread, not when the app (or the speakers screen) starts.
    config_path = write_home(tmp_path)
    seed_voices(config_path, tmp_path)
    done = subprocess.run([sys.executable, "-c", NUMPY_LATE, str(config_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["at start: False", "with the voices: True"]
