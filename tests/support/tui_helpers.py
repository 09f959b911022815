"""What the TUI tests share: a home folder with a config, a ledger in a known state, a
stand-in pipeline that moves only when told, and a way to wait for the app."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from pipeline.config.settings import Config, load_config
from pipeline.ledger import Ledger
from pipeline.run.events import (
    BatchFinished,
    ChunkDone,
    ChunkPlanned,
    FileFiled,
    FileQueued,
    LanguageHeard,
    LogLine,
    MemoryCheckpoint,
    SpeakerDecided,
    StageStarted,
    VoicesGrouped,
)
from pipeline.run.session import run_session
from pipeline.run.states import FileState, Stage
from tui.app import TalksApp

CONFIG = """\
# A test config. Comments like this one must survive a save from the settings screen.
[input]
folders = ["inbox"]
min_duration_s = 1.0      # very short test talks are fine
settle_seconds = 0.5      # the test makes its recordings just before it starts the queue

[output]
root = "out"

[speakers]
folder = "library"
sample_count = 3
sample_seconds = 8.0
{speakers}
[transcription]
check_language = false   # English only: talks in other languages have tests of their own
chunk_seconds = {chunk}   # small, so a short talk has several chunks
model_cache = "models"

[logging]
file = "out/talks.log"
"""

EXCERPT = ("Let us talk about making sourdough bread at home. Sourdough bread rises without "
           "any yeast from the store. Instead, every sourdough kitchen keeps a starter of wild "
           "yeast and friendly bacteria.")


def write_home(home: Path, speakers: str = "", chunk: float = 10) -> Path:
    """A folder with config.toml, an empty inbox and library; returns the config path."""
    for name in ("inbox", "library"):
        (home / name).mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(CONFIG.format(speakers=speakers, chunk=chunk), encoding="utf-8")
    return path


def make_app(config_path: Path, **options: Any) -> TalksApp:
    options.setdefault("sampler", lambda pid: 100.0)
    options.setdefault("machine_mb", 8192.0)
    return TalksApp(load_config(config_path), config_path, **options)


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


async def wait_for(pilot, condition: Callable[[], Any], timeout: float = 15.0,
                   what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.05)


def screen_text(app: TalksApp) -> str:
    """Everything the screen shows, as plain text (Line widgets and table cells)."""
    from textual.widgets import DataTable, Static

    parts = []
    for widget in app.screen.query("*"):
        if isinstance(widget, Static):
            parts.append(str(widget.render()))
        elif isinstance(widget, DataTable):
            for row in range(widget.row_count):
                parts.append(" | ".join(str(c) for c in widget.get_row_at(row)))
    return "\n".join(parts)


# --- a ledger in a known state ------------------------------------------------------------

def _fake_recording(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(f"not really audio: {path.name}".encode())
    return path


def _filed(config: Config, ledger: Ledger, file_id: int, speaker: str, title: str,
           year: int, text: str, cues: list[tuple[float, float, str]] | None = None,
           audio: Path | None = None) -> Path:
    """A talk filed as a run would leave it in the ledger; its transcript one segment of
    `text`, or `cues` (start, end, words); its filed copy a copy of `audio` (real sound,
    for a clip) or a few bytes. Returns the filed copy."""
    stem = f"{speaker} - {title}"
    talk = config.output.talks_dir / str(year) / speaker / f"{stem}.mp3"
    transcript = config.output.transcripts_dir / str(year) / speaker / f"{stem} (Transcript).txt"
    segments = [{"start": a, "end": b, "text": t} for a, b, t in cues or [(0.0, 26.0, text)]]
    if cues:
        text = " ".join(t for _, _, t in cues)
    for path, body in ((talk, "filed copy"), (transcript, text)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    if audio is not None:
        talk.write_bytes(audio.read_bytes())
    end = max(26.0, segments[-1]["end"])
    ledger.save_plan(file_id, [(0.0, end)])
    ledger.save_chunk(file_id, 0, text, segments, 1, 2.0)
    for state in (FileState.PROBED, FileState.TRANSCRIBED, FileState.IDENTIFIED,
                  FileState.TITLED):
        ledger.advance(file_id, state)
    ledger.advance(file_id, FileState.FILED, speaker=speaker, title=title, year=year,
                   destination=str(talk), transcripts=[str(transcript)], planned_name=stem)
    return talk


def seed_ledger(config_path: Path, reviews: int = 1) -> Config:
    """Recordings in every state the table knows, and `reviews` talks needing review."""
    config = load_config(config_path)
    inbox = config.input.folders[0]
    with Ledger(config.output.ledger_path) as ledger:
        def add(name: str):
            path = _fake_recording(inbox / name)
            row, _ = ledger.register(path, ledger.hash_of(path))
            return row.id

        bees = add("bees lecture.mp3")
        ledger.update(bees, duration=58.2)
        _filed(config, ledger, bees, "Sarah Lane", "Bees, Hive and Honey", 2019,
               "Today we will talk about bees, honey and the flowers that bees visit.")
        for n in range(reviews):
            name = "sourdough.wav" if n == 0 else f"sourdough {n + 1}.wav"
            talk = add(name)
            ledger.update(talk, duration=26.0 + n)
            _filed(config, ledger, talk, "Miscellaneous Speakers",
                   "Sourdough Bread and Starter" + (f" {n + 1}" if n else ""), 2024, EXCERPT)
            evidence = {"kind": "review", "speaker": None, "agreement": 1.0,
                        "reason": "best score 0.912 is under the threshold 0.95",
                        "candidates": [["Sarah Lane", 0.912], ["Robert Moss", 0.641],
                                       ["Alan Webb", 0.402]],
                        "samples": [[2.0, 8.0]]}
            ledger.update(talk, needs_review=1, speaker_decision="review",
                          speaker_evidence=evidence)
        failed = add("lighthouse.m4a")
        ledger.update(failed, duration=3600.0)
        ledger.advance(failed, FileState.PROBED)
        ledger.fail(failed, Stage.TRANSCRIBE, "The engine made no progress for 600 s and "
                    "was stopped: try a smaller chunk_seconds or model.")
        partial = add("kayaking.flac")
        ledger.advance(partial, FileState.PROBED, duration=95.0, year=2021)
        ledger.save_plan(partial, [(0.0, 30.0), (30.0, 60.0), (60.0, 95.0)])
        ledger.save_chunk(partial, 0, "This talk is about safety when you paddle a kayak.",
                          [], 1, 3.0)
        short = add("Été 2024/soirée.m4a")
        ledger.advance(short, FileState.PROBED, duration=0.8)
        ledger.skip(short, "shorter than input.min_duration_s (0.8 s < 1 s)")
    _fake_recording(inbox / "new talk.mp3")
    return config


def file_talk(config: Config, speaker: str, title: str, year: int,
              cues: list[tuple[float, float, str]]) -> int:
    """A talk filed through the ledger (no audio, no model) whose transcript is `cues`,
    (start, end, text) each: what a search finds, each moment at its own time. Its number."""
    with Ledger(config.output.ledger_path) as ledger:
        path = _fake_recording(config.input.folders[0] / f"{speaker} {title} {year}.mp3")
        row, _ = ledger.register(path, ledger.hash_of(path))
        ledger.update(row.id, duration=cues[-1][1])
        _filed(config, ledger, row.id, speaker, title, year,
               " ".join(words for _a, _b, words in cues), cues)
        return row.id


def seed_library(config: Config) -> None:
    folder = config.speakers.folder
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("Sarah Lane.wav", "Sarah Lane_1.wav", "Robert Moss.wav",
                 "Alan Webb/first.wav", "Alan Webb/second.wav", "Alan Webb/third.wav"):
        _fake_recording(folder / name)


# --- a pipeline that moves only when told ---------------------------------------------------

class FakePipeline:
    """Stands in for run_batch without models: the events of the real runner in the same
    order (tests/tui/test_fake_contract.py holds it to that), one chunk per `step()`.

    Only the work is fake: it runs inside the real run session (the one-run lock, the run
    files other apps follow, the requests they send), and it answers the control as the real
    runner does — before each file, stage and chunk, and at once while a chunk is under way,
    where the real one ends its worker."""

    def __init__(self, names: list[str], chunks: int = 3, auto: bool = False,
                 burst: int = 0, voices: tuple[int, int] | None = None) -> None:
        self.names = names
        self.chunks = chunks
        self.auto = auto
        self.burst = burst  # extra ChunkDone + checkpoint pairs sent at once, per file
        # (groups, talks): the voices grouped after the queue, as a run whose talks went to
        # the default speaker groups them. None: none (the library knew the talk's speaker).
        self.voices = voices
        self.gate = threading.Semaphore(0)
        self.done: set[str] = set()
        # Talks whose language was heard (kept in the ledger, forgotten by a full scan).
        self.heard: set[str] = set()
        self.progress: dict[str, int] = {}
        self.runs = 0
        self.full_scans = 0
        self.stopped_on_request = False
        self.stopped_at_once = False
        self.block: threading.Event | None = None  # set: the run waits here (a busy model)

    def step(self, chunks: int = 1) -> None:
        for _ in range(chunks):
            self.gate.release()

    def __call__(self, config: Config, on_event, control=None, full_scan: bool = False,
                 face: str = "batch") -> None:
        self.runs += 1
        self.full_scans += bool(full_scan)
        began = time.monotonic()
        with run_session(config, on_event, control, face) as session:
            emit, control = session.emit, session.control
            emit(_memory("batch start"))
            if full_scan:
                self.done.clear()
                self.progress.clear()
                self.heard.clear()
            filed = unchanged = 0
            taken: list[str] = []
            names = list(self.names)
            while names:  # (asked for more, it takes the names added since, as run_batch does)
                for position, name in enumerate(names, start=len(taken) + 1):
                    emit(FileQueued(name, position, len(taken) + len(names)))
                taken += names
                for name in names:
                    if control.is_set():
                        continue
                    if name in self.done:
                        unchanged += 1
                        continue
                    if self._one_file(name, config, emit, control):
                        filed += 1
                more = control.take_more()
                names = [n for n in self.names if n not in taken] if more else []
            if self.voices is not None and not control.is_set():
                emit(VoicesGrouped(*self.voices))  # (keep_voices, after the queue)
            emit(_memory("batch end"))
            emit(BatchFinished(filed, 0, 0, unchanged, round(time.monotonic() - began, 2)))

    def _one_file(self, name: str, config: Config, emit, control) -> bool:
        def from_worker(event) -> None:
            # run_in_worker asks the control before it takes each event from its worker.
            control.is_set()
            emit(event)

        emit(_memory("file start"))
        if control.is_set():
            return False
        emit(StageStarted(name, "probe"))
        emit(_memory("after probe"))
        if control.is_set():
            return False
        emit(StageStarted(name, "transcribe"))
        if name not in self.heard:  # its language, heard once in a short worker
            from_worker(_memory("language worker started"))
            from_worker(_memory("language heard"))
            from_worker(LogLine(name, "INFO", "language heard in 1.6 s from 12 s of speech: "
                                              "en 0.97, cy 0.01, la 0.01, nn 0.00, pl 0.00"))
            self.heard.add(name)
        emit(LanguageHeard(name, "en", 0.97, "detected"))
        per_worker = config.transcription.chunks_per_worker
        if not self._transcribe(name, per_worker, from_worker, control):
            return False
        for stage in ("identify", "title", "organize"):
            if control.is_set():
                return False
            emit(StageStarted(name, stage))
            if stage == "identify":
                for label in ("speaker worker started", "speaker model loaded (1 BLAS thread)",
                              "speaker samples embedded (12.0 s of speech in 0.60 s CPU; 0 "
                              "new clip(s) in 0.00 s CPU)", "speaker model unloaded"):
                    from_worker(_memory(label))
                emit(SpeakerDecided(name, "match", "Sarah Lane", (("Sarah Lane", 0.93),)))
        emit(FileFiled(name, f"/out/{name}", (), "A Title", "Sarah Lane"))
        emit(_memory("file done"))
        self.done.add(name)
        return True

    def _transcribe(self, name: str, per_worker: int, from_worker, control) -> bool:
        """Workers of `per_worker` chunks each, as transcribe.py runs them."""
        first = self.progress.get(name, 0)
        index, announce, stopped = first, True, False
        while True:
            from_worker(_memory("worker started"))
            if announce:
                from_worker(ChunkPlanned(name, self.chunks, first, 90.0))
                announce = False
            loaded = False
            for _ in range(per_worker or self.chunks):
                if index >= self.chunks:
                    break
                if control.is_set():
                    self.stopped_on_request = stopped = True
                    break
                if not loaded:
                    from_worker(_memory("model loaded"))
                    loaded = True
                if not self._chunk_allowed(control):
                    self.stopped_at_once = self.stopped_on_request = True
                    return False  # the worker is ended mid-chunk: nothing more from it
                self.progress[name] = index + 1
                from_worker(ChunkDone(name, index, self.chunks, index * 30.0, index * 30.0 + 30,
                                      f"the words of chunk {index + 1} of {name}", 1.5))
                from_worker(_memory(f"chunk {index + 1}/{self.chunks}"))
                index += 1
            if loaded:
                from_worker(_memory("model unloaded"))
            if stopped:
                return False
            if index >= self.chunks:
                break
            if control.is_set():  # between two workers
                return False
        for n in range(self.burst):
            from_worker(ChunkDone(name, self.chunks - 1, self.chunks, 0.0, 1.0, f"burst {n}",
                                  0.01))
            from_worker(_memory(f"burst {n}", 400.0 + n))
        return True

    def _chunk_allowed(self, control) -> bool:
        """Wait for the test's step (or the blocked "model"), looking at the control the way
        run_in_worker does while a chunk is under way; False: stopped at once."""
        deadline = time.monotonic() + 30
        block = self.block

        def let_go() -> bool:
            if block is not None and not block.wait(0.05):
                return False
            return self.auto or self.gate.acquire(timeout=0.05)

        while not let_go():
            if control.is_set() and control.wants_now():
                return False
            if time.monotonic() > deadline:
                raise RuntimeError("the test never let the fake pipeline go on")
        return True


def _memory(label: str, tree_mb: float | None = None) -> MemoryCheckpoint:
    """A checkpoint as the real ones read here: a file's start low, its chunks high."""
    high = label.startswith(("chunk", "burst", "model"))
    return MemoryCheckpoint(label, 300.0 if high else 50.0, tree_mb or (400.0 if high else 60.0))
