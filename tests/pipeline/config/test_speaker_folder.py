"""A speaker library people were enrolled from that is missing now (its disk not mounted) is
said by every command that touches it, exit 3, and nothing is made in its place: not "nobody
is enrolled", not a new empty library that the next run would file everyone against. One never
made is only empty, and is made by the first `speakers add` — but never the folders above it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.config.settings import load_config
from pipeline.ledger import Ledger
from tests.support.paths import ROOT
from tests.support.tui_helpers import seed_ledger, write_home

MISSING = "is missing, but people were enrolled from it before: if it is on an external disk, " \
          "mount it and run again"


def talks(config: Path, *args: str, env: dict[str, str] | None = None
          ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def tone(path: Path, hz: int) -> Path:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    f"sine=frequency={hz}:duration=3", str(path)], check=True)
    return path


def filed(config_path: Path) -> dict[str, str]:
    with Ledger(load_config(config_path).output.ledger_path) as ledger:
        return {r.name: r.destination or "" for r in ledger.all_files()}


@pytest.fixture(scope="module")
def unplugged(tmp_path_factory) -> Path:
    """A home whose library had Ann Lee added, then went away (the disk was unplugged)."""
    home = tmp_path_factory.mktemp("unplugged")
    config_path = write_home(home)
    seed_ledger(config_path)  # filed talks, for relabel --enroll
    added = talks(config_path, "speakers", "add", "Ann Lee", str(tone(home / "ann.wav", 300)))
    assert added.returncode == 0, added.stderr
    tone(home / "bob.wav", 500)
    (home / "library").rename(home / "unplugged disk")
    return config_path


@pytest.mark.parametrize("args", [
    ["speakers", "list"],
    ["speakers", "add", "Bob Stone", "{home}/bob.wav"],
    ["speakers", "remove", "Ann Lee"],
    ["speakers", "rename", "Ann Lee", "Ann Stone"],
    ["speakers", "merge", "Ann Lee", "Sarah Lane"],
    ["speakers", "check"],
    ["relabel", "bees lecture", "Ann Lee", "--enroll"],
])
def test_every_command_on_a_library_gone_missing_says_so_and_makes_nothing(
        unplugged: Path, args: list[str]) -> None:
    home = unplugged.parent
    before = filed(unplugged)
    done = talks(unplugged, *[a.replace("{home}", str(home)) for a in args])
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stderr.startswith(f"talks: The speaker library {home / 'library'} {MISSING}")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "No speakers enrolled" not in done.stdout
    assert not (home / "library").exists()  # no new library in the unplugged one's place
    assert filed(unplugged) == before  # relabel moved no talk


def test_a_library_used_before_talks_kept_a_list_is_known_by_its_clip_vectors(tmp_path):
    config_path = write_home(tmp_path)
    library = tmp_path / "library"
    clip = tone(library / "Ann Lee.wav", 300)
    with Ledger(load_config(config_path).output.ledger_path) as ledger:
        # What a run leaves when it embeds the library's clips.
        ledger.store_embedding(ledger.hash_of(clip), "campplus", np.ones(8, dtype=np.float32))
    library.rename(tmp_path / "unplugged disk")
    fresh = {"TALKS_STATE_DIR": str(tmp_path / "state")}  # a list that has never seen it
    listed = talks(config_path, "speakers", "list", env=fresh)
    assert listed.returncode == 3 and MISSING in listed.stderr, listed.stdout + listed.stderr
    (tmp_path / "unplugged disk").rename(library)  # mounted again
    listed = talks(config_path, "speakers", "list", env=fresh)
    assert listed.returncode == 0, listed.stderr
    assert "Ann Lee: 1 clip, " in listed.stdout


def test_a_library_never_made_is_empty_but_never_made_under_a_missing_folder(tmp_path):
    config_path = write_home(tmp_path)
    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(text.replace('folder = "library"',
                                        'folder = "Volumes/Speakers/library"'), encoding="utf-8")
    listed = talks(config_path, "speakers", "list")
    assert listed.returncode == 0, listed.stderr
    assert "No speakers enrolled" in listed.stdout and "talks speakers add" in listed.stdout
    added = talks(config_path, "speakers", "add", "Ann Lee", str(tone(tmp_path / "a.wav", 300)))
    assert added.returncode == 3
    assert (f"The speaker library {tmp_path / 'Volumes/Speakers/library'} cannot be made: the "
            f"folder above it ({tmp_path / 'Volumes/Speakers'}) does not exist. If it is on an "
            "external disk, mount the disk") in added.stderr
    assert not (tmp_path / "Volumes").exists()
