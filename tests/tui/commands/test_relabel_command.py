"""`talks relabel` never moves a talk on a guess: a number is only ever a talk's number (a
year or a date in a name is not), a number no talk has and a name that fits several move
nothing and exit 2, and a talk already under the speaker asked for says so and stays."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipeline.ledger import Ledger
from tests.support.paths import ROOT
from tests.support.tui_helpers import seed_ledger, write_home


def talks(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def filed(config) -> dict[str, tuple[str, str]]:
    """Each filed talk's speaker and file, by the recording's name."""
    with Ledger(config.output.ledger_path) as ledger:
        return {r.name: (r.speaker, r.destination) for r in ledger.all_files()
                if r.destination}


def test_a_number_is_a_talks_number_and_nothing_else(tmp_path):
    config_path = write_home(tmp_path)
    config = seed_ledger(config_path, reviews=2)
    before = filed(config)
    with Ledger(config.output.ledger_path) as ledger:
        ids = {r.name: r.id for r in ledger.all_files()}
    assert 2019 not in ids.values()
    # "2019" is in the bees talk's folder and file names, but no talk has the number 2019.
    done = talks(config_path, "relabel", "2019", "Robert Moss")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "No filed talk has the number 2019" in done.stderr
    assert filed(config) == before and Path(before["bees lecture.mp3"][1]).is_file()
    # A piece of a name that two talks share picks neither.
    done = talks(config_path, "relabel", "sourdough", "Robert Moss")
    assert done.returncode == 2 and "matches 2 talks" in done.stderr
    assert filed(config) == before
    # `#N` and `N` are the talk with that number.
    done = talks(config_path, "relabel", f"#{ids['sourdough 2.wav']}", "Robert Moss")
    assert done.returncode == 0, done.stderr
    after = filed(config)
    assert after["sourdough 2.wav"][0] == "Robert Moss"
    assert "/Robert Moss/" in after["sourdough 2.wav"][1]
    assert Path(after["sourdough 2.wav"][1]).is_file()
    assert after["sourdough.wav"] == before["sourdough.wav"]


def test_a_talk_already_under_that_speaker_is_left_as_it_is(tmp_path):
    config_path = write_home(tmp_path)
    config = seed_ledger(config_path)
    before = filed(config)
    with Ledger(config.output.ledger_path) as ledger:
        bees = next(r for r in ledger.all_files() if r.name == "bees lecture.mp3")
    done = talks(config_path, "relabel", str(bees.id), "Sarah Lane")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Nothing to change: Sarah Lane - Bees, Hive and Honey.mp3 "
                                  "is already filed under Sarah Lane.")
    assert filed(config) == before
    with Ledger(config.output.ledger_path) as ledger:
        again = ledger.get(bees.id)
    assert again.speaker_decision == bees.speaker_decision  # not turned into a person's word
