"""What a run writes beside the ledger, so that any `talks` can follow it and ask it things.

    OUTPUT/.talks/run.json            which run: its process, its face, since when, how it ended
    OUTPUT/.talks/run-events.jsonl    every event of the run, one JSON object a line, timed
    OUTPUT/.talks/run-requests.jsonl  requests to the run from other processes (stop, pause …)

An app that did not start the run (its own terminal is gone, or cron started `--batch`)
reads the events from the start of the run and then as they come, and folds them exactly as
it folds the events of a run it started; `talks status` reads the same. Plain files rather
than a socket: any number of readers and nothing to serve, a run that is gone still tells how
it ended, and no limit on the length of the output root's path. Only the run writes the first
two; a follower only appends to the third, one short line per request.

Whether a run is going is told by its process (pid and start time, so a pid used again by
another program is not taken for it), never by the run lock: testing a lock from outside
could make a run that starts at that moment think another one holds it.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import psutil

from common.errors import Fault
from pipeline.config.secrets import redact
from pipeline.run.control import RequestSource
from pipeline.run.events import ChunkDone, Event, RunRequest, event_from_dict, event_to_dict
from pipeline.run.logs import get_logger

STATUS_FILE = "run.json"
EVENTS_FILE = "run-events.jsonl"
REQUESTS_FILE = "run-requests.jsonl"
# What is kept of a chunk's text in the events file: the end of it, which is what a follower
# shows. A year of talks in one run stays a few MB to read back, not the whole transcript.
TEXT_KEPT = 300


@dataclass(frozen=True)
class RunStatus:
    run: str  # names this run; its events file and the requests to it carry it
    pid: int
    pid_started: float  # the process's start time
    face: str  # app, batch, watch
    config: str
    started_at: float
    ended_at: float | None = None
    # Why it ended before its queue did, in one sentence (a fault of the machine, a second
    # Ctrl-C, a bug); None when it ran to its end or was stopped after a chunk as asked.
    stopped: str | None = None
    # The app that runs it lost its terminal and goes on without a screen (said by the app
    # itself: the process's terminal, as the kernel keeps it, does not always change).
    headless: bool = False

    @property
    def going(self) -> bool:
        return self.ended_at is None and process_alive(self.pid, self.pid_started)

    @property
    def died(self) -> bool:
        """It never said it ended, and its process is gone (killed, or the machine stopped)."""
        return self.ended_at is None and not process_alive(self.pid, self.pid_started)

    def terminal(self) -> str | None:
        """The terminal the run's process still has; None once it is gone (or never had one)."""
        try:
            return psutil.Process(self.pid).terminal()
        except (psutil.Error, OSError):
            return None


def process_started(pid: int) -> float:
    return psutil.Process(pid).create_time()


def process_alive(pid: int, started: float) -> bool:
    try:
        proc = psutil.Process(pid)
        return abs(proc.create_time() - started) < 1.0 and \
            proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, OSError):
        return False


def read_status(folder: Path) -> RunStatus | None:
    """The last run's status, or None when no run has written one (or it is unreadable)."""
    try:
        data = json.loads((folder / STATUS_FILE).read_text(encoding="utf-8"))
        return RunStatus(**data)
    except (OSError, ValueError, TypeError):
        return None


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _json_lines(path: Path, offset: int, size: int) -> tuple[list[dict], int]:
    """The JSON objects on the whole lines of `path` between `offset` and `size`, and the
    offset after them: a line still being written is left for the next look."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        data = handle.read(size - offset)
    cut = data.rfind(b"\n") + 1
    items = []
    for line in data[:cut].splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            items.append(item)
    return items, offset + cut


def ask_run(folder: Path, status: RunStatus, request: RunRequest) -> None:
    """Send `request` to the run `status` describes; it takes it within a fraction of a second
    (and announces it as a RunRequested event)."""
    line = json.dumps({"run": status.run, "request": RunRequest(request), "from": os.getpid(),
                       "t": round(time.time(), 3)})
    with open(folder / REQUESTS_FILE, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


_KNOWN = frozenset(request.value for request in RunRequest)


class _RequestFile(RequestSource):
    """The run's side of the request file: the lines added since it last looked."""

    def __init__(self, path: Path, run: str) -> None:
        self.path = path
        self.run = run
        self.offset = 0

    def take(self) -> list[RunRequest]:
        try:
            size = self.path.stat().st_size
        except OSError:
            return []
        if size <= self.offset:
            return []
        items, self.offset = _json_lines(self.path, self.offset, size)
        # A request this version does not know (a newer talks asked it) is left out.
        return [RunRequest(str(item.get("request"))) for item in items
                if item.get("run") == self.run and str(item.get("request")) in _KNOWN]


class RunPublisher:
    """The run's side: the status, its events as they happen, and its request file.

    A file that cannot be written (a full disk) costs the followers their view, never the
    run: the failure is logged once and the run goes on."""

    def __init__(self, folder: Path, face: str, config: Path | None) -> None:
        self.folder = folder
        self.status = RunStatus(run=f"{int(time.time())}-{os.getpid()}-{secrets.token_hex(3)}",
                                pid=os.getpid(), pid_started=process_started(os.getpid()),
                                face=face, config=str(config or ""), started_at=time.time())
        self.requests = _RequestFile(folder / REQUESTS_FILE, self.status.run)
        self._events = None
        self._broken = False
        # The run's thread writes the status at its end, the app's thread when its terminal
        # goes: one at a time, each from the status the other left.
        self._status_lock = threading.Lock()

    def __enter__(self) -> RunPublisher:
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            # New files (a rename, not a truncation), so a follower still reading the last
            # run's file is never handed a mix of two runs.
            header = json.dumps({"run": self.status.run}) + "\n"
            _write_atomically(self.folder / EVENTS_FILE, header)
            _write_atomically(self.folder / REQUESTS_FILE, "")
            self._events = open(self.folder / EVENTS_FILE, "a", encoding="utf-8")  # noqa: SIM115
            self._write_status()
        except OSError as exc:
            self._failed(exc)
        return self

    def emit(self, event: Event) -> None:
        if self._events is None or self._broken:
            return
        data = event_to_dict(event)
        if isinstance(event, ChunkDone) and len(event.text) > TEXT_KEPT:
            data["text"] = "…" + event.text[-(TEXT_KEPT - 1):]
        try:
            self._events.write(json.dumps({"t": round(time.time(), 3), **data},
                                          ensure_ascii=False) + "\n")
            self._events.flush()
        except OSError as exc:
            self._failed(exc)

    def went_headless(self) -> None:
        """The face lost its terminal and the run goes on: followers are told from now on."""
        self._update(headless=True)

    def __exit__(self, _type: object, exc: BaseException | None, _tb: object) -> None:
        self._update(ended_at=time.time(), stopped=why_stopped(exc))
        if self._events is not None:
            try:
                self._events.close()
            except OSError:
                pass

    def _update(self, **changes: object) -> None:
        with self._status_lock:
            self.status = replace(self.status, **changes)
            try:
                self._write_status()
            except OSError as error:
                self._failed(error)

    def _write_status(self) -> None:
        _write_atomically(self.folder / STATUS_FILE, json.dumps(asdict(self.status)))

    def _failed(self, exc: OSError) -> None:
        if not self._broken:
            self._broken = True
            get_logger().warning("could not write the run's status files in %s (%s); the run "
                                 "goes on, but other talks cannot follow it", self.folder, exc)


def why_stopped(exc: BaseException | None) -> str | None:
    """What a follower is told about a run that an exception ended."""
    if exc is None:
        return None
    if isinstance(exc, Fault):
        return redact(str(exc))
    if isinstance(exc, Exception):
        return (f"It stopped on an unexpected error ({type(exc).__name__}); the log has the "
                "details.")
    return "It was stopped at once; finished chunks are kept."


class EventTail:
    """A follower's side: the events of one run, from its start, then as they are written."""

    def __init__(self, folder: Path, run: str) -> None:
        self.path = folder / EVENTS_FILE
        self.run = run
        self.offset = 0
        self.inode: int | None = None

    def read(self) -> list[tuple[float, Event]] | None:
        """The events written since the last call, with the time each happened; None when
        the file now belongs to another run (this one's view is over)."""
        try:
            stat = self.path.stat()
            if self.inode is None:
                with open(self.path, "rb") as handle:
                    header = handle.readline()
                if not header.endswith(b"\n"):
                    return []  # still being made
                if json.loads(header).get("run") != self.run:
                    return None
                self.inode, self.offset = stat.st_ino, len(header)
            elif stat.st_ino != self.inode:
                return None
            if stat.st_size <= self.offset:
                return []
            items, self.offset = _json_lines(self.path, self.offset, stat.st_size)
        except FileNotFoundError:
            return []
        except (OSError, ValueError, AttributeError):
            return None
        return [(float(item.get("t", 0.0)), event) for item in items
                if (event := event_from_dict(item)) is not None]
