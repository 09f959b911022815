"""Speaker identification for real: flite voices (distinct people for GE2E), resemblyzer,
the batch, review and relabel. Tests check rankings and decisions, not one magic number."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import load_config
from pipeline.identify_stage import read_clip
from pipeline.ledger import Ledger
from speakers.identify import enrolled_embeddings
from speakers.library import SpeakerLibrary
from tests.speech import TALKS, make_talk

ROOT = Path(__file__).resolve().parent.parent
MISC = "Miscellaneous Speakers"
# name -> flite voice; kal is never enrolled: the stranger whose talk must not get a name.
ENROLLED = {"Sarah Lane": "slt", "Robert Moss": "rms", "Alan Wébb": "awb"}


def talks(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)


def write_config(home: Path, extra: str = "") -> Path:
    path = home / "config.toml"
    path.write_text('[input]\nfolders = ["inbox"]\nmin_duration_s = 1.0\n'
                    '[output]\nroot = "out"\n[transcription]\nchunk_seconds = 60\n'
                    '[speakers]\nfolder = "library"\nsample_count = 3\nsample_seconds = 8.0\n'
                    + extra + '[logging]\nfile = "out/log"\n', encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def library_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("speakers")
    for name, voice in ENROLLED.items():
        # Two clips each, of other sentences than the talks below.
        make_talk(home / "library" / f"{name}.wav", TALKS["forgiveness"][:3], tool="flite",
                  voice=voice, pause_s=0.4)
        make_talk(home / "library" / f"{name}_1.wav", TALKS["lighthouses"][:3], tool="flite",
                  voice=voice, pause_s=0.4)
    return home


@pytest.fixture(scope="module")
def batch_run(library_home):
    inbox = library_home / "inbox"
    spoken_by = {"slt talk.mp3": "slt", "rms talk.mp3": "rms", "kal talk.mp3": "kal"}
    for name, voice in spoken_by.items():
        make_talk(inbox / name, TALKS["kayaking"][:6], tool="flite", voice=voice, pause_s=0.8)
    config = write_config(library_home)
    result = talks(config, "--batch", "--json")
    return library_home, config, result


def evidence(home: Path) -> dict[str, dict]:
    db = sqlite3.connect(home / "out" / ".talks" / "ledger.sqlite")
    rows = db.execute("SELECT path, speaker_evidence, speaker, needs_review FROM files")
    return {Path(p).name: {**json.loads(e or "{}"), "filed_as": s, "review": r}
            for p, e, s, r in rows}


def test_enrolled_people_are_recognised_and_a_stranger_is_not_named(batch_run):
    home, _config, result = batch_run
    assert result.returncode == 0, result.stderr
    ev = evidence(home)
    assert ev["slt talk.mp3"]["candidates"][0][0] == "Sarah Lane"
    assert ev["rms talk.mp3"]["candidates"][0][0] == "Robert Moss"
    assert ev["slt talk.mp3"]["kind"] == "match" and ev["slt talk.mp3"]["filed_as"] == "Sarah Lane"
    assert ev["rms talk.mp3"]["kind"] == "match" and ev["rms talk.mp3"]["filed_as"] == "Robert Moss"
    assert ev["kal talk.mp3"]["kind"] in ("unknown", "review")
    assert ev["kal talk.mp3"]["filed_as"] == MISC
    # The right person beats the others clearly, on every sample.
    for talk, person in (("slt talk.mp3", "Sarah Lane"), ("rms talk.mp3", "Robert Moss")):
        scores = dict(ev[talk]["candidates"])
        assert all(scores[person] > s for n, s in scores.items() if n != person)
        assert ev[talk]["agreement"] == 1.0
    talks_dir = home / "out" / "talks"
    assert len(list((talks_dir).glob("*/Sarah Lane/Sarah Lane - *.mp3"))) == 1
    assert len(list((talks_dir).glob(f"*/{MISC}/{MISC} - *.mp3"))) == 1
    assert "speaker Sarah Lane [match]" in result.stderr


def test_every_sample_score_is_kept_as_evidence(batch_run):
    home, *_ = batch_run
    db = sqlite3.connect(home / "out" / ".talks" / "ledger.sqlite")
    rows = db.execute("SELECT f.path, s.speaker, COUNT(*) FROM speaker_scores s "
                      "JOIN files f ON f.id = s.file_id GROUP BY f.path, s.speaker").fetchall()
    assert len(rows) == 3 * len(ENROLLED)
    ev = evidence(home)
    for path, _speaker, count in rows:
        # As many scores as samples planned: up to sample_count = 3, fewer for short talks.
        assert count == len(ev[Path(path).name]["samples"]) >= 2


def test_embedding_cache_hits_misses_and_drops(batch_run, embedder):
    home, config_path, _result = batch_run
    config = load_config(config_path)
    lib = SpeakerLibrary(config.speakers.folder)
    with Ledger(config.output.ledger_path) as ledger:
        assert len(ledger.cached_hashes("resemblyzer")) == 2 * len(ENROLLED)
        vectors, fresh = enrolled_embeddings(lib.people(), embedder, ledger, read_clip)
        assert fresh == 0  # all from the cache the batch filled
        # A changed clip is embedded again; a removed one is dropped from the cache.
        changed = config.speakers.folder / "Alan Wébb_1.wav"
        make_talk(changed, TALKS["bees"][:2], tool="flite", voice="awb", pause_s=0.4)
        (config.speakers.folder / "Robert Moss_1.wav").unlink()
        vectors, fresh = enrolled_embeddings(lib.people(), embedder, ledger, read_clip)
        assert fresh == 1
        assert len(ledger.cached_hashes("resemblyzer")) == 2 * len(ENROLLED) - 1
        assert len(vectors["Robert Moss"]) == 1
        # float16 storage moves a cosine score by far less than any decision margin.
        direct = embedder.embed(read_clip(changed))
        cached = vectors["Alan Wébb"][1]
        assert abs(float(np.dot(direct, direct)) - float(np.dot(direct, cached))) < 1e-3


def test_review_then_relabel_moves_every_file_and_enrolls(tmp_path, library_home):
    home = tmp_path
    (home / "library").mkdir()
    for clip in (library_home / "library").iterdir():
        (home / "library" / clip.name).write_bytes(clip.read_bytes())
    make_talk(home / "inbox" / "a talk.mp3", TALKS["sourdough"][:6], tool="flite", voice="slt",
              pause_s=0.8)
    # A threshold nobody can reach: the program must say it is unsure, not guess.
    config = write_config(home, "threshold = 0.999\nunknown_below = 0.5\n")
    assert talks(config, "--batch").returncode == 0
    listed = talks(config, "review")
    assert "candidates: Sarah Lane" in listed.stdout
    number = listed.stdout.split(":")[0]
    misc_before = sorted((home / "out").rglob(f"{MISC}/*"))
    assert len(misc_before) == 5  # the talk and its four transcripts

    relabeled = talks(config, "relabel", number, "Sarah Lane", "--enroll")
    assert relabeled.returncode == 0, relabeled.stderr
    assert not list((home / "out").rglob(f"*{MISC}*"))  # nothing left behind
    moved = sorted((home / "out").rglob("Sarah Lane/*"))
    assert len(moved) == 5 and all(p.name.startswith("Sarah Lane - ") for p in moved)
    data = json.loads(next(p for p in moved if p.suffix == ".json").read_text())
    assert data["speaker"] == "Sarah Lane" and data["talk"].startswith("Sarah Lane - ")
    assert "No talks need review" in talks(config, "review").stdout
    assert len(SpeakerLibrary(home / "library").person("Sarah Lane").clips) == 3
    db = sqlite3.connect(home / "out" / ".talks" / "ledger.sqlite")
    dest, decision = db.execute("SELECT destination, speaker_decision FROM files").fetchone()
    assert Path(dest).is_file() and "Sarah Lane" in dest and decision == "manual"
    bad = talks(config, "relabel", "no such talk", "X")
    assert bad.returncode == 1 and "talks review" in bad.stderr


def test_speakers_check_ranks_people_and_suggests_a_threshold(library_home):
    config = write_config(library_home)
    result = talks(config, "speakers", "check")
    assert result.returncode == 0, result.stderr
    assert "Leave-one-out:" in result.stdout
    assert "Suggested [speakers] threshold" in result.stdout
