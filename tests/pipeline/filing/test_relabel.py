"""Speaker identification for real: flite voices (distinct people for GE2E), resemblyzer,
the batch, review and relabel. Tests check rankings and decisions, not one magic number."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from common.media import probe
from pipeline.api.search import search_archive
from pipeline.config.settings import load_config
from pipeline.ledger import Ledger
from pipeline.search.query import QueryError
from pipeline.stages.identify import read_clip
from speakers.embedding import EmbedderSettings, create_embedder
from speakers.library import SpeakerLibrary
from speakers.voice_match import enrolled_embeddings
from tests.support.paths import ROOT  # noqa: E402
from tests.support.speech import TALKS, make_talk

pytestmark = [pytest.mark.models]

MISC = "Miscellaneous Speakers"
# name -> flite voice; kal is never enrolled: the stranger whose talk must not get a name.
ENROLLED = {"Sarah Lane": "slt", "Robert Moss": "rms", "Alan Wébb": "awb"}


def talks(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)


def write_config(home: Path, extra: str = "") -> Path:
    path = home / "config.toml"
    path.write_text('[input]\nfolders = ["inbox"]\nmin_duration_s = 1.0\nsettle_seconds = 0.5\n'
                    '[output]\nroot = "out"\n[transcription]\ncheck_language = false\n'
                    'chunk_seconds = 60\n'
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


def test_the_speaker_worker_embeds_on_one_blas_thread(batch_run):
    """The worker imports numpy late, so a thread limit set before it reached no library and
    CAM++ ran on two BLAS threads, twice the CPU for the same wall time."""
    home, *_ = batch_run
    log = (home / "out" / "log").read_text(encoding="utf-8")
    loaded = [line for line in log.splitlines() if "speaker model loaded" in line]
    assert len(loaded) == 3, loaded
    assert all("speaker model loaded (1 BLAS thread)" in line for line in loaded), loaded


def test_embedding_cache_hits_misses_and_drops(batch_run, embedder):
    home, config_path, _result = batch_run
    config = load_config(config_path)
    lib = SpeakerLibrary(config.speakers.folder)
    assert embedder.cache_key == "campplus"  # the default backend
    with Ledger(config.output.ledger_path) as ledger:
        assert len(ledger.cached_hashes("campplus")) == 2 * len(ENROLLED)
        vectors, fresh = enrolled_embeddings(lib.people(), embedder, ledger, read_clip)
        assert fresh == 0  # all from the cache the batch filled
        # Another backend never reuses those vectors: it embeds every clip for itself, and
        # the first backend's cache stays as it was.
        other = create_embedder(EmbedderSettings("resemblyzer"))
        _vectors, fresh_other = enrolled_embeddings(lib.people(), other, ledger, read_clip)
        other.unload()
        assert fresh_other == 2 * len(ENROLLED)
        assert len(ledger.cached_hashes("resemblyzer")) == 2 * len(ENROLLED)
        # A changed clip is embedded again; a removed one is dropped from the cache.
        changed = config.speakers.folder / "Alan Wébb_1.wav"
        make_talk(changed, TALKS["bees"][:2], tool="flite", voice="awb", pause_s=0.4)
        (config.speakers.folder / "Robert Moss_1.wav").unlink()
        vectors, fresh = enrolled_embeddings(lib.people(), embedder, ledger, read_clip)
        assert fresh == 1
        assert len(ledger.cached_hashes("campplus")) == 2 * len(ENROLLED) - 1
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

    assert [t.speaker for t in search_archive(load_config(config), "starter")] == [MISC]
    relabeled = talks(config, "relabel", number, "Sarah Lane", "--enroll")
    assert relabeled.returncode == 0, relabeled.stderr
    # The search follows: the talk is found under its person, at its new path.
    (found,) = search_archive(load_config(config), "starter")
    assert found.speaker == "Sarah Lane" and Path(found.talk).is_file()
    assert "Sarah Lane" in found.talk and Path(found.transcript or "").is_file()
    assert not list((home / "out").rglob(f"*{MISC}*"))  # nothing left behind
    moved = sorted((home / "out").rglob("Sarah Lane/*"))
    assert len(moved) == 5 and all(p.name.startswith("Sarah Lane - ") for p in moved)
    data = json.loads(next(p for p in moved if p.suffix == ".json").read_text())
    assert data["speaker"] == "Sarah Lane" and data["talk"].startswith("Sarah Lane - ")
    assert "No talks need review" in talks(config, "review").stdout
    clips = SpeakerLibrary(home / "library").person("Sarah Lane").clips
    learned = [c for c in clips if c.name not in ("Sarah Lane.wav", "Sarah Lane_1.wav")]
    assert 1 <= len(learned) <= 3  # the talk's speech, in clips of 20 to 40 s (or all of it)
    assert all(0.5 < probe(c).duration <= 40.5 for c in learned)
    db = sqlite3.connect(home / "out" / ".talks" / "ledger.sqlite")
    dest, decision = db.execute("SELECT destination, speaker_decision FROM files").fetchone()
    assert Path(dest).is_file() and "Sarah Lane" in dest and decision == "manual"
    bad = talks(config, "relabel", "no such talk", "X")
    assert bad.returncode == 2 and "talks review" in bad.stderr  # given wrong: a usage error
    # The same talk enrolled again: its speech is in the library already, and not added twice
    # (a clip scored against itself would read 1.000 in `speakers check`).
    again = talks(config, "relabel", number, "Sarah Lane", "--enroll")
    assert again.returncode == 0, again.stderr
    assert "Enrolled" not in again.stdout
    assert SpeakerLibrary(home / "library").person("Sarah Lane").clips == clips


def test_speakers_check_names_thin_people_and_a_clip_of_someone_else(tmp_path,
                                                                   library_home):
    home = tmp_path
    shutil.copytree(library_home / "library", home / "library")
    # Robert Moss's third clip is really Sarah Lane (slt) speaking: a mislabelled clip.
    make_talk(home / "library" / "Robert Moss_2.wav", TALKS["bees"][:3], tool="flite",
              voice="slt", pause_s=0.4)
    config = write_config(home)
    result = talks(config, "speakers", "check")
    assert result.returncode == 0, result.stderr
    clips = len(list((home / "library").glob("*.wav")))
    assert f"of {clips} clips find their own person first" in result.stdout
    assert ("looks like someone else: Robert Moss_2.wav scores" in result.stdout
            and "with Sarah Lane" in result.stdout)
    assert "too little speech: Alan Wébb has" in result.stdout  # two short clips, ~20 s
    assert "Suggested for this library: threshold = " in result.stdout
    assert ("the values calibrated for the backend (threshold and margin left at 0 in "
            "config.toml) are the safer choice") in result.stdout


def test_speakers_check_leaves_out_a_recording_enrolled_twice(tmp_path, library_home):
    # A library made before `speakers add` refused the same audio twice: the copy scored its
    # original "Own person: 1.000", and the suggested threshold rested on it.
    home = tmp_path
    library = home / "library"
    library.mkdir()
    for name in ("Sarah Lane.wav", "Sarah Lane_1.wav", "Robert Moss.wav"):
        shutil.copy(library_home / "library" / name, library / name)
    shutil.copy(library / "Robert Moss.wav", library / "Robert Moss_1.wav")
    result = talks(write_config(home), "speakers", "check")
    assert result.returncode == 0, result.stderr
    assert ("the same audio twice: Robert Moss_1.wav is Robert Moss.wav again — left out of "
            "the check; delete one of the two") in result.stdout
    own = next(line for line in result.stdout.splitlines() if line.startswith("Own person:"))
    assert "1.000" not in own, result.stdout
    # Robert Moss has one recording: none of his clips can be checked, Sarah Lane's two are.
    assert "of 2 clips find their own person first" in result.stdout


def test_a_clip_that_is_not_audio_is_left_out_said_and_the_rest_still_identify(
        tmp_path, library_home):
    # A document saved under an audio name, and an empty file. Before, the first one failed
    # every talk at identify ("… move it out of the input folder", the wrong folder) and
    # stopped `speakers check`.
    home = tmp_path
    shutil.copytree(library_home / "library", home / "library")
    library = home / "library"
    (library / "Robert Moss_2.mp3").write_text("notes from the meeting", encoding="utf-8")
    # Sorted after the bad clip: a report that lost count would name the wrong file.
    make_talk(library / "Robert Moss_3.wav", TALKS["bees"][:3], tool="flite", voice="slt",
              pause_s=0.4)
    (library / "Dan.wav").write_bytes(b"")
    config = write_config(home)
    said = "in the speaker library cannot be read as audio: it is left out"
    checked = talks(config, "speakers", "check")
    assert checked.returncode == 0, checked.stderr
    assert f"Robert Moss_2.mp3 {said}" in checked.stdout
    assert f"Dan.wav {said}" in checked.stdout
    assert "looks like someone else: Robert Moss_3.wav scores" in checked.stdout, checked.stdout
    listed = talks(config, "speakers", "list")
    assert "Robert Moss_2.mp3  — cannot be read as audio" in listed.stdout
    assert "Robert Moss_3.wav\n" in listed.stdout  # a clip that plays has nothing after it
    make_talk(home / "inbox" / "slt talk.mp3", TALKS["kayaking"][:6], tool="flite",
              voice="slt", pause_s=0.8)
    run = talks(config, "--batch", "--json")
    assert run.returncode == 0, run.stderr
    assert "speaker Sarah Lane [match]" in run.stderr
    assert f"slt talk.mp3: note: Robert Moss_2.mp3 {said}" in run.stderr
    assert f"slt talk.mp3: note: Dan.wav {said}" in run.stderr


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
                  and ".talks" not in p.parts)


def kill_at(config: Path, spec: str, chaos_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """`talks *args` killed by SIGKILL at a kill point (common/chaos.py), in a session of its
    own so the kill takes only it."""
    chaos_dir.mkdir()
    env = {**os.environ, "TALKS_CHAOS": spec, "TALKS_CHAOS_DIR": str(chaos_dir)}
    return subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                          start_new_session=True)


def test_rename_and_merge_refile_talks_everywhere_and_resume(tmp_path, library_home):
    home = tmp_path
    shutil.copytree(library_home / "library", home / "library")
    make_talk(home / "inbox" / "slt.mp3", TALKS["sourdough"][:5], tool="flite", voice="slt",
              pause_s=0.8)
    make_talk(home / "inbox" / "rms.mp3", TALKS["bees"][:5], tool="flite", voice="rms",
              pause_s=0.8)
    config_path = write_config(home)
    assert talks(config_path, "--batch").returncode == 0
    out = home / "out"
    assert len([p for p in tree(out) if "/Sarah Lane/" in p]) == 5  # talk + 4 transcripts

    # A decomposed name (as macOS gives it) is the same name, stored composed.
    new = unicodedata.normalize("NFD", "Sarah Lané")
    done = talks(config_path, "speakers", "rename", "Sarah Lane", new)
    assert done.returncode == 0, done.stderr
    assert "Renamed Sarah Lane to Sarah Lané: 2 clip(s) moved, 1 filed talk(s) re-filed" \
        in done.stdout
    files = tree(out)
    assert not [p for p in files if "Sarah Lane" in p]  # nothing left under the old name
    moved = [p for p in files if "/Sarah Lané/Sarah Lané - " in p]
    assert len(moved) == 5
    config = load_config(config_path)
    with Ledger(config.output.ledger_path) as ledger:
        row = next(r for r in ledger.all_files() if r.name == "slt.mp3")
        assert row.speaker == "Sarah Lané" and Path(row.destination).is_file()
        assert all(Path(t).is_file() for t in row.transcripts)
        assert "Sarah Lané" in ledger.scores(row.id)
    data = json.loads(next(out.rglob("Sarah Lané - *.json")).read_text())
    assert data["speaker"] == "Sarah Lané"
    (found,) = search_archive(config, "starter", speaker="sarah lané")
    assert found.talk == row.destination

    # Merge Robert Moss into her: his clips and his talk go with hers; the ledger's scores
    # and review candidates know only her.
    done = talks(config_path, "speakers", "merge", "Robert Moss", "Sarah Lané")
    assert done.returncode == 0, done.stderr
    assert "Merged Robert Moss into Sarah Lané" in done.stdout
    assert not [p for p in tree(out) if "Robert Moss" in p]
    assert len([p for p in tree(out) if "/Sarah Lané/" in p]) == 10
    assert {t.speaker for t in search_archive(config, "honey OR starter")} == {"Sarah Lané"}
    with pytest.raises(QueryError):
        search_archive(config, "honey", speaker="Robert Moss")  # nobody filed under him now
    assert [p.name for p in SpeakerLibrary(home / "library").people()] == ["Alan Wébb",
                                                                         "Sarah Lané"]
    with Ledger(config.output.ledger_path) as ledger:
        for row in ledger.all_files():
            assert "Robert Moss" not in ledger.scores(row.id)
            names = [n for n, _s in (row.speaker_evidence or {}).get("candidates", [])]
            assert "Robert Moss" not in names and len(names) == len(set(names))

    # Killed half-way, for real: `speakers rename` is SIGKILLed (with its whole process
    # group, as `kill -9` of the tree would) at the kill point right after the first talk got
    # its new name beside the old one. The plan is on disk, the clips moved, no talk refiled
    # in the ledger. The next speakers command finishes it.
    from pipeline.filing import person_rename

    killed = kill_at(config_path, "relabel.link:1:0", tmp_path / "chaos",
                     "speakers", "rename", "Sarah Lané", "S. Lane")
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr)
    assert (tmp_path / "chaos" / "fired").read_text().startswith("relabel.link:1:")
    assert person_rename.pending(config) is not None
    assert [p.name for p in SpeakerLibrary(home / "library").people()] == ["Alan Wébb",
                                                                         "S. Lane"]
    assert len([p for p in tree(out) if "/Sarah Lané/" in p]) == 10  # talks not moved yet
    # The first talk's new name (a hard link beside the old one), and nothing else yet.
    assert [Path(p).name.startswith("S. Lane - ") for p in tree(out) if "/S. Lane/" in p] \
        == [True]
    with Ledger(config.output.ledger_path) as ledger:
        assert {r.speaker for r in ledger.all_files()} == {"Sarah Lané"}
    listed = talks(config_path, "speakers", "list")
    assert listed.returncode == 0, listed.stderr
    assert "Finished an interrupted change: Renamed Sarah Lané to S. Lane" in listed.stdout
    assert "2 filed talk(s) re-filed" in listed.stdout
    assert person_rename.pending(config) is None
    files = tree(out)
    assert not [p for p in files if "Sarah Lané" in p]
    assert len([p for p in files if "/S. Lane/S. Lane - " in p]) == 10
