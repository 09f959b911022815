"""The search (`/` on the main screen): moments found as you type, in a thread that never
stalls the screen and whose stale results are dropped, the index caught up first and saying
how far, a query with nothing to look for said in its sentence; Enter opens the transcript at
the moment with the words marked, n and N step through the talk's moments, c writes a clip
of ~30 s around one (cut by the real ffmpeg) and plays it when the machine has a player.

The archive is a real ledger whose talks were filed without the search index (as an archive
filed before it existed): the screen brings the index up to date itself. One talk's filed
copy is real sound (a tone), for its clips."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from dataclasses import replace
from pathlib import Path

from textual.widgets import Input

from pipeline.api.search import MARK_ON
from pipeline.config.settings import Config, load_config
from pipeline.ledger import Ledger
from pipeline.search.hits import TalkHits
from tests.support.tui_helpers import _filed, make_app, run, wait_for, write_home
from tui.screens.main import MainScreen
from tui.screens.search import HINT, SearchScreen
from tui.screens.transcript import TranscriptAtHit, talk_heading
from tui.widgets.marked import MARK_STYLE

# Each cue its own passage of the index (120 words or more), so each is its own moment.
FILLER = " ".join(["and the garden was quiet while the weather stayed mild"] * 12)
BEES = [(0.0, 10.0, "Honey is what the bees make. " + FILLER),
        (10.0, 20.0, "The hive keeps its queen warm. " + FILLER),
        (20.0, 30.0, "Smoke [it calms them] before the honey is taken. " + FILLER),
        (30.0, 40.0, "Swarms leave in spring. " + FILLER),
        (40.0, 50.0, "Last of all, honey keeps for years. " + FILLER),
        (50.0, 60.0, "Thank you. " + FILLER)]
KAYAKS = [(0.0, 10.0, "A kayak is steered with the hips. " + FILLER),
          (10.0, 20.0, "After the river we shared bread and honey. " + FILLER)]
BEES_TITLE = "2019 · Sarah Lane · Bees, Hive and Honey"


def seed_archive(tmp_path: Path) -> tuple[Path, Config]:
    config_path = write_home(tmp_path)
    config = load_config(config_path)
    tone = tmp_path / "tone.mp3"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=60", str(tone)], check=True)
    with Ledger(config.output.ledger_path) as ledger:
        for name, speaker, title, year, cues, audio in (
                ("bees.mp3", "Sarah Lane", "Bees, Hive and Honey", 2019, BEES, tone),
                ("kayaks.mp3", "Robert Moss", "Kayaks", 2021, KAYAKS, None),
                ("bread.mp3", "Ann Lee", "Bread", 2022, [(0.0, 8.0, "Flour, water, salt.")],
                 None)):
            recording = config.input.folders[0] / name
            recording.write_bytes(name.encode())
            row, _ = ledger.register(recording, ledger.hash_of(recording))
            _filed(config, ledger, row.id, speaker, title, year, "", cues=cues, audio=audio)
    return config_path, config


def rows(app) -> list[str]:
    return [option.prompt.plain for option in app.screen.hit_list.options]


def status(app) -> str:
    return app.screen.query_one("#search-status").shown_text


def test_results_come_as_you_type_without_stalling_the_screen(tmp_path, monkeypatch):
    import tui.screens.search as search_screen

    config_path, config = seed_archive(tmp_path)
    # The index's catch-up and the searches wait for the test: the screen must go on
    # taking keys meanwhile, and show only the results for the words typed last.
    indexing, searching = threading.Event(), threading.Event()
    asked: list[str] = []
    real_index, real_search = search_screen.index_archive, search_screen.search_archive

    def slow_index(config, on_progress, should_stop):
        def progress(done, total):
            on_progress(done, total)
            if done == 0:
                assert indexing.wait(10)
        return real_index(config, progress, should_stop)

    def slow_search(config, words, **options):
        asked.append(words)
        assert searching.wait(10)
        return real_search(config, words, **options)

    monkeypatch.setattr(search_screen, "index_archive", slow_index)
    monkeypatch.setattr(search_screen, "search_archive", slow_search)
    app = make_app(config_path)

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("slash")
            assert isinstance(app.screen, SearchScreen)
            await wait_for(pilot, lambda: status(app) == "Indexing 0/3 talks…",
                           what="the index catching up")
            await pilot.press("h", "o", "n")  # taken while the catch-up waits in its thread
            assert app.screen.words_input.value == "hon"
            indexing.set()
            await wait_for(pilot, lambda: status(app) == "Searching for “hon”…",
                           what="the first search")
            await pilot.press("e", "y")  # while "hon" is searched
            assert app.screen.words_input.value == "honey"
            await wait_for(pilot, lambda: app.screen.wanted == "honey", what="the pause")
            searching.set()
            await wait_for(pilot, lambda: app.screen.shown == "honey", what="the results")
            assert asked == ["hon", "honey"]  # "hon"'s results came late: never shown
            shown = rows(app)
            assert status(app).startswith("4 moments in 2 talks")
            bees = shown.index(BEES_TITLE)
            assert [r.split("  ")[1] for r in shown[bees + 1:bees + 4]] == \
                ["0:00:00", "0:00:20", "0:00:40"]
            assert "2021 · Robert Moss · Kayaks" in shown
            # A transcript's [ is a character, the words found are marked (not markup).
            aside = app.screen.hit_list.options[bees + 2].prompt
            assert "Smoke [it calms them] before the honey" in aside.plain
            assert MARK_ON not in aside.plain
            assert [aside.text.plain[s.start:s.end] for s in aside.text.spans
                    if str(s.style) == MARK_STYLE] == ["honey"]

            # Nothing to look for: its sentence, not a crash, and no results.
            app.screen.words_input.value = "-river"
            await wait_for(pilot, lambda: status(app).startswith(
                "Only words to leave out in “-river”"), what="the query's sentence")
            assert rows(app) == []
            app.screen.words_input.value = ""
            await wait_for(pilot, lambda: status(app) == HINT, what="the hint")
            await pilot.press("escape")
            assert isinstance(app.screen, MainScreen)

    run(scenario)


def test_a_moment_opens_in_its_transcript_and_n_steps_through_the_talk(tmp_path, monkeypatch):
    config_path, config = seed_archive(tmp_path)
    # ffmpeg cuts the clips; a stand-in ffplay writes down what it plays (no sound here).
    tools, played = tmp_path / "bin", tmp_path / "played.txt"
    tools.mkdir()
    for tool in ("ffmpeg", "ffprobe"):
        (tools / tool).symlink_to(shutil.which(tool))
    (tools / "ffplay").write_text(f'#!/bin/sh\necho "$@" >> "{played}"\n', encoding="utf-8")
    (tools / "ffplay").chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))
    app = make_app(config_path)

    def notes() -> list[str]:
        return [n.message for n in app._notifications]

    def status_line() -> str:
        return app.screen.query_one("#transcript-status").shown_text

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("slash")
            await pilot.press(*"honey")
            await wait_for(pilot, lambda: app.screen.shown == "honey", what="the results")
            screen = app.screen
            await pilot.press("down")  # from the words to the list
            assert screen.hit_list.has_focus
            first = rows(app).index(BEES_TITLE) + 1
            screen.hit_list.highlighted = first + 1  # the moment at 0:00:20
            await pilot.press("c")
            await wait_for(pilot, lambda: any(n.startswith("Clip written: ") for n in notes()),
                           what="the clip")
            (clip,) = config.output.clips.glob("*.mp3")
            assert f"Clip written: {clip} (playing it with ffplay)" in notes()
            await wait_for(pilot, played.is_file, what="the player")

            await pilot.press("enter")
            assert isinstance(app.screen, TranscriptAtHit)
            await wait_for(pilot, lambda: status_line().startswith("hit 2 of 3 at 0:00:20"),
                           what="the transcript at the moment")
            cues = app.screen.cue_list
            assert cues.option_count == len(BEES)

            def highlighted() -> str:
                prompt = cues.options[cues.highlighted].prompt
                assert any(str(s.style) == MARK_STYLE for s in prompt.text.spans)
                row = cues.region.y + cues._index_to_line[cues.highlighted] - cues.scroll_y
                assert cues.region.y <= row < cues.region.bottom  # on the screen
                return prompt.plain

            assert highlighted().startswith("0:00:20  Smoke [it calms them]")
            await pilot.press("n")
            assert status_line().startswith("hit 3 of 3 at 0:00:40")
            assert highlighted().startswith("0:00:40  Last of all, honey")
            await pilot.press("n")  # round to the first
            assert status_line().startswith("hit 1 of 3 at 0:00:00")
            await pilot.press("N", "N")
            assert status_line().startswith("hit 2 of 3")
            await pilot.press("N")
            assert status_line().startswith("hit 1 of 3")
            assert highlighted().startswith("0:00:00  Honey is what")
            await pilot.press("c")
            await wait_for(pilot, lambda: len(list(config.output.clips.glob("*.mp3"))) == 2,
                           what="the second clip")
            await app.workers.wait_for_complete()
            await pilot.press("escape")
            assert isinstance(app.screen, SearchScreen)

    run(scenario)
    clips = sorted(config.output.clips.glob("*.mp3"))
    assert [c.name for c in clips] == ["Sarah Lane - Bees Hive and Honey at 0.00.00.mp3",
                                       "Sarah Lane - Bees Hive and Honey at 0.00.20.mp3"]
    for clip in clips:
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                                "-of", "json", str(clip)], capture_output=True, text=True,
                               check=True)
        assert abs(float(json.loads(probe.stdout)["format"]["duration"]) - 30.0) <= 1.5


def test_with_nothing_filed_the_search_says_so(tmp_path):
    app = make_app(write_home(tmp_path))

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("slash")
            await pilot.press(*"bees")
            await wait_for(pilot, lambda: status(app).startswith("Nothing is filed in "),
                           what="the sentence")
            assert isinstance(app.screen.focused, Input)

    run(scenario)


def test_a_talks_heading_says_its_language_when_it_is_known():
    talk = TalkHits(1, 2019, "Ana Ruiz", "Abejas y miel", "/talks/a.mp3", ())
    assert talk_heading(talk) == "2019 · Ana Ruiz · Abejas y miel"
    assert talk_heading(replace(talk, language="es")) == \
        "2019 · Ana Ruiz · Abejas y miel · Spanish"
