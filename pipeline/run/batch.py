"""A batch: every recording in the input folders, one after another, inside a run session.

One failure stops nothing; a fault of the machine stops the run (raised as Fault, with what
was done so far in its `summary`). Asked for more (see control.py), it looks in the folders
again when it is done. Every face starts its runs here, through pipeline/api.py.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from common import media
from common.errors import Fault, is_machine_fault, unexpected
from common.names import readable
from pipeline.config import roots
from pipeline.config.settings import Config
from pipeline.inbox.discover import discover, name_not_text, split_takeable
from pipeline.inbox.settle import SettleWatch
from pipeline.ledger import Ledger
from pipeline.run.control import RunControl
from pipeline.run.events import BatchFinished, Event, FileFailed, FileQueued, FileSkipped
from pipeline.run.fault_place import locate
from pipeline.run.file_flow import process_file
from pipeline.run.housekeeping import before_the_queue, before_the_run
from pipeline.run.logs import get_logger
from pipeline.run.memory import checkpoint
from pipeline.run.session import run_session
from pipeline.run.states import OutcomeStatus, Stage
from pipeline.run.summary import BatchSummary, Outcome
from pipeline.run.worker import StopFlag

OnEvent = Callable[[Event], None]


def run_batch(config: Config, on_event: OnEvent, control: StopFlag | None = None,
              full_scan: bool = False, face: str = "batch") -> BatchSummary:
    media.require_ffmpeg()
    roots.check_input_folders(config.input.folders, config.source)
    began = time.monotonic()
    summary = BatchSummary()
    try:
        with run_session(config, on_event, control, face) as session, \
                Ledger(config.output.ledger_path) as ledger:
            emit = session.emit
            before_the_run(config, ledger, emit)
            run_id = ledger.start_run()
            emit(checkpoint("batch start"))
            try:
                _file_the_inbox(config, emit, session.control, ledger, run_id, full_scan,
                                summary)
            except BaseException:
                summary.seconds = time.monotonic() - began
                with contextlib.suppress(Exception):  # already stopping; the disk may be full
                    ledger.finish_run(run_id, summary.as_dict())
                raise
            summary.seconds = time.monotonic() - began
            ledger.finish_run(run_id, summary.as_dict())
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


def _file_the_inbox(config: Config, emit: OnEvent, control: RunControl, ledger: Ledger,
                    run_id: int, full_scan: bool, summary: BatchSummary) -> None:
    before_the_queue(config, ledger)
    taken: set[Path] = set()
    aside: set[Path] = set()
    paths = _takeable(discover(config), aside, emit, summary)
    watch = SettleWatch(config.input.settle_seconds)
    while paths:
        # Files still being copied in go last, and only once they have settled.
        ready, arriving = watch.split(paths)
        for position, path in enumerate(ready + arriving, start=len(taken) + 1):
            emit(FileQueued(path.name, position, len(taken) + len(paths)))
        taken.update(paths)
        file_each(ready, config, emit, control, ledger, run_id, full_scan, summary)
        if arriving and not control.is_set():
            late, still = watch.wait(arriving, timeout=2 * config.input.settle_seconds)
            file_each(late, config, emit, control, ledger, run_id, full_scan, summary)
            for path in still:
                reason = (f"still being copied in (it changed in the last "
                          f"{config.input.settle_seconds:g} s): a later run takes it")
                emit(FileSkipped(path.name, reason))
                summary.outcomes.append(Outcome(path.name, OutcomeStatus.WAITING,
                                                reason=reason))
                taken.discard(path)  # a look for more may find it settled
        more = control.take_more()
        found = [p for p in discover(config) if p not in taken] if more else []
        paths = _takeable(found, aside, emit, summary)


def _takeable(paths: list[Path], aside: set[Path], emit: OnEvent,
              summary: BatchSummary) -> list[Path]:
    """The paths a run can take. A recording whose name is not text fails here (once a
    run: `aside`), saying what to do, and the rest of the batch goes on."""
    kept, refused = split_takeable(paths)
    for path in refused:
        if path not in aside:
            aside.add(path)
            name, reason = readable(path.name), name_not_text(path)
            emit(FileFailed(name, Stage.DISCOVER, reason))
            summary.outcomes.append(Outcome(name, OutcomeStatus.FAILED, stage=Stage.DISCOVER,
                                            reason=reason))
    return kept


def file_each(paths: list[Path], config: Config, emit: OnEvent, control: StopFlag | None,
              ledger: Ledger, run_id: int, full_scan: bool, summary: BatchSummary) -> None:
    for path in paths:
        if control is not None and control.is_set():
            summary.outcomes.append(Outcome(path.name, OutcomeStatus.CANCELLED))
            continue
        try:
            outcome = process_file(path, config, emit, control, ledger=ledger,
                                   run_id=run_id, full_scan=full_scan)
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
            if is_machine_fault(exc):
                problem = locate(exc, config)
                summary.outcomes.append(Outcome(path.name, OutcomeStatus.FAILED,
                                                stage=problem.stage and Stage(problem.stage),
                                                reason=str(problem)))
                raise problem from None
            get_logger().exception("unexpected error on %s", path)
            reason = unexpected(exc)
            emit(FileFailed(path.name, Stage.DISCOVER, reason))
            outcome = Outcome(path.name, OutcomeStatus.FAILED, stage=Stage.DISCOVER,
                              reason=reason)
        summary.outcomes.append(outcome)
