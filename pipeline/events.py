"""What the pipeline tells its faces (the batch printer, the TUI). Nothing else crosses over.

Events are frozen dataclasses made only of plain values, so they can cross a process pipe
and a thread boundary unchanged.
"""

from __future__ import annotations

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
class FileFailed(Event):
    file: str
    stage: str
    reason: str


@dataclass(frozen=True)
class BatchFinished(Event):
    filed: int
    failed: int
    skipped: int
    unchanged: int
    seconds: float
