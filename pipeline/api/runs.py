"""Starting a run, asking it things, and following a run of another process."""

from __future__ import annotations

from pipeline.asr.language import language_name
from pipeline.inbox.discover import missing_input_folders
from pipeline.inbox.watch import InboxWatcher
from pipeline.run.batch import run_batch
from pipeline.run.control import RunControl
from pipeline.run.events import (
    ArchiveFollowed,
    BatchFinished,
    ChunkDone,
    ChunkPlanned,
    CompactMade,
    Event,
    FileFailed,
    FileFiled,
    FileQueued,
    FileSkipped,
    LanguageHeard,
    LogLine,
    MemoryCheckpoint,
    RunRequest,
    RunRequested,
    SpeakerDecided,
    StageStarted,
    TalkIndexed,
    TalkReidentified,
    VoiceHeard,
    VoicesGrouped,
)
from pipeline.run.memory import machine_total_mb, tree_rss_mb
from pipeline.run.publish import EventTail, RunStatus, ask_run, read_status
from pipeline.run.states import OutcomeStatus, Stage
from pipeline.run.summary import BatchSummary, Outcome
from speakers.decisions import SpeakerDecision

__all__ = [
    "ArchiveFollowed", "BatchFinished", "BatchSummary", "ChunkDone", "ChunkPlanned", "CompactMade",
    "Event", "EventTail", "FileFailed", "FileFiled", "FileQueued", "FileSkipped", "InboxWatcher",
    "LanguageHeard", "LogLine", "MemoryCheckpoint", "Outcome", "OutcomeStatus", "RunControl",
    "RunRequest", "RunRequested", "RunStatus", "SpeakerDecided", "SpeakerDecision", "Stage",
    "StageStarted", "TalkIndexed", "TalkReidentified", "VoiceHeard", "VoicesGrouped", "ask_run",
    "language_name", "machine_total_mb", "missing_input_folders", "read_status", "run_batch",
    "tree_rss_mb",
]
