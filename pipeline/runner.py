"""The stages in order, resumable, emitting events: the one pipeline both faces drive.

    probe → transcribe (worker process) → identify → title → organize

Each stage reads what it needs from the ledger and records its result there before the next
starts; the state a file is in says which stage comes next.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipeline import media
from pipeline.config import Config
from pipeline.events import (
    BatchFinished,
    Event,
    FileFailed,
    FileFiled,
    FileQueued,
    FileSkipped,
    MemoryCheckpoint,
    SpeakerDecided,
    StageStarted,
)
from pipeline.identify_stage import identify_job
from pipeline.ledger import FileRow, Ledger
from pipeline.logs import get_logger
from pipeline.memory import checkpoint
from pipeline.organize import (
    FilingError,
    delete_old_raw_backups,
    file_talk,
    release_original,
    remove_previous_filing,
)
from pipeline.talk_record import talk_meta, talk_segments
from pipeline.titles import make_title
from pipeline.transcribe import transcribe_job
from pipeline.worker import CancelFlag, run_in_worker
from speakers.library import SpeakerLibrary

OnEvent = Callable[[Event], None]

# Which stage a file in a given state needs next.
NEXT_STAGE = {"new": "probe", "probed": "transcribe", "transcribed": "identify",
              "identified": "title", "titled": "organize"}
STAGE_ORDER = ("probe", "transcribe", "identify", "title", "organize")
# A failed file resumes at the stage that failed; this is the state that stage starts from.
STATE_BEFORE = {stage: state for state, stage in NEXT_STAGE.items()}


@dataclass(frozen=True)
class Outcome:
    file: str
    status: str  # filed, failed, skipped, unchanged, cancelled
    destination: str | None = None
    stage: str | None = None
    reason: str | None = None


@dataclass
class BatchSummary:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def exit_code(self) -> int:
        return 1 if self.count("failed") else 0

    def as_dict(self) -> dict:
        return {"filed": self.count("filed"), "failed": self.count("failed"),
                "skipped": self.count("skipped"), "unchanged": self.count("unchanged"),
                "cancelled": self.count("cancelled"), "seconds": round(self.seconds, 2),
                "files": [asdict(o) for o in self.outcomes]}


class StageError(Exception):
    def __init__(self, stage: str, message: str):
        super().__init__(message)
        self.stage = stage


class BusyError(Exception):
    pass


@contextmanager
def exclusive_run(config: Config) -> Iterator[None]:
    """One run at a time per output root (cron and the TUI must not file the same talk)."""
    lock_path = config.output.ledger_path.with_name("run.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BusyError(f"Another talks run is filing into {config.output.root}: wait for "
                            "it to finish, then run again.") from None
        yield


def discover(config: Config) -> list[Path]:
    """Recordings in the input folders, by extension; never anything under the output root."""
    exts = {e.lower() for e in config.input.extensions}
    out_root = config.output.root.resolve()
    found: set[Path] = set()
    for folder in config.input.folders:
        if not folder.is_dir():
            continue
        pattern = folder.rglob("*") if config.input.recursive else folder.glob("*")
        for path in pattern:
            if path.name.startswith(".") or path.suffix.lower() not in exts:
                continue
            resolved = path.resolve()
            if resolved == out_root or out_root in resolved.parents or not path.is_file():
                continue
            found.add(path)
    return sorted(found)


def missing_input_folders(config: Config) -> list[Path]:
    return [f for f in config.input.folders if not f.is_dir()]


class _Logged:
    """Passes events on, and writes the ones worth keeping to the log file."""

    def __init__(self, config: Config, on_event: OnEvent):
        self.on_event = on_event
        self.memory = config.logging.memory
        self.log = get_logger()

    def __call__(self, event: Event) -> None:
        if isinstance(event, MemoryCheckpoint):
            if self.memory:
                self.log.info("memory %s: rss %.1f MB, tree %.1f MB, process peak %.1f MB",
                              event.label, event.rss_mb, event.tree_rss_mb, event.peak_mb)
        elif isinstance(event, FileFailed):
            self.log.warning("failed %s at %s: %s", event.file, event.stage, event.reason)
        else:
            self.log.info("%s", event)
        self.on_event(event)


# --- the stages -------------------------------------------------------------------------------

def _probe(ctx: _FileContext) -> None:
    try:
        info = media.probe(ctx.path)
    except media.MediaError as exc:
        raise StageError("probe", str(exc)) from None
    year = media.file_year(ctx.path, info.year)
    ctx.ledger.advance(ctx.row.id, "probed", duration=info.duration, year=year)


def _transcribe(ctx: _FileContext) -> None:
    config = ctx.config
    stall = max(600.0, config.transcription.chunk_seconds * 6)
    args = (ctx.row.id, str(ctx.path), ctx.row.duration or 0.0, config, ctx.run_id, os.getpid())
    result = run_in_worker(transcribe_job, (*args, True), ctx.on_event, ctx.cancel, stall)
    while result.status == "more":  # the worker did its share of chunks: a fresh one goes on
        if ctx.cancel is not None and ctx.cancel.is_set():
            raise _Cancelled
        result = run_in_worker(transcribe_job, (*args, False), ctx.on_event, ctx.cancel, stall)
    if result.detail:
        get_logger().error("worker error on %s:\n%s", ctx.path, result.detail)
    if result.status == "cancelled":
        raise _Cancelled
    if result.status != "done":
        raise StageError(result.stage or "transcribe", result.message)
    ctx.ledger.advance(ctx.row.id, "transcribed")


def _identify(ctx: _FileContext) -> None:
    sp = ctx.config.speakers
    people = SpeakerLibrary(sp.folder).people() if sp.identify else []
    if not people:
        # Nobody to compare with: file where the original system did, without loading a model.
        kind = "off" if not sp.identify else "unknown"
        ctx.ledger.update(ctx.row.id, speaker_decision=kind, speaker_evidence=None)
        candidates: tuple[tuple[str, float], ...] = ()
    else:
        result = run_in_worker(identify_job, (ctx.row.id, str(ctx.path), ctx.row.duration or 0.0,
                                              ctx.config, os.getpid()),
                               ctx.on_event, ctx.cancel, stall_seconds=600.0, stage="identify")
        if result.detail:
            get_logger().error("speaker worker error on %s:\n%s", ctx.path, result.detail)
        if result.status == "cancelled":
            raise _Cancelled
        if result.status != "done":
            raise StageError("identify", result.message)
        evidence = ctx.ledger.get(ctx.row.id).speaker_evidence or {}
        kind = evidence.get("kind", "unknown")
        candidates = tuple((n, float(s)) for n, s in evidence.get("candidates", []))
    row = ctx.ledger.get(ctx.row.id)
    evidence = row.speaker_evidence or {}
    speaker = evidence.get("speaker") if kind == "match" else None
    speaker = speaker or sp.default_speaker
    ctx.ledger.advance(ctx.row.id, "identified", speaker=speaker,
                       needs_review=1 if kind == "review" else 0)
    ctx.on_event(SpeakerDecided(ctx.path.name, kind, speaker, candidates))


def _title(ctx: _FileContext) -> None:
    text = " ".join(c.text or "" for c in ctx.ledger.chunks(ctx.row.id))
    title = make_title(text, ctx.config.titles)
    if title == "Untitled Talk":
        title = f"Untitled ({ctx.path.stem})"  # nothing was said: keep the original's name
    ctx.ledger.advance(ctx.row.id, "titled", title=title)


def _organize(ctx: _FileContext) -> None:
    row = ctx.ledger.get(ctx.row.id)
    config = ctx.config
    meta = talk_meta(config, ctx.ledger, row)
    try:
        filed = file_talk(config, row, talk_segments(ctx.ledger, row.id), meta, row.title or "",
                          row.speaker or config.speakers.default_speaker, row.year or 0,
                          reserve=lambda stem: ctx.ledger.update(row.id, planned_name=stem))
        remove_previous_filing(row, filed)
        ctx.ledger.advance(row.id, "filed", destination=str(filed.talk),
                           transcripts=[str(p) for p in filed.transcripts],
                           raw_backup=str(filed.raw) if filed.raw else None)
        release_original(config, row, filed)
    except FilingError as exc:
        raise StageError("organize", str(exc)) from None
    except OSError as exc:
        raise StageError("organize", f"Could not write under {config.output.root} "
                                     f"({exc.strerror or exc}): check free space and "
                                     "permissions, then run again.") from None
    ctx.on_event(FileFiled(row.name, str(filed.talk), tuple(str(p) for p in filed.transcripts),
                           row.title or "", row.speaker or ""))


STAGES: dict[str, Callable[[_FileContext], None]] = {
    "probe": _probe, "transcribe": _transcribe, "identify": _identify, "title": _title,
    "organize": _organize}


class _Cancelled(Exception):
    pass


@dataclass
class _FileContext:
    path: Path
    config: Config
    ledger: Ledger
    run_id: int
    on_event: OnEvent
    cancel: CancelFlag | None
    row: FileRow


def _within_duration(config: Config, duration: float) -> str | None:
    lo, hi = config.input.min_duration_s, config.input.max_duration_s
    if duration < lo:
        return f"shorter than input.min_duration_s ({duration:.1f} s < {lo:g} s)"
    if duration > hi:
        return f"longer than input.max_duration_s ({duration:.0f} s > {hi:g} s)"
    return None


def process_file(path: Path, config: Config, on_event: OnEvent,
                 cancel: CancelFlag | None = None, *, ledger: Ledger | None = None,
                 run_id: int | None = None, full_scan: bool = False) -> Outcome:
    """Take one recording as far as it can go; resume where an earlier run stopped."""
    own_ledger = ledger is None
    ledger = ledger or Ledger(config.output.ledger_path)
    run_id = run_id if run_id is not None else ledger.start_run()
    name = path.name
    try:
        try:
            digest = ledger.hash_of(path, rehash=full_scan)
        except OSError as exc:
            on_event(FileFailed(name, "discover", f"Could not read {path} ({exc.strerror}): "
                                "check its permissions."))
            return Outcome(name, "failed", stage="discover", reason=str(exc))
        row, _new = ledger.register(path, digest)
        if full_scan and row.state != "new":
            ledger.reset(row.id)
            row = ledger.get(row.id)
        if row.state == "filed":
            return Outcome(name, "unchanged", destination=row.destination)
        if row.state == "failed":  # try again from the stage that failed
            ledger.update(row.id, state=STATE_BEFORE.get(row.failed_stage or "", "new"))
        elif row.state == "skipped":  # the duration limits may have changed since
            ledger.update(row.id, state="probed")
        ledger.update(row.id, path=str(path))  # the copy we are working from now
        row = ledger.get(row.id)
        ctx = _FileContext(path, config, ledger, run_id, on_event, cancel, row)
        on_event(checkpoint("file start"))
        while (stage := NEXT_STAGE.get(ctx.row.state)) is not None:
            if stage == "transcribe":
                reason = _within_duration(config, ctx.row.duration or 0.0)
                if reason:
                    ledger.update(row.id, state="skipped", error=reason)
                    on_event(FileSkipped(name, reason))
                    return Outcome(name, "skipped", reason=reason)
            if cancel is not None and cancel.is_set():
                return Outcome(name, "cancelled", stage=stage)
            on_event(StageStarted(name, stage))
            try:
                STAGES[stage](ctx)
            except StageError as exc:
                ledger.fail(row.id, exc.stage, str(exc))
                on_event(FileFailed(name, exc.stage, str(exc)))
                return Outcome(name, "failed", stage=exc.stage, reason=str(exc))
            except _Cancelled:
                return Outcome(name, "cancelled", stage=stage)
            ctx.row = ledger.get(row.id)
            if stage == "probe":
                on_event(checkpoint("after probe"))
        on_event(checkpoint("file done"))
        return Outcome(name, "filed", destination=ctx.row.destination)
    finally:
        if own_ledger:
            ledger.close()


def run_batch(config: Config, on_event: OnEvent, cancel: CancelFlag | None = None,
              full_scan: bool = False) -> BatchSummary:
    """Every recording in the input folders, one after another; one failure stops nothing."""
    media.require_ffmpeg()
    began = time.monotonic()
    emit = _Logged(config, on_event)
    summary = BatchSummary()
    with exclusive_run(config), Ledger(config.output.ledger_path) as ledger:
        run_id = ledger.start_run()
        emit(checkpoint("batch start"))
        filed_hashes = {r.hash for r in ledger.all_files() if r.state == "filed"}
        for removed in delete_old_raw_backups(config, filed_hashes):
            get_logger().info("removed old raw backup %s", removed)
        paths = discover(config)
        for position, path in enumerate(paths, start=1):
            emit(FileQueued(path.name, position, len(paths)))
        for path in paths:
            if cancel is not None and cancel.is_set():
                summary.outcomes.append(Outcome(path.name, "cancelled"))
                continue
            try:
                outcome = process_file(path, config, emit, cancel, ledger=ledger,
                                       run_id=run_id, full_scan=full_scan)
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
                get_logger().exception("unexpected error on %s", path)
                reason = (f"Unexpected error ({type(exc).__name__}: {exc}); the log has the "
                          "details — run again, and report it if it repeats.")
                emit(FileFailed(path.name, "unknown", reason))
                outcome = Outcome(path.name, "failed", stage="unknown", reason=reason)
            summary.outcomes.append(outcome)
        summary.seconds = time.monotonic() - began
        ledger.finish_run(run_id, summary.as_dict())
        emit(checkpoint("batch end"))
    emit(BatchFinished(summary.count("filed"), summary.count("failed"), summary.count("skipped"),
                       summary.count("unchanged"), round(summary.seconds, 2)))
    return summary
