"""What the pipeline tells its faces (the batch printer, the TUI). Nothing else crosses over.

Events are frozen dataclasses made only of plain values, so they can cross a process pipe
and a thread boundary unchanged. Their words are enums (Stage, SpeakerDecision, RunRequest):
StrEnums, so the JSON of an event (publish.py) holds the same strings it always did, and
`event_from_dict` turns them back into the enums.
"""

from __future__ import annotations

import dataclasses
import enum
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from pipeline.run.states import Stage
from speakers.decisions import SpeakerDecision


class RunRequest(StrEnum):
    """What a running queue can be asked (see control.py)."""
    STOP = "stop"          # after the chunk in progress
    STOP_NOW = "stop-now"  # at once (the chunk in progress is lost)
    PAUSE = "pause"        # after the file in progress
    GO_ON = "go-on"        # the pause is off
    MORE = "more"          # look in the input folders again when the queue is done


@dataclass(frozen=True)
class Event:
    def __post_init__(self) -> None:
        # A word given as its string (an older caller, a test) becomes its enum member, so an
        # event's words are enums wherever it was made; a string no enum has is refused.
        for name, kind in _enum_fields(type(self)).items():
            value = getattr(self, name)
            if not isinstance(value, kind):
                object.__setattr__(self, name, kind(value))


def _enum_fields(cls: type) -> dict[str, type[enum.Enum]]:
    found = _ENUM_FIELDS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = {f.name: hints[f.name] for f in dataclasses.fields(cls)
                 if isinstance(hints[f.name], type) and issubclass(hints[f.name], enum.Enum)}
        _ENUM_FIELDS[cls] = found
    return found


_ENUM_FIELDS: dict[type, dict[str, type[enum.Enum]]] = {}


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
    stage: Stage


@dataclass(frozen=True)
class LanguageHeard(Event):
    """The language a talk is transcribed in, decided before its first chunk."""
    file: str
    language: str  # Whisper's code: "en", "fr", …
    probability: float | None  # how sure the detection was; None when it was not detected
    source: str  # "detected", "folder" ([input] languages), "config" or "person"


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
    decision: SpeakerDecision
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
    stage: Stage
    reason: str


@dataclass(frozen=True)
class RunRequested(Event):
    """The running queue took a request: from its own face, or from another `talks` that
    follows it. Every face that shows the run learns it from here."""
    request: RunRequest


@dataclass(frozen=True)
class TalkReidentified(Event):
    """A filed talk under the default speaker, scored again against a changed library."""
    file: str
    position: int
    total: int
    decision: SpeakerDecision
    speaker: str


@dataclass(frozen=True)
class ArchiveFollowed(Event):
    """The talks under the default speaker, identified again: how many were looked at, those
    moved to their person (file, speaker, new path), and how many now wait for review."""
    checked: int
    moved: tuple[tuple[str, str, str], ...]
    to_review: int


@dataclass(frozen=True)
class VoiceHeard(Event):
    """A filed talk's main voice kept (heard from its kept samples or its filed copy)."""
    file: str
    position: int
    total: int


@dataclass(frozen=True)
class VoicesGrouped(Event):
    """The voices nobody has named, grouped: groups of two or more talks, and their talks."""
    groups: int
    talks: int


@dataclass(frozen=True)
class TalkIndexed(Event):
    """A talk filed before the search index existed, its words now in it (pipeline/search/)."""
    position: int
    total: int


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


# What a run is given to tell its faces (and a stage to tell the run): one event at a time.
OnEvent = Callable[[Event], None]


def event_to_dict(event: Event) -> dict:
    """An event as plain JSON-able values, named by its class."""
    return {"type": type(event).__name__, **dataclasses.asdict(event)}


def _tuples(value: object) -> object:
    # JSON has only lists; every sequence in an event is a tuple (frozen, comparable).
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def event_from_dict(data: dict) -> Event | None:
    """The event a dict from `event_to_dict` stands for, its words as enums again; None for a
    kind this version does not know (a newer `talks` wrote it) or a dict that does not fit it
    (a word this version does not know)."""
    cls = getattr(sys.modules[__name__], str(data.get("type")), None)
    if not (isinstance(cls, type) and issubclass(cls, Event) and cls is not Event):
        return None
    names = {f.name for f in dataclasses.fields(cls)}
    try:
        return cls(**{k: _tuples(v) for k, v in data.items() if k in names})
    except (TypeError, ValueError):
        return None
