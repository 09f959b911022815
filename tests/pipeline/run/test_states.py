"""The state machine of a file, on a real ledger: every legal transition, and the refusals."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from pipeline.ledger import Ledger
from pipeline.run.states import (
    STAGE_END,
    STAGE_START,
    FileState,
    IllegalTransition,
    Stage,
    Transition,
    after,
)

PIPELINE = (FileState.NEW, FileState.PROBED, FileState.TRANSCRIBED, FileState.IDENTIFIED,
            FileState.TITLED, FileState.FILED)
WORK_STAGES = tuple(STAGE_START)

# Every legal move: (from, transition, stage) -> to. Written out by hand, independently of
# pipeline.run.states, so the test checks the table instead of repeating it.
LEGAL = {
    (FileState.NEW, Transition.ADVANCE, None): FileState.PROBED,
    (FileState.PROBED, Transition.ADVANCE, None): FileState.TRANSCRIBED,
    (FileState.TRANSCRIBED, Transition.ADVANCE, None): FileState.IDENTIFIED,
    (FileState.IDENTIFIED, Transition.ADVANCE, None): FileState.TITLED,
    (FileState.TITLED, Transition.ADVANCE, None): FileState.FILED,
    (FileState.NEW, Transition.FAIL, Stage.PROBE): FileState.FAILED,
    (FileState.PROBED, Transition.FAIL, Stage.TRANSCRIBE): FileState.FAILED,
    (FileState.TRANSCRIBED, Transition.FAIL, Stage.IDENTIFY): FileState.FAILED,
    (FileState.IDENTIFIED, Transition.FAIL, Stage.TITLE): FileState.FAILED,
    (FileState.TITLED, Transition.FAIL, Stage.ORGANIZE): FileState.FAILED,
    (FileState.PROBED, Transition.SKIP, None): FileState.SKIPPED,
    (FileState.SKIPPED, Transition.RETRY, None): FileState.PROBED,
    **{(FileState.FAILED, Transition.RETRY, stage): start
       for stage, start in STAGE_START.items()},
    **{(state, Transition.RESTART, None): FileState.NEW for state in FileState},
}


def ledger_with_file(tmp_path: Path) -> tuple[Ledger, int]:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    recording = tmp_path / "talk.mp3"
    recording.write_bytes(b"bytes of a talk")
    row, _ = ledger.register(recording, ledger.hash_of(recording))
    return ledger, row.id


def bring_to(ledger: Ledger, file_id: int, state: FileState, failed_at: Stage | None) -> None:
    """Walk a new file to `state` through legal transitions only."""
    if state == FileState.SKIPPED:
        ledger.advance(file_id, FileState.PROBED)
        ledger.skip(file_id, "too short")
        return
    if state == FileState.FAILED:
        stage = failed_at or Stage.PROBE
        bring_to(ledger, file_id, STAGE_START[stage], None)
        ledger.fail(file_id, stage, "it broke")
        return
    for target in PIPELINE[1:PIPELINE.index(state) + 1]:
        ledger.advance(file_id, target)


def apply(ledger: Ledger, file_id: int, transition: Transition, stage: Stage | None,
          target: FileState | None) -> None:
    if transition == Transition.ADVANCE:
        ledger.advance(file_id, target or FileState.FILED)
    elif transition == Transition.FAIL:
        ledger.fail(file_id, stage or Stage.PROBE, "it broke")
    elif transition == Transition.SKIP:
        ledger.skip(file_id, "too long")
    elif transition == Transition.RETRY:
        ledger.retry(file_id)
    else:
        ledger.restart(file_id)


@pytest.mark.parametrize(("start", "transition", "stage"), list(LEGAL),
                         ids=lambda v: str(v) if v is not None else "-")
def test_every_legal_transition_goes_where_the_table_says(tmp_path, start, transition, stage):
    ledger, file_id = ledger_with_file(tmp_path)
    failed_at = stage if start == FileState.FAILED else None
    bring_to(ledger, file_id, start, failed_at)
    assert ledger.get(file_id).state == start
    expected = LEGAL[(start, transition, stage)]
    apply(ledger, file_id, transition, stage, expected)
    row = ledger.get(file_id)
    assert row.state == expected
    assert isinstance(row.state, FileState)
    if expected == FileState.FAILED:
        assert row.failed_stage == stage and row.error == "it broke"
    elif expected == FileState.SKIPPED:
        assert row.error == "too long"  # the reason is shown in the file list
    else:
        assert row.failed_stage is None and row.error is None


def test_the_state_table_agrees_with_the_hand_written_one():
    for state, transition in itertools.product(FileState, Transition):
        for stage in (None, *WORK_STAGES):
            legal = LEGAL.get((state, transition, stage))
            takes_stage = transition == Transition.FAIL or (
                transition == Transition.RETRY and state == FileState.FAILED)
            if stage is not None and not takes_stage:
                continue
            if legal is None:
                with pytest.raises(IllegalTransition):
                    after(state, transition, stage)
            else:
                assert after(state, transition, stage) == legal


ILLEGAL = [
    (FileState.NEW, Transition.ADVANCE, FileState.FILED),        # skipping stages
    (FileState.PROBED, Transition.ADVANCE, FileState.PROBED),    # standing still
    (FileState.FILED, Transition.ADVANCE, FileState.FILED),      # nothing after filed
    (FileState.FAILED, Transition.ADVANCE, FileState.PROBED),    # a failed file must retry
    (FileState.FILED, Transition.FAIL, None),                    # a filed talk cannot fail
    (FileState.TITLED, Transition.FAIL, Stage.PROBE),            # not the stage it is in
    (FileState.NEW, Transition.SKIP, None),                      # skip needs a duration
    (FileState.FILED, Transition.RETRY, None),
    (FileState.NEW, Transition.RETRY, None),
]


@pytest.mark.parametrize(("start", "transition", "arg"), ILLEGAL, ids=str)
def test_an_illegal_transition_is_refused_and_changes_nothing(tmp_path, start, transition, arg):
    ledger, file_id = ledger_with_file(tmp_path)
    bring_to(ledger, file_id, start, None)
    before = ledger.get(file_id)
    with pytest.raises(IllegalTransition):
        if transition == Transition.FAIL:
            ledger.fail(file_id, arg or Stage.ORGANIZE, "nope")
        else:
            apply(ledger, file_id, transition, None, arg)
    assert ledger.get(file_id) == before


def test_state_is_never_set_through_a_generic_update(tmp_path):
    ledger, file_id = ledger_with_file(tmp_path)
    for fields in ({"state": "filed"}, {"failed_stage": "probe"}, {"error": "x"},
                   {"title": "ok", "state": "titled"}):
        with pytest.raises(IllegalTransition):
            ledger.update(file_id, **fields)
    assert ledger.get(file_id).state == FileState.NEW
    ledger.update(file_id, title="A title")  # facts other than the state are fine
    assert ledger.get(file_id).title == "A title"


def test_restart_forgets_the_chunks_but_keeps_where_it_was_filed(tmp_path):
    ledger, file_id = ledger_with_file(tmp_path)
    bring_to(ledger, file_id, FileState.PROBED, None)
    ledger.save_plan(file_id, [(0.0, 10.0), (10.0, 20.0)])
    for target in PIPELINE[2:]:
        ledger.advance(file_id, target, **({"destination": "/x/y.mp3"}
                                           if target == FileState.FILED else {}))
    ledger.restart(file_id)
    row = ledger.get(file_id)
    assert row.state == FileState.NEW and ledger.chunks(file_id) == []
    assert row.destination == "/x/y.mp3"


def test_each_stage_starts_where_the_previous_one_ended():
    stages = list(STAGE_START)
    for earlier, later in zip(stages, stages[1:], strict=False):
        assert STAGE_END[earlier] == STAGE_START[later]
    assert STAGE_END[stages[-1]] == FileState.FILED
