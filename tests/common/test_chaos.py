"""The short chaos run inside `make test`: a few SIGKILL trials at the moments that matter
most (mid-transcription, between a copy's fsync and its rename, around the ledger's commit,
before a moved original goes, inside a relabel and a speakers add). `make chaos` runs the
full harness (tests/support/chaos.py) over every moment."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.support import chaos

pytestmark = [pytest.mark.models, pytest.mark.slow]


def killed_runs(work: Path, points: list[str], talk_seconds: tuple[float, float]) -> None:
    lines: list[str] = []
    trials = chaos.run(len(points), seed=7, work=work, say=lines.append, points=points,
                       talk_seconds=talk_seconds)
    print("\n".join(lines))
    assert {t.moment.point for t in trials} == set(points)
    assert sum(t.killed for t in trials) >= max(1, len(points) - 1), lines  # points reached
    for trial in trials:
        assert trial.sound, (trial.moment.point, trial.problems, lines)
    assert sum(t.losses for t in trials) == 0
    assert sum(t.duplicates for t in trials) == 0


def test_a_run_killed_mid_transcription_loses_nothing_and_a_clean_run_completes(tmp_path):
    # Talks of two chunks: seed 7 kills 0.6 s after the third chunk's commit (the second
    # talk's first), so inside the second talk's second chunk.
    killed_runs(tmp_path, ["transcribe.chunk"], chaos.SHORT_TALKS)


def test_runs_killed_while_filing_or_changing_the_library_lose_nothing(tmp_path):
    # These points come after transcription or outside a batch: talks of one chunk do.
    killed_runs(tmp_path, ["organize.fsync", "organize.committed", "organize.release",
                           "relabel.unlink", "speakers.add"], chaos.ONE_CHUNK_TALKS)


def test_a_rename_killed_between_two_clips_is_finished_by_the_same_command(tmp_path,
                                                                          monkeypatch):
    # The full harness found it: killed after the first of Sarah Lane's two clips had moved,
    # the rename could not be finished ("'Sarah Moss' already exists: use merge"), and merge
    # said the same, so the library stayed split between the two names.
    moment = next(m for m in chaos.MOMENTS if m.point == "speakers.rename")
    monkeypatch.setenv("TALKS_STATE_DIR", str(tmp_path / "state"))
    corpus = chaos.make_corpus(tmp_path, chaos.ONE_CHUNK_TALKS)  # renames: any length
    trial = chaos.run_trial(chaos.Trial(moment, nth=1, delay_ms=0), corpus, tmp_path)
    assert trial.killed, trial.problems
    assert trial.sound, trial.problems
    assert trial.losses == 0


def test_a_batch_run_finishes_a_rename_killed_half_way_before_it_files(tmp_path, monkeypatch):
    # Killed over SSH between two clips; the next thing to run is cron's `talks --batch`. It
    # must not file new talks while the library is split between the old and the new name.
    monkeypatch.setenv("TALKS_STATE_DIR", str(tmp_path / "state"))
    corpus = chaos.make_corpus(tmp_path, chaos.ONE_CHUNK_TALKS)  # renames: any length
    home = chaos.new_home(corpus, tmp_path / "trial", move=False)
    (tmp_path / "chaos").mkdir()
    killed = chaos.talks(home, "speakers", "rename", "Sarah Lane", "Sarah Moss",
                         chaos="speakers.rename:1:0", chaos_dir=tmp_path / "chaos")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    library = home / "library"
    assert sorted(p.name for p in library.iterdir()) == ["Robert Moss.wav", "Sarah Lane_1.wav",
                                                         "Sarah Moss.wav"]
    batch = chaos.talks(home, "--batch")
    assert batch.returncode == 0, batch.stderr
    assert "Finished an interrupted change: Renamed Sarah Lane to Sarah Moss" in (
        batch.stdout + batch.stderr)
    assert sorted(p.name for p in library.iterdir()) == ["Robert Moss.wav", "Sarah Moss.wav",
                                                         "Sarah Moss_1.wav"]
    assert not list((home / "out").rglob("*Sarah Lane*"))
    assert not (home / "out" / ".talks" / "person-move.json").exists()
