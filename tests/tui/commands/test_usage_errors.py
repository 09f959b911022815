"""A command given wrong is a usage error: exit 2, one sentence, nothing changed (exit 1 is
kept for a run in which some recordings failed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT
from tests.support.tui_helpers import seed_library, write_home


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("usage")
    config_path = write_home(root)
    from pipeline.config.settings import load_config

    seed_library(load_config(config_path))
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    "sine=frequency=220:duration=3", str(root / "tone.wav")], check=True)
    (root / "notes.txt").write_text("Talk notes, not a recording.\n", encoding="utf-8")
    return config_path


def library(config_path: Path) -> list[str]:
    folder = config_path.parent / "library"
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize(("args", "said"), [
    (["speakers", "add", "Ida Wells", "/nope/clip.wav"], "does not exist"),
    (["speakers", "add", "Ida/Wells", "/nope/clip.wav"], "cannot be a speaker's name"),
    (["speakers", "rename", "Nobody Here", "Somebody"], "No speaker named 'Nobody Here'"),
    (["speakers", "merge", "Nobody Here", "Sarah Lane"], "No speaker named 'Nobody Here'"),
    (["speakers", "remove", "Nobody Here"], "No speaker named 'Nobody Here'"),
    (["speakers", "rename", "Sarah Lane", "Alan Webb"],
     "'Alan Webb' already exists: use merge to put the clips and talks of 'Sarah Lane' with "
     "theirs."),  # no 'Sarah Lane''s: a quoted name and a possessive do not mix
    (["speakers", "merge", "Sarah Lane", "Sarah Lane"],
     "A person cannot be merged into themselves"),
    (["speakers", "add", "Ida Wells", "{home}/notes.txt"],
     "{home}/notes.txt is not audio: give a recording of the speaker's voice instead (any "
     "format ffmpeg plays)."),  # not "move it out of the input folder": it was never in one
    (["relabel", "99", "Sarah Lane"], "No filed talk has the number 99"),
    (["speakers", "add", "Ida Wells", "{home}/tone.wav", "--start", "-5"],
     "--start must be 0 or more"),
    (["speakers", "add", "Ida Wells", "{home}/tone.wav", "--duration", "0"],
     "--duration more than 0"),
    (["speakers", "add", "Ida Wells", "{home}/tone.wav", "{home}/tone.wav"],
     "The same file is given twice"),
    (["speakers", "add", "Ida Wells", "{home}/tone.wav", "/nope/second.wav"],
     "/nope/second.wav does not exist"),  # checked before the first is cut: nothing added
    (["--json"], "--json goes with --batch"),
])
def test_a_command_given_wrong_exits_2_and_changes_nothing(home: Path, args: list[str],
                                                           said: str) -> None:
    before = library(home)
    args = [a.replace("{home}", str(home.parent)) for a in args]
    said = said.replace("{home}", str(home.parent))
    done = subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(home), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert said in done.stderr and "Traceback" not in done.stderr
    assert library(home) == before


def test_version_says_which_talks_this_is() -> None:
    done = subprocess.run([sys.executable, "-m", "tui.cli", "--version"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.strip() == "talks 0.1.0"  # pyproject.toml's version
