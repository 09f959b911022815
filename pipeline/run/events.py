"""What the pipeline tells its faces (the batch printer, the TUI). Nothing else crosses over.

Events are frozen dataclasses made only of plain values, so they can cross a process pipe
and a thread boundary unchanged.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Event:
    pass


@dataclass(frozen=True)
class FileQueued(Event):
    file: str
    position: int
    total: int


@dataclass(frozen=True)
class FileSkipped(Event):
    file: str
    reason: str


@dataclass(frozen=True)
class StageStarted(Event):
    file: str
    stage: str  # probe, transcribe, identify, title, organize


@dataclass(frozen=True)
class ChunkPlanned(Event):
    file: str
    total: int
    already_done: int  # chunks a previous run finished: resumed, not redone
    duration: float


@dataclass(frozen=True)
class ChunkDone(Event):
    file: str
    index: int
    total: int
    start: float
    end: float
    text: str
    seconds: float  # wall time this chunk took


@dataclass(frozen=True)
class MemoryCheckpoint(Event):
    label: str
    rss_mb: float       # the process that took the reading
    tree_rss_mb: float  # the main process and all its children
    peak_mb: float = 0.0  # the highest RSS the reading process has had so far (the kernel's)
    footprint_mb: float | None = None  # macOS: the process's physical footprint
    # An engine's own counters, e.g. (("mlx active", 210.0), ("mlx peak", 380.0), …).
    device_mb: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class SpeakerDecided(Event):
    file: str
    decision: str  # match, unknown, review, off
    speaker: str
    candidates: tuple[tuple[str, float], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class FileFiled(Event):
    file: str
    destination: str
    transcripts: tuple[str, ...]
    title: str
    speaker: str


@dataclass(frozen=True)
class CompactMade(Event):
    """A compact copy was filed in place of the original (which stays under raw/)."""

    file: str
    original_seconds: float
    compact_seconds: float
    original_bytes: int
    compact_bytes: int

    @property
    def seconds_saved(self) -> float:
        return round(self.original_seconds - self.compact_seconds, 2)

    @property
    def bytes_saved(self) -> int:
        return self.original_bytes - self.compact_bytes


@dataclass(frozen=True)
class FileFailed(Event):
    file: str
    stage: str
    reason: str


@dataclass(frozen=True)
class RunRequested(Event):
    """The running queue took a request: from its own face, or from another `talks` that
    follows it. Every face that shows the run learns it from here."""
    request: str  # one of REQUESTS


# stop: after the chunk in progress · stop-now: at once (the chunk in progress is lost) ·
# pause: after the file in progress · go-on: the pause is off · more: look in the input
# folders again when the queue is done, and take what is new.
REQUESTS = ("stop", "stop-now", "pause", "go-on", "more")


@dataclass(frozen=True)
class BatchFinished(Event):
    filed: int
    failed: int
    skipped: int
    unchanged: int
    seconds: float


@dataclass(frozen=True)
class LogLine(Event):
    """Something a worker process wrote to the log (it has no log file of its own)."""

    file: str
    level: str  # WARNING, INFO, …
    message: str


def event_to_dict(event: Event) -> dict:
    """An event as plain JSON-able values, named by its class."""
    return {"type": type(event).__name__, **dataclasses.asdict(event)}


def _tuples(value: object) -> object:
    # JSON has only lists; every sequence in an event is a tuple (frozen, comparable).
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def event_from_dict(data: dict) -> Event | None:
    """The event a dict from `event_to_dict` stands for; None for a kind this version does
    not know (a newer `talks` wrote it) or a dict that does not fit it."""
    cls = getattr(sys.modules[__name__], str(data.get("type")), None)
    if not (isinstance(cls, type) and issubclass(cls, Event) and cls is not Event):
        return None
    names = {f.name for f in dataclasses.fields(cls)}
    try:
        return cls(**{k: _tuples(v) for k, v in data.items() if k in names})
    except TypeError:
        return None
