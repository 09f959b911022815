"""Talks in flight at once, when their heavy stages run on a cluster ([cluster] address).

On this machine alone a run takes its recordings one after another (file_flow.file_each).
With a cluster, several are in flight, each in a thread of this process running the same
state machine (process_file) with a ledger connection of its own. The threads overlap only
where the cluster works (transcription, voice embedding): every other stage, done here,
waits for its turn (`head_turn`), so filing, titles and the ledger's filing transactions
happen one talk at a time, as they do without a cluster. Two copies of one recording are
never in flight together (the second waits, then finds the first filed). A fault of the
machine in one talk stops the others at once (their saved chunks kept) and the run.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path

from common.errors import is_machine_fault, unexpected
from pipeline.config.settings import Config
from pipeline.ledger import Ledger
from pipeline.run.events import Event, FileFailed, OnEvent
from pipeline.run.fault_place import locate
from pipeline.run.file_flow import file_each, process_file
from pipeline.run.logs import get_logger
from pipeline.run.states import OutcomeStatus, Stage
from pipeline.run.summary import BatchSummary, Outcome
from pipeline.run.worker import StopFlag, _at_once


class SharedControl:
    """The run's control as the threads share it: asked by one thread at a time, and set at
    once for all of them when one meets a fault of the machine."""

    def __init__(self, control: StopFlag | None, lock: threading.RLock):
        self.control, self.lock = control, lock
        self.halt = threading.Event()

    def is_set(self) -> bool:
        with self.lock:
            return self.halt.is_set() or (self.control is not None and self.control.is_set())

    def wants_now(self) -> bool:
        with self.lock:
            return self.halt.is_set() or (self.control is not None and _at_once(self.control))


def file_them(paths: list[Path], config: Config, emit: OnEvent, control: StopFlag | None,
              ledger: Ledger, run_id: int, full_scan: bool, summary: BatchSummary) -> None:
    """The recordings filed: one after another here, or several in flight on a cluster."""
    if not config.cluster.address or not paths:
        file_each(paths, config, emit, control, ledger, run_id, full_scan, summary)
        return
    from pipeline.cluster.driver import files_at_once

    at_once = min(len(paths), files_at_once(config))
    _in_flight(paths, config, emit, control, run_id, full_scan, summary, at_once)


def _in_flight(paths: list[Path], config: Config, emit: OnEvent, control: StopFlag | None,
               run_id: int, full_scan: bool, summary: BatchSummary, at_once: int) -> None:
    lock = threading.RLock()  # the run's events and control, one thread at a time
    head_turn = threading.Lock()  # the stages done on this machine
    shared = SharedControl(control, lock)
    claims: dict[str, threading.Lock] = {}
    outcomes: dict[int, Outcome] = {}
    faults: list[BaseException] = []
    todo: queue.SimpleQueue[tuple[int, Path]] = queue.SimpleQueue()
    for position, path in enumerate(paths):
        todo.put((position, path))

    def said(event: Event) -> None:
        with lock:
            emit(event)

    def claim(digest: str | None) -> threading.Lock:
        if digest is None:
            return threading.Lock()
        with lock:
            return claims.setdefault(digest, threading.Lock())

    def one(path: Path, own: Ledger) -> Outcome:
        try:
            digest: str | None = own.hash_of(path)
        except OSError:
            digest = None  # process_file says what is wrong with it
        with claim(digest):  # a second copy of one recording waits for the first
            return process_file(path, config, said, shared, ledger=own, run_id=run_id,
                                full_scan=full_scan, head_turn=head_turn)

    def thread_main() -> None:
        with Ledger(config.output.ledger_path) as own:
            while True:
                try:
                    position, path = todo.get_nowait()
                except queue.Empty:
                    return
                outcomes[position] = _outcome(lambda p=path: one(p, own), path, config,
                                              shared, said, faults)

    threads = [threading.Thread(target=thread_main, name=f"talk-{n}", daemon=True)
               for n in range(at_once)]
    for thread in threads:
        thread.start()
    try:
        while any(t.is_alive() for t in threads):
            for thread in threads:
                thread.join(0.2)
    except BaseException:
        shared.halt.set()  # a second Ctrl-C: every talk's task is ended at once
        for thread in threads:
            thread.join(30)
        raise
    finally:
        summary.outcomes.extend(outcomes[k] for k in sorted(outcomes))
    if faults:
        raise faults[0]


def _outcome(run: Callable[[], Outcome], path: Path, config: Config, shared: SharedControl,
             said: OnEvent, faults: list[BaseException]) -> Outcome:
    """One talk's outcome, as file_each makes it (a fault stops the other talks too)."""
    if shared.is_set():
        return Outcome(path.name, OutcomeStatus.CANCELLED)
    try:
        return run()
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
        if is_machine_fault(exc):
            problem = locate(exc, config)
            faults.append(problem)
            shared.halt.set()
            return Outcome(path.name, OutcomeStatus.FAILED,
                           stage=problem.stage and Stage(problem.stage), reason=str(problem))
        get_logger().exception("unexpected error on %s", path)
        reason = unexpected(exc)
        said(FileFailed(path.name, Stage.DISCOVER, reason))
        return Outcome(path.name, OutcomeStatus.FAILED, stage=Stage.DISCOVER, reason=reason)
