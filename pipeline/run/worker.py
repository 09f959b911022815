"""The model work of one file, in a child process of its own.

Deleting a model inside a process gives little memory back, so each file's models live in a
fresh process that exits when the file is done: the memory really returns. The child writes
each chunk's text to the ledger itself (committed before the next chunk starts) and reports
events through a one-way pipe; the parent only forwards them.

The child stops between chunks when asked, and also when its parent is gone (a killed batch
must not leave an orphan transcribing on its own).
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

from common.errors import Fault, TalksError, is_machine_fault, unexpected
from pipeline.config.settings import Config
from pipeline.ledger import Ledger
from pipeline.run.events import Event, LogLine
from pipeline.run.fault_place import locate
from pipeline.run.states import Stage, StageError

PROJECT_ROOT = str(Path(__file__).resolve().parents[2])  # where the child finds pipeline/


class StopFlag(Protocol):
    def is_set(self) -> bool: ...


class PipeFlag:
    """The child's stop flag: set once the parent writes to the pipe, or once the parent is
    gone (its end closed). A pipe rather than a multiprocessing Event: an Event is a named
    semaphore, which needs multiprocessing's resource tracker, one more process (~12 MB)."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self._set = False

    def is_set(self) -> bool:
        if not self._set:
            self._set = self.conn.poll()
        return self._set


class WorkerStatus(StrEnum):
    DONE = "done"
    MORE = "more"  # the worker did its share of chunks: a fresh one goes on
    ERROR = "error"  # this file could not be done (the message says why)
    FAULT = "fault"  # the machine stopped it (disk, permissions, tools): the run stops
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class WorkerResult:
    status: WorkerStatus
    stage: Stage | None = None
    message: str = ""
    detail: str = ""  # a traceback for the log, never shown as the user's sentence


class ParentGone(Exception):
    pass


def _die_with_parent() -> None:
    """On Linux, ask the kernel to end this process when its parent dies (macOS has no such
    call; there the ppid check between chunks does the same job)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except OSError:
        pass


class WorkerLink:
    """The child's side: send events, see whether to stop."""

    def __init__(self, conn: Connection, stop: Any, parent_pid: int):
        self.conn = conn
        self.stop = stop
        self.parent_pid = parent_pid

    def send(self, item: object) -> None:
        try:
            self.conn.send(item)
        except (BrokenPipeError, OSError):
            raise ParentGone from None

    def forward_logs(self, file_name: str) -> None:
        """What this process writes to the "talks" log goes to the parent, which writes it
        to the log file (one writer per file: rotation from two processes would race)."""
        link = self

        class Forward(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                try:
                    link.send(LogLine(file_name, record.levelname, record.getMessage()))
                except ParentGone:
                    pass

        logger = logging.getLogger("talks")
        logger.handlers[:] = [Forward(logging.INFO)]
        logger.setLevel(logging.INFO)
        logger.propagate = False

    def should_stop(self) -> bool:
        if os.getppid() != self.parent_pid:
            raise ParentGone
        return bool(self.stop.is_set())

    def ledger(self, config: Config) -> Ledger:
        """The ledger the job reads and writes: here the file itself, on this machine (a
        job on a Ray node reaches it through the run instead: pipeline/cluster/node.py)."""
        return Ledger(config.output.ledger_path)


def _child_main(job: Callable[..., None], args: tuple, conn: Connection, stop: Any,
                parent_pid: int, stage: Stage, link_type: type[WorkerLink] = WorkerLink) -> None:
    """`link_type`: a job on a Ray node has a link of its own (pipeline/cluster/child.py)."""
    _die_with_parent()
    # Ctrl-C in the terminal reaches the whole process group; the parent decides when this
    # worker stops (after its chunk, or at once), so the worker itself ignores it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    link = link_type(conn, stop, parent_pid)
    try:
        if not run_job(job, args, link, stage):
            os._exit(3)
    finally:
        conn.close()


def run_job(job: Callable[..., None], args: tuple, link: Any, stage: Stage) -> bool:
    """Run `job(link, *args)` where a worker runs it (a child process here, or a Ray task on
    a node: pipeline/cluster/node.py), its failure sent up the link as the WorkerResult a
    stage reads. False: the run that wanted it is gone (nobody left to tell)."""
    from pipeline.run.memory import keep_out_pyav, map_large_blocks, one_heap_for_all_threads

    map_large_blocks()
    # Before any thread allocates: every worker's threads (CTranslate2's, the VAD's, BLAS's)
    # share one heap, so free pages are not kept per thread. The language worker's peak, the
    # tree's highest point on a 10-min talk seen from outside, went 362 -> 331 MB with it.
    one_heap_for_all_threads()
    keep_out_pyav()
    try:
        job(link, *args)
    except ParentGone:
        return False
    except StageError as exc:
        link.send(WorkerResult(WorkerStatus.ERROR, exc.stage, str(exc)))
    except Fault as exc:
        link.send(WorkerResult(WorkerStatus.FAULT, stage, str(exc)))
    except TalksError as exc:  # foreseen: the stage's failure, in the error's own words
        link.send(WorkerResult(WorkerStatus.ERROR, stage, str(exc)))
    except Exception as exc:  # noqa: BLE001 - any crash becomes one sentence and a log entry
        config = next((a for a in args if isinstance(a, Config)), None)
        if is_machine_fault(exc) and config is not None:
            link.send(WorkerResult(WorkerStatus.FAULT, stage, str(locate(exc, config)),
                                   traceback.format_exc()))
            return True
        link.send(WorkerResult(WorkerStatus.ERROR, stage,
                               unexpected(exc),
                               traceback.format_exc()))
    return True


def _at_once(control: StopFlag) -> bool:
    wants_now = getattr(control, "wants_now", None)  # a RunControl can be asked to stop now
    return bool(wants_now and wants_now())


def run_in_worker(job: Callable[..., None], args: tuple, on_event: Callable[[Event], None],
                  control: StopFlag | None, stall_seconds: float,
                  stage: Stage = Stage.TRANSCRIBE) -> WorkerResult:
    """Run `job(link, *args)` in a child process; forward its events until it reports.

    The child is a fresh interpreter (`python -m pipeline.run.worker_main`): nothing heavy is
    inherited and all its memory goes back when it exits. It is started with subprocess
    rather than multiprocessing's spawn, which would also start a resource-tracker process
    that stays for the whole run."""
    events_r, events_w = os.pipe()
    stop_r, stop_w = os.pipe()
    receiver, stopper = Connection(events_r, writable=False), Connection(stop_w, readable=False)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PROJECT_ROOT, env.get("PYTHONPATH")) if p)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "pipeline.run.worker_main", str(events_w),
                                 str(stop_r)], stdin=subprocess.PIPE, pass_fds=(events_w, stop_r),
                                env=env)
    finally:
        os.close(events_w)
        os.close(stop_r)
    try:
        assert proc.stdin is not None
        with proc.stdin:
            # The parent's import path first (as multiprocessing's spawn passes it), so the
            # job's module is found wherever the parent found it; then the job itself.
            pickle.dump(list(sys.path), proc.stdin)
            pickle.dump((job, args, os.getpid(), stage), proc.stdin)
    except (BrokenPipeError, OSError):
        pass  # the child ended at once: reported below as a worker that did not finish
    result: WorkerResult | None = None
    stop_sent = False
    last_heard = time.monotonic()
    try:
        while result is None:
            if control is not None and control.is_set():
                if not stop_sent:
                    stop_sent = True
                    try:
                        stopper.send_bytes(b"stop")
                    except OSError:  # the worker has just ended: nothing left to stop
                        pass
                if _at_once(control):  # the chunk in progress is given up; the ledger has the rest
                    proc.kill()
                    result = WorkerResult(WorkerStatus.CANCELLED, stage, "stopped at once")
                    break
            if receiver.poll(0.2):
                try:
                    item = receiver.recv()
                except EOFError:
                    break
                last_heard = time.monotonic()
                if isinstance(item, WorkerResult):
                    result = item
                else:
                    on_event(item)
            elif proc.poll() is not None:
                break
            elif time.monotonic() - last_heard > stall_seconds:
                proc.kill()
                result = WorkerResult(WorkerStatus.ERROR, stage,
                                      f"The engine made no progress for {stall_seconds:.0f} s "
                                      "and was stopped: try a smaller [transcription] "
                                      "chunk_seconds or model.")
    except BaseException:
        proc.kill()  # stopped at once (a second Ctrl-C): the worker goes with us
        raise
    finally:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        receiver.close()
        stopper.close()
    if result is None:
        code = proc.returncode
        why = (" (killed by the system — most likely out of memory: use a smaller model or "
               "chunk_seconds)" if code is not None and code < 0 else "")
        result = WorkerResult(WorkerStatus.ERROR, stage,
                              f"The worker process ended without finishing (exit code {code})"
                              f"{why}; run again to resume.")
    return result
