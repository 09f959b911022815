"""A batch: every recording in the input folders, one after another, inside a run session.

One failure stops nothing; a fault of the machine stops the run (raised as Fault, with what
was done so far in its `summary`). Asked for more (see control.py), it looks in the folders
again when it is done. Every face starts its runs here, through pipeline/api.py.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator

from common.errors import Fault, is_machine_fault
from pipeline.config.settings import Config
from pipeline.ledger import Ledger
from pipeline.run.events import BatchFinished, OnEvent
from pipeline.run.fault_place import locate
from pipeline.run.housekeeping import before_the_run, preflight
from pipeline.run.memory import checkpoint
from pipeline.run.queue import file_the_inbox
from pipeline.run.session import run_session
from pipeline.run.states import OutcomeStatus
from pipeline.run.summary import BatchSummary
from pipeline.run.worker import StopFlag


def run_batch(config: Config, on_event: OnEvent, control: StopFlag | None = None,
              full_scan: bool = False, face: str = "batch") -> BatchSummary:
    preflight(config)
    began = time.monotonic()
    summary = BatchSummary()
    try:
        with run_session(config, on_event, control, face) as session, \
                Ledger(config.output.ledger_path) as ledger:
            emit = session.emit
            before_the_run(config, ledger, emit)
            run_id = ledger.start_run()
            emit(checkpoint("batch start"))
            with recorded_run(ledger, run_id, summary, began):
                file_the_inbox(config, emit, session.control, ledger, run_id, full_scan,
                               summary)
            emit(checkpoint("batch end"))
            # Still inside the session: a follower reads the end from this run's events.
            emit(BatchFinished(summary.count(OutcomeStatus.FILED),
                               summary.count(OutcomeStatus.FAILED),
                               summary.count(OutcomeStatus.SKIPPED),
                               summary.count(OutcomeStatus.UNCHANGED),
                               round(summary.seconds, 2)))
    except Fault as exc:
        exc.summary = summary
        raise
    except (OSError, sqlite3.Error) as exc:
        if not is_machine_fault(exc):
            raise
        problem = locate(exc, config)
        problem.summary = summary
        raise problem from None
    return summary


@contextlib.contextmanager
def recorded_run(ledger: Ledger, run_id: int, summary: BatchSummary,
                 began: float) -> Iterator[None]:
    """The run's totals and time written to the ledger when its work ends, however it ends."""
    try:
        yield
    except BaseException:
        summary.seconds = time.monotonic() - began
        with contextlib.suppress(Exception):  # already stopping; the disk may be full
            ledger.finish_run(run_id, summary.as_dict())
        raise
    summary.seconds = time.monotonic() - began
    ledger.finish_run(run_id, summary.as_dict())
