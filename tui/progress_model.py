"""What the running queue is doing, folded from its events.

The app applies every event here as it arrives (cheap: a few assignments) and the widgets
read it on their refresh tick, so a burst of events costs one redraw, not one per event.
`version` changes whenever something visible changed. A run the app follows (started by
another app or by `talks --batch`) is folded the same way from the events it writes beside
the ledger, each at the time it happened; `talks status` folds them too. No Textual here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from common.names import counted
from pipeline.api.runs import (
    ArchiveFollowed,
    BatchFinished,
    ChunkDone,
    ChunkPlanned,
    Event,
    FileFailed,
    FileFiled,
    FileQueued,
    FileSkipped,
    LanguageHeard,
    MemoryCheckpoint,
    RunRequest,
    RunRequested,
    SpeakerDecided,
    Stage,
    StageStarted,
    TalkIndexed,
    VoicesGrouped,
    language_name,
)

# What the file table says while a file is in a stage.
STAGE_WORDS = {Stage.PROBE: "probing", Stage.TRANSCRIBE: "transcribing",
               Stage.IDENTIFY: "identifying", Stage.TITLE: "titling", Stage.ORGANIZE: "filing"}
QUEUED = "queued"  # the word for a recording the run has queued and not started
MAX_CHECKPOINTS = 24


@dataclass
class CurrentFile:
    name: str
    started: float
    position: int = 0
    stage: Stage = Stage.PROBE
    chunks_total: int = 0
    chunks_done: int = 0
    resumed_chunks: int = 0
    chunk_seconds: list[float] = field(default_factory=list)
    progress_at: float = 0.0  # when the plan or the latest chunk came
    last_line: str = ""
    decision: str = ""
    language: str = ""  # Whisper's code of the language it is transcribed in ("fr")
    checkpoints: list[tuple[str, float]] = field(default_factory=list)

    @property
    def state_text(self) -> str:
        word = STAGE_WORDS.get(self.stage, self.stage)
        if self.stage == Stage.TRANSCRIBE and self.chunks_total:
            return f"{word} {self.chunks_done}/{self.chunks_total}"
        return word

    @property
    def language_text(self) -> str:
        """The language it is transcribed in, by name ("French"); "" until it is decided."""
        return language_name(self.language) if self.language else ""

    def seconds_left(self, now: float | None = None) -> float | None:
        """Transcription time still to go, from the pace of this run's chunks; given `now`,
        counted down from the latest chunk (never below the chunk under way's last second)."""
        if self.stage != Stage.TRANSCRIBE or not self.chunk_seconds or not self.chunks_total:
            return None
        pace = sum(self.chunk_seconds) / len(self.chunk_seconds)
        left = pace * max(0, self.chunks_total - self.chunks_done)
        if now is not None and left > 0:
            left = max(1.0, left - max(0.0, now - self.progress_at))
        return left


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


def last_sentence(text: str, width: int = 300) -> str:
    """The end of a chunk's text: the latest thing said."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    return "…" + text[-(width - 1):]


@dataclass
class LiveState:
    running: bool = False
    run_by: str = ""  # a run this app follows: who runs it ("batch, pid 4242"); "" for its own
    pausing: bool = False
    paused: bool = False  # the last run ended on a pause: p (or s) goes on with the next file
    stopping: bool = False
    stopping_now: bool = False
    more_asked: bool = False  # it will look in the input folders again when its queue is done
    total: int = 0
    queued: dict[str, int] = field(default_factory=dict)
    current: CurrentFile | None = None
    last_news: str = ""
    finished: BatchFinished | None = None
    problem: str | None = None
    ended: str = ""  # how the last run ended when it did not simply finish
    version: int = 0
    events_seen: int = 0
    between_files: tuple[str, float] | None = None
    # Chunks done / planned of each file this run transcribed, kept after the run ends: the
    # table may not have drawn the last chunk before the run's end arrived.
    progress: dict[str, tuple[int, int]] = field(default_factory=dict)

    def changed(self) -> None:
        self.version += 1

    def begin(self, run_by: str = "") -> None:
        self.running, self.run_by = True, run_by
        self.paused = False
        self.pausing = self.stopping = self.stopping_now = self.more_asked = False
        self.finished, self.problem, self.current = None, None, None
        self.ended, self.last_news = "", ""
        self.queued.clear()
        self.progress.clear()
        self.changed()

    def end(self, problem: str | None = None, ended: str = "") -> None:
        self.running, self.run_by = False, ""
        self.paused = self.pausing and not self.stopping and problem is None
        self.pausing = self.stopping = self.stopping_now = self.more_asked = False
        self.current = None
        self.queued.clear()
        self.problem, self.ended = problem, ended
        self.changed()

    def state_of(self, name: str) -> str | None:
        """The live word for a recording, or None when the ledger's state tells it."""
        if self.current is not None and self.current.name == name:
            return self.current.state_text
        if name in self.queued:
            return QUEUED
        return None

    def apply(self, event: Event, now: float) -> None:
        self.events_seen += 1
        file = getattr(event, "file", None)
        if isinstance(event, FileQueued):
            self.queued[event.file] = event.position
            self.total = event.total
            self.more_asked = False  # (new ones found: the look it was asked for is done)
        elif isinstance(event, StageStarted):
            cur = self._current_for(event.file, now)
            cur.stage = event.stage
        elif isinstance(event, ChunkPlanned):
            cur = self._current_for(event.file, now)
            cur.chunks_total, cur.chunks_done = event.total, event.already_done
            cur.resumed_chunks = event.already_done
            cur.progress_at = now
            self.progress[event.file] = (cur.chunks_done, cur.chunks_total)
        elif isinstance(event, ChunkDone):
            cur = self._current_for(event.file, now)
            cur.chunks_total = event.total
            cur.chunks_done = max(cur.chunks_done, event.index + 1)
            cur.chunk_seconds.append(event.seconds)
            cur.progress_at = now
            self.progress[event.file] = (cur.chunks_done, cur.chunks_total)
            if event.text.strip():
                cur.last_line = last_sentence(event.text)
        elif isinstance(event, MemoryCheckpoint):
            reading = (event.label, event.tree_rss_mb)
            if self.current is None:
                # The reading just before a file's first stage is that file's start.
                self.between_files = reading
                return
            self.current.checkpoints.append(reading)
            del self.current.checkpoints[:-MAX_CHECKPOINTS]
        elif isinstance(event, SpeakerDecided):
            cur = self._current_for(event.file, now)
            cur.decision = f"{event.speaker} ({event.decision})"
        elif isinstance(event, LanguageHeard):
            self._current_for(event.file, now).language = event.language
        elif isinstance(event, FileFiled | FileFailed | FileSkipped):
            self.queued.pop(event.file, None)
            if self.current is not None and self.current.name == file:
                self.current = None
            self.last_news = _news(event)
        elif isinstance(event, ArchiveFollowed):
            self.last_news = followed_text(event)
        elif isinstance(event, TalkIndexed):
            self.last_news = (f"Indexing the archive for search: {event.position} of "
                              f"{counted(event.total, 'talk')} filed before the index.")
        elif isinstance(event, VoicesGrouped):
            if event.groups:
                self.last_news = (f"Voices heard in two or more talks wait for a name: "
                                  f"{counted(event.groups, 'voice')} in "
                                  f"{counted(event.talks, 'talk')} (v names them).")
        elif isinstance(event, BatchFinished):
            self.finished = event
            self.current = None
            self.queued.clear()
        elif isinstance(event, RunRequested):
            self.asked(event.request)
        else:
            return
        self.changed()

    def asked(self, request: RunRequest) -> None:
        """A request the run took (or that this app just sent it)."""
        if request in (RunRequest.STOP, RunRequest.STOP_NOW):
            self.stopping = True
            self.stopping_now = self.stopping_now or request == RunRequest.STOP_NOW
        elif request in (RunRequest.PAUSE, RunRequest.GO_ON):
            self.pausing = request == RunRequest.PAUSE
        elif request == RunRequest.MORE:
            self.more_asked = True
        self.changed()

    def _current_for(self, name: str, now: float) -> CurrentFile:
        if self.current is None or self.current.name != name:
            position = self.queued.pop(name, 0)
            # run_batch takes files in order: everything queued before this one is done.
            for other, pos in list(self.queued.items()):
                if pos < position:
                    del self.queued[other]
            self.current = CurrentFile(name, started=now, position=position)
            if self.between_files is not None:
                self.current.checkpoints.append(self.between_files)
                self.between_files = None
        return self.current


def language_text(event: LanguageHeard) -> str:
    """How a talk's language was decided: "French (fr, 97 %, detected)"."""
    sure = f", {round(event.probability * 100)} %" if event.probability is not None else ""
    return f"{language_name(event.language)} ({event.language}{sure}, {event.source})"


def followed_text(event: ArchiveFollowed) -> str:
    """One sentence for the talks identified again after the library changed."""
    review = (f"; {counted(event.to_review, 'talk')} now "
              f"{'waits' if event.to_review == 1 else 'wait'} for `talks review`"
              if event.to_review else "")
    return (f"Identified {counted(event.checked, 'talk')} filed before again with the changed "
            f"speaker library: {len(event.moved)} moved to their speaker{review}.")


def _news(event: FileFiled | FileFailed | FileSkipped) -> str:
    if isinstance(event, FileFiled):
        return f"filed {event.file} under {event.speaker}: {event.title}"
    if isinstance(event, FileFailed):
        return f"{event.file} failed at {event.stage}: {event.reason}"
    return f"skipped {event.file}: {event.reason}"
