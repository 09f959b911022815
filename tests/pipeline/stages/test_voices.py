"""Unnamed voices grouped across the archive, on real voices: council members of speakerbox's
meetings, filed with an empty speaker library. A person heard in two meetings is one group; a
voice heard once waits; a later talk of the same person joins the group, which keeps its id."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT
from tests.support.voices import REAL_DIR, make_talk_by, speakerbox_utterances

pytestmark = [pytest.mark.models, pytest.mark.xdist_group("real-speech")]

# person, meeting: speech of each long enough for a talk (tests/support/voices.py)
FIRST = [("morales", "2cdf68ae3c2c"), ("morales", "01e7f8bb1c03"), ("lewis", "6d6702d7b820")]
LATER = ("morales", "6d6702d7b820")


def talks(config: Path, *args: str, env: dict[str, str] | None = None
          ) -> subprocess.CompletedProcess:
    # A session of its own: a chaos kill takes the command's process group, never pytest.
    return subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ, **(env or {})}, start_new_session=True)


def make_meeting_talk(folder: Path, person: str, meeting: str) -> None:
    clips = [u.path for u in speakerbox_utterances(REAL_DIR)
             if u.person == person and u.meeting == meeting]
    assert clips, f"run scripts/fetch-test-speech.sh (make test does): no {person}@{meeting}"
    make_talk_by(clips, folder / f"{person} {meeting}.wav", 20.0, pause_s=0.5)


def groups(home: Path) -> dict[str, int]:
    db = sqlite3.connect(home / "out" / ".talks" / "ledger.sqlite")
    rows = db.execute("SELECT f.path, g.group_id FROM voice_groups g JOIN files f "
                      "ON f.id = g.file_id")
    return {Path(p).stem: g for p, g in rows}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    home = tmp_path_factory.mktemp("voices")
    for person, meeting in FIRST:
        make_meeting_talk(home / "inbox", person, meeting)
    config = home / "config.toml"
    config.write_text('[input]\nfolders = ["inbox"]\nmin_duration_s = 1.0\n'
                      'settle_seconds = 0.5\n[output]\nroot = "out"\n'
                      '[speakers]\nfolder = "library"\n'
                      '[transcription]\ncheck_language = false\n',  # English: not heard first
                      encoding="utf-8")
    first = talks(config, "--batch", "--json")
    grouped_first = groups(home)
    make_meeting_talk(home / "inbox", *LATER)
    later = talks(config, "--batch", "--json")
    return home, first, grouped_first, later, groups(home)


def test_one_person_heard_in_two_talks_is_one_group_and_a_lone_voice_waits(archive):
    _home, first, grouped, _later, _after = archive
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert (summary["voice_groups"], summary["voice_group_talks"]) == (1, 2)
    assert set(grouped) == {"morales 2cdf68ae3c2c", "morales 01e7f8bb1c03"}
    assert len(set(grouped.values())) == 1  # lewis, heard once, waits alone
    assert "1 voice in 2 talks" in first.stderr and "talks voices" in first.stderr


def test_a_later_talk_of_the_person_joins_the_group_and_its_id_stays(archive):
    _home, _first, grouped, later, after = archive
    assert later.returncode == 0, later.stderr
    assert json.loads(later.stdout)["voice_group_talks"] == 3
    (group_id,) = set(grouped.values())
    assert after == {**grouped, "morales 6d6702d7b820": group_id}


@pytest.fixture(scope="module")
def named(archive):
    """The group listed, one talk taken out of it and back by regrouping, then named."""
    home, *_ = archive
    config = home / "config.toml"
    listed = talks(config, "voices", "--json")
    text = talks(config, "voices")
    (group,) = json.loads(listed.stdout)["groups"]
    group["were_files"] = all(Path(t["path"]).is_file() for t in group["talks"])
    group["sample_was_a_file"] = Path(group["sample"]).is_file()
    odd = next(t for t in group["talks"] if t["source"] == f"{' '.join(LATER)}.wav")
    taken = talks(config, "voices", "remove", str(group["id"]), str(odd["number"]))
    regrouped = talks(config, "voices", "--regroup", "--json")
    # kill -9 once the first talk has moved and the second is being linked under the name:
    # the same command finishes it, enrolling nobody twice.
    (home / "chaos").mkdir()
    killed = talks(config, "voices", "name", str(group["id"]), "Ana Morales",
                   env={"TALKS_CHAOS": "relabel.link:2:0", "TALKS_CHAOS_DIR": str(home / "chaos")})
    group["killed"] = killed.returncode == -signal.SIGKILL
    group["clips_when_killed"] = len(list((home / "library").rglob("Ana Morales*")))
    naming = talks(config, "voices", "name", str(group["id"]), "Ana Morales")
    after = talks(config, "voices", "--json")
    make_meeting_talk(home / "inbox", "morales", "9f581faa5ece")  # a talk not heard yet
    later = talks(config, "--batch", "--json")
    return home, group, odd, listed, text, taken, regrouped, naming, after, later


def test_the_groups_are_listed_with_their_talks_and_a_clip_to_hear(named):
    _home, group, _odd, listed, text, *_ = named
    assert listed.returncode == 0, listed.stderr
    assert len(group["talks"]) == 3
    assert group["were_files"]  # each talk's filed path, as it was when listed
    assert all(t["source"].startswith("morales ") for t in group["talks"])
    assert group["sample_was_a_file"]  # (cut anew once the group changes)
    assert "1 voice heard in two or more talks, waiting for a name:" in text.stdout
    assert f"  {group['id']}: 3 talks" in text.stdout and "listen: " in text.stdout


def test_a_talk_taken_out_of_a_group_never_rejoins_it(named):
    _home, group, odd, _listed, _text, taken, regrouped, *_ = named
    assert taken.returncode == 0, taken.stderr
    assert regrouped.returncode == 0, regrouped.stderr
    (again,) = json.loads(regrouped.stdout)["groups"]  # stdout is the JSON alone
    assert "Grouped again in" in regrouped.stderr
    assert again["id"] == group["id"]
    assert odd["number"] not in [t["number"] for t in again["talks"]]


def test_naming_a_group_files_its_talks_under_the_name_and_the_next_talk_is_known(named):
    home, group, odd, *_rest, naming, after, later = named
    assert group["killed"] and group["clips_when_killed"] >= 1
    assert naming.returncode == 0, naming.stderr
    assert "Filed 2 talks under Ana Morales" in naming.stdout
    assert "Enrolled" not in naming.stdout  # done before the kill, and not again
    assert json.loads(after.stdout)["groups"] == []
    moved = [Path(line.strip()) for line in naming.stdout.splitlines()[1:3]]
    assert all("Ana Morales" in str(p) for p in moved)
    clips = sorted((home / "library").rglob("Ana Morales*"))
    assert len(clips) == group["clips_when_killed"]
    summary = json.loads(later.stdout)
    (new,) = [f for f in summary["files"] if f["status"] == "filed"]
    assert "Ana Morales" in new["destination"]  # recognised like any enrolled person
    # The talk taken out was not named with the group, but the library now knows the voice:
    # it moved to her too, as the archive follows the library.
    assert any(r["file"] == odd["source"] for r in summary["refiled_talks"])
    assert len(sorted((home / "out" / "talks").rglob("Ana Morales/*"))) == 4
