"""The model work of one file, in a child process of its own.

Deleting a model inside a process gives little memory back, so each file's models live in a
fresh process that exits when the file is done: the memory really returns. The child writes
each chunk's text to the ledger itself (committed before the next chunk starts) and reports
events through a one-way pipe; the parent only forwards them.

The child stops between chunks when asked, and also when its parent is gone (a killed batch
must not leave an orphan transcribing on its own).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Protocol

from pipeline.events import Event


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class WorkerResult:
    status: str  # done, more (a fresh worker goes on), error, cancelled
    stage: str = ""
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
        import signal

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

    def should_stop(self) -> bool:
        if os.getppid() != self.parent_pid:
            raise ParentGone
        return bool(self.stop.is_set())


def _child_main(job: Callable[..., None], args: tuple, conn: Connection, stop: Any,
                parent_pid: int, stage: str) -> None:
    _die_with_parent()
    from pipeline.memory import map_large_blocks

    map_large_blocks()
    link = WorkerLink(conn, stop, parent_pid)
    try:
        job(link, *args)
    except ParentGone:
        os._exit(3)
    except StageFailure as exc:
        link.send(WorkerResult("error", exc.stage, str(exc)))
    except Exception as exc:  # noqa: BLE001 - any crash becomes one sentence and a log entry
        link.send(WorkerResult("error", stage,
                               f"Unexpected error ({type(exc).__name__}: {exc}); the log has "
                               "the details — run again, and report it if it repeats.",
                               traceback.format_exc()))
    finally:
        conn.close()


class StageFailure(Exception):
    def __init__(self, stage: str, message: str):
        super().__init__(message)
        self.stage = stage


def run_in_worker(job: Callable[..., None], args: tuple, on_event: Callable[[Event], None],
                  cancel: CancelFlag | None, stall_seconds: float,
                  stage: str = "transcribe") -> WorkerResult:
    """Run `job(link, *args)` in a spawned child; forward its events until it reports."""
    ctx = mp.get_context("spawn")  # a fresh interpreter: nothing heavy inherited, all returned
    receiver, sender = ctx.Pipe(duplex=False)
    stop = ctx.Event()
    proc = ctx.Process(target=_child_main, args=(job, args, sender, stop, os.getpid(), stage),
                       daemon=True, name="talks-worker")
    proc.start()
    sender.close()
    result: WorkerResult | None = None
    last_heard = time.monotonic()
    try:
        while result is None:
            if cancel is not None and cancel.is_set():
                stop.set()
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
            elif not proc.is_alive():
                break
            elif time.monotonic() - last_heard > stall_seconds:
                proc.kill()
                result = WorkerResult("error", stage,
                                      f"The engine made no progress for {stall_seconds:.0f} s "
                                      "and was stopped: try a smaller [transcription] "
                                      "chunk_seconds or model.")
    finally:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.kill()
            proc.join()
        receiver.close()
    if result is None:
        code = proc.exitcode
        why = (" (killed by the system — most likely out of memory: use a smaller model or "
               "chunk_seconds)" if code is not None and code < 0 else "")
        result = WorkerResult("error", stage,
                              f"The worker process ended without finishing (exit code {code})"
                              f"{why}; run again to resume.")
    return result
