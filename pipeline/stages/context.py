"""What every stage is handed, and how a stage runs its model work in a worker process.

A stage is a function `stage(ctx)` that reads what it needs from the ledger and records its
result there (see pipeline/run/file_flow.py for the order). The heavy part of a stage runs in
a child process (pipeline/run/worker.py) so that its model's memory goes back when it ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import Fault
from pipeline.config.settings import Config
from pipeline.ledger import FileRow, Ledger
from pipeline.run.events import OnEvent
from pipeline.run.logs import get_logger
from pipeline.run.states import Stage, StageError
from pipeline.run.worker import StopFlag, WorkerResult, WorkerStatus, run_in_worker


class Cancelled(Exception):
    """The run was asked to stop while this stage worked: the file stays where it got to."""


class Skipped(Exception):
    """This recording is not for this run (a limit in the config): said, not failed."""


@dataclass
class StageContext:
    path: Path
    config: Config
    ledger: Ledger
    run_id: int
    on_event: OnEvent
    control: StopFlag | None  # asked between chunks and stages whether to stop
    row: FileRow
    # Held around the work this machine does for a talk when talks are in flight at once
    # on a cluster (pipeline/run/in_flight.py), so that only the heavy stages overlap.
    head_turn: AbstractContextManager = field(default_factory=nullcontext)

    def stop_asked(self) -> bool:
        return self.control is not None and self.control.is_set()


def check(result: WorkerResult, stage: Stage) -> None:
    """A worker's result as the stage's outcome: done, cancelled, failed, or a fault."""
    if result.status == WorkerStatus.CANCELLED:
        raise Cancelled
    if result.status == WorkerStatus.FAULT:
        raise Fault(result.message)
    if result.status != WorkerStatus.DONE:
        raise StageError(result.stage or stage, result.message)


def on_cluster(config: Config) -> bool:
    return bool(config.cluster.address)


def root_pid(config: Config) -> int:
    """The process whose tree a worker's memory readings add up: this one, or (0) the
    task's own on a cluster's node."""
    return 0 if on_cluster(config) else os.getpid()


def run_heavy(ctx: StageContext, job: Callable[..., None], args: tuple, stall_seconds: float,
              stage: Stage, model: str = "", library: Path | None = None) -> WorkerResult:
    """A heavy stage's job (a transcription, a voice embedding): in a worker process here,
    or as a task on the cluster's nodes when [cluster] names one (Ray is imported only
    then). `model` and `library`: what the node needs (see pipeline/cluster/driver.py)."""
    if not on_cluster(ctx.config):
        return run_in_worker(job, args, ctx.on_event, ctx.control, stall_seconds, stage)
    from pipeline.cluster.driver import run_on_cluster

    return run_on_cluster(ctx.config, ctx.ledger, ctx.path, job, args, ctx.on_event,
                          ctx.control, stall_seconds, stage, model, library)


def run_short_worker(ctx: StageContext, job: Callable[..., None], args: tuple, stage: Stage,
                     what: str) -> None:
    """Run one model job of a stage in its own worker; its failure becomes the stage's."""
    result = run_in_worker(job, args, ctx.on_event, ctx.control, stall_seconds=600.0,
                           stage=stage)
    if result.detail:
        get_logger().error("%s worker error on %s:\n%s", what, ctx.path, result.detail)
    check(result, stage)
