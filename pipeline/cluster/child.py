"""On a node: the job of one Ray task in a fresh child process, as a local worker runs it.

Ray's worker processes are kept and reused (starting one costs ~0.7 s: an interpreter, Ray,
its connection), so the task's own process is not where a model may live: deleting a model
gives little memory back. The task starts this child (`python -m
pipeline.cluster.child_main`, ~0.1 s), which runs the job and exits, so the model's memory
really goes back after each file; the task relays between the child's pipes and the run's
desk. No Ray in the child.

    child -> task   events, the WorkerResult, and LedgerCall (answered on a pipe of its own)
    task -> child   the stop request (PipeFlag), the ledger's answers
"""

from __future__ import annotations

from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from pipeline.config.settings import Config
from pipeline.run.worker import ParentGone, WorkerLink


@dataclass(frozen=True)
class LedgerCall:
    method: str
    args: tuple
    kwargs: dict[str, Any]


class LedgerByPipe:
    """The ledger's methods, asked of the task (which asks the head): one call, one answer."""

    def __init__(self, link: WorkerLink, answers: Connection):
        self._link, self._answers = link, answers

    def __enter__(self) -> LedgerByPipe:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)

        def call(*args: Any, **kwargs: Any) -> Any:
            self._link.send(LedgerCall(method, args, kwargs))
            try:
                ok, value = self._answers.recv()
            except (EOFError, OSError):
                raise ParentGone from None
            if not ok:
                raise value
            return value

        return call


class ChildLink(WorkerLink):
    """A local worker's link, but the ledger is the head's, through the task."""

    answers: Connection

    def ledger(self, config: Config) -> LedgerByPipe:  # type: ignore[override]
        return LedgerByPipe(self, self.answers)
