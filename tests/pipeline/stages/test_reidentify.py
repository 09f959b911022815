"""The archive follows the library, on real voices: talks filed under the default speaker
while the library was empty move to their person once that person is enrolled, at the next
run, without being transcribed again, by the same decision a new talk would get."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT
from tests.support.voices import REAL_DIR, make_talk_by, real_speakers

pytestmark = [pytest.mark.models, pytest.mark.xdist_group("real-speech")]

MISC = "Miscellaneous Speakers"
A, B = "pyannote-speaker90", "pyannote-speaker91"
NAMES = {A: "Ada Quill", B: "Ben Roe"}


def talks(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)


def write_config(home: Path, filed_audio: str) -> Path:
    path = home / "config.toml"
    path.write_text('[input]\nfolders = ["inbox"]\nmin_duration_s = 1.0\nsettle_seconds = 0.5\n'
                    f'[output]\nroot = "out"\nfiled_audio = "{filed_audio}"\n'
                    '[speakers]\nfolder = "library"\nsample_count = 3\nsample_seconds = 5.0\n'
                    '[transcription]\ncheck_language = false\n'  # English: not heard first
                    '[logging]\nfile = "out/log"\n', encoding="utf-8")
    return path


def ledger_rows(home: Path) -> dict[str, dict]:
    db = sqlite3.connect(home / "out" / ".talks" / "ledger.sqlite")
    db.row_factory = sqlite3.Row
    rows = db.execute("SELECT * FROM files").fetchall()
    out = {}
    for r in rows:
        voices = db.execute("SELECT COUNT(*) FROM talk_voices WHERE file_id = ?",
                            (r["id"],)).fetchone()[0]
        chunk_runs = [c[0] for c in db.execute("SELECT run_id FROM chunks WHERE file_id = ?",
                                               (r["id"],))]
        out[Path(r["path"]).name] = {**dict(r), "voices": voices, "chunk_runs": chunk_runs,
                                     "evidence": json.loads(r["speaker_evidence"] or "{}")}
    return out


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Two real people's talks filed with an empty library, then both people enrolled and a
    second run, and a third with nothing changed."""
    real = real_speakers(REAL_DIR)
    assert A in real and B in real, "run scripts/fetch-test-speech.sh (make test does)"
    home = tmp_path_factory.mktemp("follow")
    held_out = {A: real[A][1:], B: real[B][2:]}
    enrolled = {A: real[A][:1], B: real[B][:2]}
    for who, clips in held_out.items():
        make_talk_by(clips, home / "inbox" / f"{who} talk.wav", 20.0)
    config = write_config(home, "original")
    first = talks(config, "--batch", "--json")
    before = ledger_rows(home)
    for who, clips in enrolled.items():
        added = talks(config, "speakers", "add", NAMES[who], *map(str, clips))
        assert added.returncode == 0, added.stderr
    # Said at once: what the next run will do about the talks filed before.
    assert (f"2 talks filed under {MISC} will be identified again with the changed library "
            "at the next run") in added.stdout
    second = talks(config, "--batch", "--json")
    third = talks(config, "--batch", "--json")
    return home, config, real, enrolled, held_out, first, before, second, third


def test_talks_filed_unknown_move_to_their_person_once_enrolled(archive):
    home, _config, _real, _enrolled, _held, first, before, second, _third = archive
    assert first.returncode == 0, first.stderr
    assert all(r["speaker"] == MISC for r in before.values())
    # Nobody to compare with, so no speaker model while filing: each voice is heard once
    # after the queue, from the filed copy, and kept: several samples of each ~20-s talk
    # (up to sample_count = 3 of 5 s, from the speech its cues cover: fewer, longer ones
    # when the cues cover less than 15 s).
    assert all(2 <= r["voices"] <= 3 for r in before.values()), {
        name: (r["voices"], r["duration"]) for name, r in before.items()}
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    after = ledger_rows(home)
    for who in (A, B):
        row = after[f"{who} talk.wav"]
        # As kept by the first run: not heard again.
        assert row["voices"] == before[f"{who} talk.wav"]["voices"]
        assert row["evidence"]["candidates"][0][0] == NAMES[who]  # never someone else first
        if row["speaker_decision"] == "match":
            assert row["speaker"] == NAMES[who] and not row["needs_review"]
            assert Path(row["destination"]).is_file()
            assert Path(row["destination"]).parent.name == NAMES[who]
            assert all(Path(t).is_file() and NAMES[who] in t
                       for t in json.loads(row["transcripts"]))
        else:  # a close call waits for a person, as a new talk would
            assert row["speaker_decision"] == "review" and row["needs_review"]
            assert row["speaker"] == MISC
        # Not transcribed again: its chunks are the first run's.
        assert row["chunk_runs"] == before[f"{who} talk.wav"]["chunk_runs"]
    moved = [r for r in after.values() if r["speaker"] != MISC]
    assert summary["refiled"] == len(moved) >= 1
    assert {t["speaker"] for t in summary["refiled_talks"]} == {r["speaker"] for r in moved}
    assert summary["sent_to_review"] == sum(r["needs_review"] for r in after.values())
    assert "identified again" in second.stderr
    # Nothing left under the default speaker but what still belongs there.
    left = list((home / "out").rglob(f"{MISC}/*"))
    assert len(left) == 5 * (2 - len(moved))  # a talk and its four transcripts each


def test_an_unchanged_library_does_not_identify_the_archive_again(archive):
    *_, third = archive
    assert third.returncode == 0, third.stderr
    assert json.loads(third.stdout)["refiled"] == 0
    assert "identified again" not in third.stderr


def test_identified_again_is_decided_as_a_new_talk_would_be(archive, tmp_path):
    """The same talks filed afresh with the library already there: the same decisions and
    the same ranking, scores equal to a thousandth (the kept voice is float16)."""
    home, _config, _real, enrolled, held_out, *_ = archive
    fresh = tmp_path
    shutil.copytree(home / "library", fresh / "library")
    shutil.copytree(home / "inbox", fresh / "inbox")
    config = write_config(fresh, "original")
    done = talks(config, "--batch")
    assert done.returncode == 0, done.stderr
    again, new = ledger_rows(home), ledger_rows(fresh)
    for name in new:
        # A new talk's voice is kept as it is identified: a vector for each of its samples.
        assert new[name]["voices"] == len(new[name]["evidence"]["samples"]) >= 2
        assert new[name]["speaker_decision"] == again[name]["speaker_decision"]
        ranked_new = new[name]["evidence"]["candidates"]
        ranked_again = again[name]["evidence"]["candidates"]
        assert [n for n, _ in ranked_new] == [n for n, _ in ranked_again]
        for (_, x), (_, y) in zip(ranked_new, ranked_again, strict=True):
            assert abs(x - y) < 2e-3


def test_a_compact_copy_is_heard_at_its_speech_on_its_own_clock(tmp_path):
    """Without the raw backup, the kept pieces of a compact copy map each sample of speech
    onto the copy's clock: every piece lands inside the copy, and the same speech."""
    from pipeline.config.settings import from_dict
    from pipeline.filing.compact import RATE, TimeMap
    from pipeline.ledger import Ledger
    from pipeline.stages.voices import filed_samples

    config = from_dict({"output": {"root": "out"},
                        "speakers": {"sample_count": 3, "sample_seconds": 4.0,
                                     "sample_offset_s": 0.0, "skip_end_s": 0.0}}, tmp_path)
    recording = tmp_path / "talk.wav"
    recording.write_bytes(b"not read here")
    # Speech at 10-20 s and 50-60 s of a 70 s recording; the compact copy keeps 9-21 and
    # 49-61 (a second of pause each side), so 20 s at 40 s of the original is cut.
    pieces = ((9 * RATE, 12 * RATE), (49 * RATE, 12 * RATE))
    clock = TimeMap(pieces, 70 * RATE)
    with Ledger(tmp_path / "out" / ".talks" / "ledger.sqlite") as ledger:
        row, _ = ledger.register(recording, "h")
        ledger.save_plan(row.id, [(0.0, 70.0)])
        ledger.save_chunk(row.id, 0, "words", [{"start": 10.0, "end": 20.0, "text": "a"},
                                               {"start": 50.0, "end": 60.0, "text": "b"}],
                          run_id=1, seconds=1.0)
        ledger.update(row.id, duration=70.0, destination=str(tmp_path / "copy.mp3"),
                      compact={"pieces": [list(p) for p in pieces],
                               "original_samples": 70 * RATE})
        path, samples = filed_samples(ledger, ledger.get(row.id), config)
    assert path == tmp_path / "copy.mp3"
    assert len(samples) == 3
    heard = [(a, n) for sample in samples for a, n in sample]
    assert abs(sum(n for _, n in heard) - 12.0) < 1e-6  # 3 samples of 4 s of speech
    for start, length in heard:
        # Speech is at 1-11 s and 13-23 s of the copy (9 s and 37 s earlier than it was).
        assert (1.0 <= start and start + length <= 11.0 + 1e-6) or \
            (13.0 <= start and start + length <= 23.0 + 1e-6), heard
    assert clock.compact_seconds == 24.0


def test_a_talk_a_person_put_under_the_default_speaker_stays_there(archive):
    """(Last: it changes the archive the tests above read.)"""
    home, config, real, *_ = archive
    row = ledger_rows(home)[f"{A} talk.wav"]
    relabeled = talks(config, "relabel", str(row["id"]), MISC)
    assert relabeled.returncode == 0, relabeled.stderr
    # The library changes again (another clip of Ada): the archive is looked at again, but a
    # person's own answer is never second-guessed.
    added = talks(config, "speakers", "add", NAMES[A], str(real[A][1]))
    assert added.returncode == 0, added.stderr
    assert "will be identified again" not in added.stdout  # a person's answer is kept
    run = talks(config, "--batch", "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["refiled"] == 0
    after = ledger_rows(home)[f"{A} talk.wav"]
    assert after["speaker"] == MISC and after["speaker_decision"] == "manual"
