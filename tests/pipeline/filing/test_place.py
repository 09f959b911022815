"""Filing on real files: resuming a half-done filing, never overwriting, cleanup rules."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pipeline.asr.base import Segment
from pipeline.config.settings import Config, OutputConfig
from pipeline.filing.place import (
    FilingError,
    copy_verified,
    delete_old_raw_backups,
    file_talk,
    release_original,
)
from pipeline.ledger import MIGRATIONS, FileRow, Ledger, content_hash

SEGMENTS = [Segment(0.0, 2.0, "Bees make honey.")]


def make_row(path: Path, planned: str | None = None, destination: str | None = None) -> FileRow:
    return FileRow(id=1, hash=content_hash(path), path=str(path), size=path.stat().st_size,
                   duration=2.0, year=2020, state="titled", failed_stage=None, error=None,
                   title="Bees", speaker="Ann", needs_review=False, planned_name=planned,
                   destination=destination, transcripts=[], raw_backup=None)


@pytest.fixture
def setup(tmp_path):
    src = tmp_path / "in" / "rec.mp3"
    src.parent.mkdir()
    src.write_bytes(os.urandom(50_000))
    config = Config(output=OutputConfig(root=tmp_path / "out"))
    return config, src


def file_it(config: Config, row: FileRow, reserved: list[str]):
    return file_talk(config, row, SEGMENTS, {}, "Bees", "Ann", 2020, reserved.append)


def test_a_taken_name_is_never_overwritten(setup):
    config, src = setup
    other = config.output.talks_dir / "2020" / "Ann" / "Ann - Bees.mp3"
    other.parent.mkdir(parents=True)
    other.write_bytes(b"someone else's talk")
    reserved: list[str] = []
    filed = file_it(config, make_row(src), reserved)
    assert other.read_bytes() == b"someone else's talk"
    assert filed.talk.name == "Ann - Bees (2).mp3"
    assert reserved == ["Ann - Bees (2)"]
    assert filed.talk.read_bytes() == src.read_bytes()
    assert all(p.is_file() for p in filed.transcripts)
    assert filed.raw and filed.raw.read_bytes() == src.read_bytes()


def test_an_interrupted_filing_is_finished_under_the_name_it_reserved(setup):
    config, src = setup
    # A run copied the talk under its reserved name, then was killed before recording it.
    talk = config.output.talks_dir / "2020" / "Ann" / "Ann - Bees (3).mp3"
    talk.parent.mkdir(parents=True)
    talk.write_bytes(src.read_bytes())
    reserved: list[str] = []
    filed = file_it(config, make_row(src, planned="Ann - Bees (3)"), reserved)
    assert filed.talk == talk.resolve()
    assert reserved == []
    assert sorted(p.name for p in talk.parent.iterdir()) == ["Ann - Bees (3).mp3"]
    # Running the same filing again (killed after the raw backup) adds nothing either.
    again = file_it(config, make_row(src, planned="Ann - Bees (3)"), reserved)
    assert again == filed
    assert len(list(config.output.raw_dir.rglob("*.mp3"))) == 1


def test_a_reserved_name_taken_by_another_recording_is_not_reused(setup):
    config, src = setup
    talk = config.output.talks_dir / "2020" / "Ann" / "Ann - Bees.mp3"
    talk.parent.mkdir(parents=True)
    talk.write_bytes(b"different content")
    reserved: list[str] = []
    filed = file_it(config, make_row(src, planned="Ann - Bees"), reserved)
    assert filed.talk.name == "Ann - Bees (2).mp3"
    assert talk.read_bytes() == b"different content"


def test_missing_source_is_one_clear_sentence(setup):
    config, src = setup
    row = make_row(src)
    src.unlink()
    with pytest.raises(FilingError, match="no longer there"):
        file_it(config, row, [])


def test_copy_verified_refuses_an_existing_name(setup, tmp_path):
    _config, src = setup
    target = tmp_path / "taken.mp3"
    target.write_bytes(b"x")
    with pytest.raises(FileExistsError):
        copy_verified(src, target, content_hash(src))
    assert target.read_bytes() == b"x"
    assert not list(tmp_path.glob(".taken.mp3.part"))


def test_copy_verified_rejects_a_source_that_is_not_what_was_hashed(setup, tmp_path):
    _config, src = setup
    with pytest.raises(FilingError, match="changed while it was being copied"):
        copy_verified(src, tmp_path / "copy.mp3", "0" * 64)
    assert not (tmp_path / "copy.mp3").exists()


def test_move_deletes_the_original_only_when_the_copy_matches(setup):
    config, src = setup
    config = Config(output=OutputConfig(root=config.output.root, originals="move"))
    filed = file_it(config, make_row(src), [])
    row = make_row(src)
    filed.talk.write_bytes(b"corrupted on disk")
    with pytest.raises(FilingError, match="original was kept"):
        release_original(config, row, filed)
    assert src.is_file()


def test_old_raw_backups_go_only_when_their_talk_is_filed(tmp_path):
    config = Config(output=OutputConfig(root=tmp_path, cleanup_days=30))
    old_filed = tmp_path / "raw" / "2019" / "a.mp3"
    old_unfiled = tmp_path / "raw" / "2019" / "b.mp3"
    fresh = tmp_path / "raw" / "2019" / "c.mp3"
    for p, data in ((old_filed, b"a"), (old_unfiled, b"b"), (fresh, b"c")):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    past = time.time() - 40 * 86400
    for p in (old_filed, old_unfiled):
        os.utime(p, (past, past))
    filed = {content_hash(old_filed), content_hash(fresh)}
    removed = delete_old_raw_backups(config, filed)
    assert removed == [old_filed]
    assert old_unfiled.exists() and fresh.exists()


def test_ledger_knows_a_moved_file_and_migrates_once(tmp_path):
    rec = tmp_path / "a.wav"
    rec.write_bytes(b"RIFF....")
    with Ledger(tmp_path / "l.sqlite") as ledger:
        row, new = ledger.register(rec, ledger.hash_of(rec))
        assert new
        moved = tmp_path / "sub" / "b.wav"
        moved.parent.mkdir()
        rec.rename(moved)
        again, new = ledger.register(moved, ledger.hash_of(moved))
        assert not new and again.id == row.id and again.path == str(moved)
    with Ledger(tmp_path / "l.sqlite") as ledger:  # reopening runs no migration twice
        assert ledger.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert ledger.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _open_new_ledger(path: str) -> int:
    with Ledger(Path(path)) as ledger:
        return int(ledger.db.execute("PRAGMA user_version").fetchone()[0])


def test_processes_opening_a_new_ledger_at_once_create_it_once(tmp_path):
    # The app's scan and the first worker process open a new ledger at the same moment; the
    # one that comes second must find the tables, not create them again.
    import multiprocessing as mp

    for attempt in range(5):
        path = str(tmp_path / f"ledger-{attempt}.sqlite")
        # forkserver, not fork: a fork of this threaded test process (xdist's, and any
        # thread a test before left) can copy a lock held mid-use, and the child waits on
        # it forever (seen: six children asleep on a futex); the server is single-threaded.
        with mp.get_context("forkserver").Pool(6) as pool:
            versions = pool.map(_open_new_ledger, [path] * 6)
        assert versions == [len(MIGRATIONS)] * 6
