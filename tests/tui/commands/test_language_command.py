"""`talks language`: a person's word on the language of a filed talk, kept in the ledger, and
the talk transcribed again at once and re-filed in place — from its raw backup when the
original has gone (never deleting that backup), under the year and speaker it had; a talk
stopped half-way goes on; nothing changes when the recording cannot be heard again, and a
stage that fails leaves the old filing where it was."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from pipeline.api.archive import RecordingGone, filed_talk, relabel_talk, set_talk_language
from pipeline.api.runs import FileFailed, OutcomeStatus, Stage, StageStarted
from pipeline.api.search import search_archive
from pipeline.config.settings import load_config
from pipeline.ledger import Ledger
from pipeline.run.states import FileState
from tests.support.paths import ROOT
from tests.support.speech import TALKS, make_talk
from tests.support.tui_helpers import seed_ledger, write_home
from tui.cli import main

CONFIG = """\
[input]
folders = ["inbox"]
min_duration_s = 1.0
settle_seconds = 0
[output]
root = "out"
originals = "move"   # the original goes once filed: the talk is heard again from raw/
[speakers]
folder = "library"
identify = false
[logging]
file = "out/talks.log"
"""


def talks(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


class StopAfterProbe:
    """A stop asked while the probe runs: the talk stops before it is transcribed."""

    def __init__(self) -> None:
        self.asked = False

    def __call__(self, event: object) -> None:
        if isinstance(event, StageStarted) and event.stage == Stage.PROBE:
            self.asked = True

    def is_set(self) -> bool:
        return self.asked


@pytest.fixture(scope="module")
def redone(tmp_path_factory):
    """A talk filed by a real batch (tiny.en) from inbox/2019/, its original then gone;
    relabelled by a person; asked in English, stopped after the probe; told; asked again."""
    home = tmp_path_factory.mktemp("language")
    (home / "library").mkdir()
    make_talk(home / "inbox" / "2019" / "bees talk.mp3", TALKS["bees"][:3], pause_s=0.8)
    config_path = home / "config.toml"
    config_path.write_text(CONFIG, encoding="utf-8")
    batch = talks(config_path, "--batch")
    assert batch.returncode == 0, batch.stderr
    config = load_config(config_path)
    relabel_talk(config, "bees", "Ada Lovelace")
    first = filed_talk(config, "bees")
    with Ledger(config.output.ledger_path) as ledger:  # as if filed before talks knew languages
        ledger.update(first.id, language=None, language_probability=None,
                      language_source=None)
    stop = StopAfterProbe()
    stopped = set_talk_language(config, str(first.id), "en", stop, stop)
    told = talks(config_path, "language", str(first.id))  # while it is half-way
    again = talks(config_path, "language", str(first.id), "en")
    return SimpleNamespace(config=config, config_path=config_path, first=first,
                           stopped=stopped, told=told, again=again)


@pytest.mark.models
def test_a_talk_stopped_half_way_is_told_and_goes_on_where_it_was(redone):
    assert redone.stopped.outcome.status == OutcomeStatus.CANCELLED
    assert redone.stopped.row.state == FileState.PROBED  # its filing forgotten, not yet redone
    assert (redone.stopped.row.language, redone.stopped.row.language_source) == ("en", "person")
    assert redone.told.returncode == 0, redone.told.stderr
    assert redone.told.stdout == (f"{redone.first.id}: {Path(redone.first.destination).name}: "
                                  "it is in English (en): set by a person.\n")
    # Asked again, it went on from the probe (no "probe" line), not from the start.
    assert redone.again.returncode == 0, redone.again.stderr
    assert ": probe\n" not in redone.again.stderr and ": transcribe\n" in redone.again.stderr


@pytest.mark.models
def test_transcribed_again_from_its_raw_backup_and_refiled_in_place(redone):
    config, first = redone.config, redone.first
    with Ledger(config.output.ledger_path) as ledger:
        row = ledger.get(first.id)
        last = ledger.last_run()
    raw = config.output.raw_dir / "2019" / "bees talk.mp3"
    assert redone.again.stdout == (f"Transcribed again in English (en) from {raw}: filed as "
                                   f"{first.destination} in place.\n")
    assert row.state == FileState.FILED
    assert (row.language, row.language_probability, row.language_source) == ("en", None,
                                                                             "person")
    # The same place: the year from the inbox's 2019/ folder and the person's speaker kept.
    assert row.destination == first.destination and Path(row.destination).is_file()
    assert "/2019/Ada Lovelace/" in row.destination and row.speaker == "Ada Lovelace"
    assert row.transcripts == first.transcripts
    assert all(Path(p).is_file() for p in row.transcripts)
    assert sorted(p.name for p in config.output.talks_dir.rglob("*.mp3")) == \
        [Path(first.destination).name]  # filed once
    assert raw.is_file() and row.raw_backup == str(raw)  # the only untouched copy stays
    assert not (config.output.root.parent / "inbox" / "2019" / "bees talk.mp3").exists()
    assert "pollen" in Path(row.transcripts[0]).read_text(encoding="utf-8").lower()
    assert [(t.file_id, t.language) for t in search_archive(config, "pollen")] == \
        [(first.id, "en")]  # in the index again, with its language for the app's heading
    assert last is not None and last.summary["filed"] == 1


@pytest.mark.models
def test_the_same_language_again_is_kept_and_a_wrong_code_changes_nothing(redone, capsys):
    config, number = redone.config, str(redone.first.id)
    before = filed_talk(config, number)
    assert main(["--config", str(redone.config_path), "language", number, "en"]) == 0
    assert capsys.readouterr().out == (f"{Path(before.destination).name} is transcribed in "
                                       "English (en) already: kept as a person's word, "
                                       "nothing transcribed again.\n")
    assert main(["--config", str(redone.config_path), "language", number, "french"]) == 2
    said = capsys.readouterr().err
    assert said.startswith("talks: 'french' is not a language code Whisper knows (did you "
                           'mean "fr" (French)?): give one of Whisper\'s language codes')
    assert said.endswith("Nothing was changed.\n")
    assert filed_talk(config, number) == before


def test_the_codes_are_listed_without_a_config(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no ./config.toml here
    assert main(["language", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "fr  French" in listed and "yue Cantonese" in listed
    assert len(re.findall(r"(?:^|  )([a-z]{2,3}) +[A-Z]", listed, re.MULTILINE)) == 100


def test_a_recording_that_cannot_be_heard_changes_nothing_and_a_failure_loses_nothing(
        tmp_path):
    config = seed_ledger(write_home(tmp_path))
    before = filed_talk(config, "bees")
    original = Path(before.path)
    kept = original.read_bytes()
    original.unlink()
    with pytest.raises(RecordingGone) as info:
        set_talk_language(config, "bees", "fr", lambda _event: None)
    assert str(info.value) == (
        f"bees lecture.mp3 cannot be heard again: neither its original ({original}) nor a "
        "raw backup under raw/ (none was kept: [output] raw_backup) is there with the same "
        f"content. Put the recording back at {original} and run the command again; nothing "
        "was changed.")
    assert filed_talk(config, "bees") == before
    # Back, but not audio: the talk fails at the probe, in the person's language, and its
    # filing stays where it was until a redo files it.
    original.write_bytes(kept)
    events: list[object] = []
    done = set_talk_language(config, "bees", "fr", events.append)
    assert done.outcome.status == OutcomeStatus.FAILED and done.outcome.stage == Stage.PROBE
    assert any(isinstance(e, FileFailed) for e in events)
    after = filed_talk(config, "bees", redone=True)
    assert after.state == FileState.FAILED and (after.language, after.language_source) == \
        ("fr", "person")
    assert after.destination == before.destination and Path(before.destination).is_file()
    assert all(Path(p).is_file() for p in before.transcripts)
