"""One kind of foreseen error, TalksError, and one set of exit codes, ExitCode."""

from __future__ import annotations

import pytest

from common.errors import Busy, ExitCode, Fault, TalksError
from common.media import FfmpegMissing, MediaError
from pipeline.asr.models import ModelNotFound
from pipeline.config.schedule import ScheduleError
from pipeline.config.settings import ConfigError, ConfigProblem
from pipeline.filing.compact import CompactError
from pipeline.filing.place import FilingError
from pipeline.filing.relabel import RelabelError
from pipeline.filing.tags import TagError
from pipeline.run.states import OutcomeStatus, Stage, StageError
from pipeline.run.summary import BatchSummary, Outcome
from pipeline.stages.llm_title import LlmUnavailable
from speakers.embedding import EmbedderUnavailable
from speakers.library import LibraryError


def test_the_sentence_and_the_advice_are_what_the_user_reads():
    assert str(TalksError("The disk is gone.")) == "The disk is gone."
    error = TalksError("The disk is gone.", "Mount it, then run again.")
    assert (error.sentence, error.advice) == ("The disk is gone.", "Mount it, then run again.")
    assert str(error) == "The disk is gone. Mount it, then run again."


@pytest.mark.parametrize("cls", [Fault, Busy, FfmpegMissing, MediaError, ModelNotFound,
                                 ScheduleError, CompactError, FilingError, RelabelError,
                                 TagError, LlmUnavailable, EmbedderUnavailable, LibraryError])
def test_every_user_facing_error_is_a_talks_error_and_keeps_its_text(cls):
    error = cls("Something went wrong: do this.")
    assert isinstance(error, TalksError)
    assert str(error) == "Something went wrong: do this."
    assert isinstance(error.exit_code, ExitCode)


def test_the_errors_that_carry_more_keep_it():
    stage = StageError(Stage.TRANSCRIBE, "The engine stalled.")
    assert isinstance(stage, TalksError) and stage.stage is Stage.TRANSCRIBE
    assert str(stage) == "The engine stalled."
    config = ConfigError(None, [ConfigProblem("input.folders", 3, "a list of paths")])
    assert isinstance(config, TalksError) and config.exit_code is ExitCode.USAGE
    assert str(config) == "1 problem(s):\n  - input.folders = 3: a list of paths"


def test_exit_codes_are_exit_code_members_with_their_old_numbers():
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4, 5, 70, 130, 143]
    assert Fault.exit_code is ExitCode.MACHINE and Busy.exit_code is ExitCode.BUSY
    assert ModelNotFound.exit_code is ExitCode.MACHINE  # a model missing stops the run
    assert TalksError.exit_code is ExitCode.FAILED
    done = BatchSummary([Outcome("a.mp3", OutcomeStatus.FILED)])
    assert done.exit_code is ExitCode.OK
    done.outcomes.append(Outcome("b.mp3", OutcomeStatus.FAILED))
    assert done.exit_code is ExitCode.FAILED
    # Asked to stop (c in an app), it left recordings unfinished: not "all went well".
    done.outcomes.append(Outcome("c.mp3", OutcomeStatus.CANCELLED))
    assert done.exit_code is ExitCode.STOPPED
