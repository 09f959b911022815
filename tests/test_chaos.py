"""The short chaos run inside `make test`: a few SIGKILL trials at the moments that matter
most (mid-transcription, between a copy's fsync and its rename, around the ledger's commit,
before a moved original goes, inside a relabel and a speakers add). `make chaos` runs the
full harness (tests/chaos.py) over every moment."""

from __future__ import annotations

from tests import chaos

POINTS = ["transcribe.chunk", "organize.fsync", "organize.committed", "organize.release",
          "relabel.unlink", "speakers.add"]


def test_killed_runs_lose_nothing_and_a_clean_run_completes(tmp_path):
    lines: list[str] = []
    trials = chaos.run(len(POINTS), seed=7, work=tmp_path, say=lines.append, points=POINTS)
    print("\n".join(lines))
    assert {t.moment.point for t in trials} == set(POINTS)
    assert sum(t.killed for t in trials) >= len(POINTS) - 1, lines  # each kill point reached
    for trial in trials:
        assert trial.sound, (trial.moment.point, trial.problems, lines)
    assert sum(t.losses for t in trials) == 0
    assert sum(t.duplicates for t in trials) == 0
