"""The vocabulary of the pipeline: where a file is, which stage works on it, how it ended.

A file moves  new → probed → transcribed → identified → titled → filed,  one stage at a
time, or ends early in `failed` (remembering the stage) or `skipped` (outside the duration
limits). The ledger changes a file's state only through the named transitions below; this
module says which are legal, so the ledger, the state machine (file_flow.py) and the tests
read one table.
"""

from __future__ import annotations

from enum import StrEnum

from common.errors import TalksError


class FileState(StrEnum):
    NEW = "new"
    PROBED = "probed"
    TRANSCRIBED = "transcribed"
    IDENTIFIED = "identified"
    TITLED = "titled"
    FILED = "filed"
    FAILED = "failed"
    SKIPPED = "skipped"


class Stage(StrEnum):
    DISCOVER = "discover"  # reading the file to know it (before the ledger has a row)
    PROBE = "probe"
    TRANSCRIBE = "transcribe"
    IDENTIFY = "identify"
    TITLE = "title"
    ORGANIZE = "organize"


class OutcomeStatus(StrEnum):
    """How one run left one file."""
    FILED = "filed"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNCHANGED = "unchanged"  # filed by an earlier run
    DUPLICATE = "duplicate"  # the same recording as another file: filed once, this one noted
    WAITING = "waiting"      # still being copied in: taken by a later run
    CANCELLED = "cancelled"


class Transition(StrEnum):
    ADVANCE = "advance"  # a stage finished: on to the next state
    FAIL = "fail"        # a stage failed: the file waits in `failed` with the reason
    SKIP = "skip"        # probed, but outside the duration limits
    RETRY = "retry"      # a failed or skipped file goes back to where its stage starts
    RESTART = "restart"  # --full-scan: forget the work, start from `new`


# Each stage starts from one state and, when it succeeds, leaves the file in the next.
STAGE_START: dict[Stage, FileState] = {
    Stage.PROBE: FileState.NEW,
    Stage.TRANSCRIBE: FileState.PROBED,
    Stage.IDENTIFY: FileState.TRANSCRIBED,
    Stage.TITLE: FileState.IDENTIFIED,
    Stage.ORGANIZE: FileState.TITLED,
}
STAGE_END: dict[Stage, FileState] = {
    Stage.PROBE: FileState.PROBED,
    Stage.TRANSCRIBE: FileState.TRANSCRIBED,
    Stage.IDENTIFY: FileState.IDENTIFIED,
    Stage.TITLE: FileState.TITLED,
    Stage.ORGANIZE: FileState.FILED,
}
NEXT_STAGE: dict[FileState, Stage] = {state: stage for stage, state in STAGE_START.items()}


class StageError(TalksError):
    """A stage could not finish; the message is the one sentence the user reads (what went
    wrong and what to do). Raised in the main process and inside worker processes alike.
    (Any other TalksError a stage lets out is that stage's failure just the same.)"""

    def __init__(self, stage: Stage | str, message: str):
        super().__init__(message)
        self.stage = Stage(stage)


class IllegalTransition(Exception):
    """A change of state the state machine does not allow: a bug, never a user's doing."""


def after(state: FileState, transition: Transition, stage: Stage | None = None) -> FileState:
    """The state `transition` leads to from `state`, or IllegalTransition.

    `stage` is the failing stage for FAIL, and the stage that failed earlier for RETRY from
    `failed`."""
    state = FileState(state)
    refused = IllegalTransition(f"{transition} from {state}"
                                + (f" at {stage}" if stage else "") + " is not allowed")
    if transition == Transition.RESTART:
        return FileState.NEW
    if transition == Transition.ADVANCE:
        if state not in NEXT_STAGE:
            raise refused
        return STAGE_END[NEXT_STAGE[state]]
    if transition == Transition.FAIL:
        if stage is None or STAGE_START.get(Stage(stage)) != state:
            raise refused
        return FileState.FAILED
    if transition == Transition.SKIP:
        if state != FileState.PROBED:
            raise refused
        return FileState.SKIPPED
    if transition == Transition.RETRY:
        if state == FileState.SKIPPED:
            return FileState.PROBED
        if state == FileState.FAILED and stage is not None and Stage(stage) in STAGE_START:
            return STAGE_START[Stage(stage)]
        raise refused
    raise refused
