"""The stages in order, resumable, emitting events: the one pipeline both faces drive.

    probe → transcribe (worker process) → identify → title → organize

Each stage reads what it needs from the ledger and records its result there before the next
starts; the state a file is in says which stage comes next.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from common import media
from common.chaos import chaos_point
from common.errors import Busy, Fault, fault, is_machine_fault
from common.names import is_text, readable
from common.recorded import when_recorded
from pipeline.config import roots
from pipeline.config.secrets import redact
from pipeline.config.settings import Config
from pipeline.filing.compact import CompactError
from pipeline.filing.filed_copy import compact_report, plan_filing, record_compact
from pipeline.filing.place import (
    Filed,
    FilingError,
    delete_old_raw_backups,
    file_talk,
    release_original,
    remove_previous_filing,
    sweep_parts,
)
from pipeline.filing.talk_record import talk_meta
from pipeline.inbox.settle import SettleWatch
from pipeline.ledger import FileRow, Ledger
from pipeline.run.control import RunControl
from pipeline.run.events import (
    BatchFinished,
    Event,
    FileFailed,
    FileFiled,
    FileQueued,
    FileSkipped,
    LogLine,
    MemoryCheckpoint,
    SpeakerDecided,
    StageStarted,
)
from pipeline.run.fault_place import locate
from pipeline.run.hangup_mask import hangups_deferred
from pipeline.run.logs import get_logger
from pipeline.run.memory import checkpoint
from pipeline.run.publish import RunPublisher, RunStatus
from pipeline.run.states import NEXT_STAGE, FileState, OutcomeStatus, Stage, StageError
from pipeline.run.worker import CancelFlag, WorkerResult, WorkerStatus, run_in_worker
from pipeline.stages.find_speech import speech_job
from pipeline.stages.identify import identify_job
from pipeline.stages.title import UNTITLED, make_title
from pipeline.stages.transcribe import transcribe_job
from speakers.decisions import SpeakerDecision
from speakers.library import SpeakerLibrary

OnEvent = Callable[[Event], None]

@dataclass(frozen=True)
class Outcome:
    file: str
    status: OutcomeStatus
    destination: str | None = None
    stage: Stage | None = None
    reason: str | None = None


@dataclass
class BatchSummary:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: OutcomeStatus) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def exit_code(self) -> int:
        return 1 if self.count(OutcomeStatus.FAILED) else 0

    def as_dict(self) -> dict:
        return {**{str(status): self.count(status) for status in OutcomeStatus},
                "seconds": round(self.seconds, 2), "files": [asdict(o) for o in self.outcomes]}


@contextmanager
def exclusive_run(config: Config) -> Iterator[None]:
    """One run at a time per output root (cron and the TUI must not file the same talk).
    Relabelling and the speaker commands that move filed talks take the same lock."""
    lock_path = config.output.ledger_path.with_name("run.lock")
    try:
        # Opening the ledger first checks the root (an unmounted disk is refused, never made).
        Ledger(config.output.ledger_path).close()
        handle = open(lock_path, "a")  # noqa: SIM115 - held for the whole run
    except OSError as exc:
        raise fault(exc, "the output folder", config.output.root) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(f"Another talks run is filing into {config.output.root}: wait for "
                       "it to finish, then run again.") from None
        yield


def discover(config: Config) -> list[Path]:
    """Recordings in the input folders, by extension, each once. Symlinked folders are
    followed, but a folder already seen (a loop, or two links to one folder) is not walked
    again; the output root is never walked, even when it sits inside an input folder."""
    exts = {e.lower() for e in config.input.extensions}
    out_root = config.output.root.resolve()
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    found: list[Path] = []
    for folder in config.input.folders:
        for top, dirs, files in os.walk(folder, followlinks=True):
            here = Path(top)
            try:
                st = here.stat()
            except OSError:
                dirs[:] = []
                continue
            if (st.st_dev, st.st_ino) in seen_dirs or here.resolve() == out_root:
                dirs[:] = []
                continue
            seen_dirs.add((st.st_dev, st.st_ino))
            dirs[:] = sorted(d for d in dirs if not d.startswith(".")) \
                if config.input.recursive else []
            for name in sorted(files):
                path = here / name
                if name.startswith(".") or path.suffix.lower() not in exts:
                    continue
                try:
                    fst = path.stat()
                except OSError:
                    continue  # a dangling link
                if not stat.S_ISREG(fst.st_mode) or (fst.st_dev, fst.st_ino) in seen_files:
                    continue
                resolved = path.resolve()
                if out_root in resolved.parents:
                    continue
                seen_files.add((fst.st_dev, fst.st_ino))
                found.append(path)
    return found


def name_not_text(path: Path) -> str:
    """Why a recording whose path is not UTF-8 text is not taken, and what to do."""
    return (f"its name is not UTF-8 text ({readable(str(path))}): rename it (convmv -f latin1 "
            "-t utf8 renames a folder of them) and run again")


def _takeable(paths: list[Path], aside: set[Path], emit: OnEvent,
              summary: BatchSummary) -> list[Path]:
    """The paths a run can take. A name of bytes that are not UTF-8 cannot go into the ledger,
    the log or the run's event file, so such a recording fails here (once a run: `aside`),
    saying what to do, and the rest of the batch goes on."""
    kept = []
    for path in paths:
        if is_text(str(path)):
            kept.append(path)
        elif path not in aside:
            aside.add(path)
            name, reason = readable(path.name), name_not_text(path)
            emit(FileFailed(name, Stage.DISCOVER, reason))
            summary.outcomes.append(Outcome(name, OutcomeStatus.FAILED, stage=Stage.DISCOVER,
                                            reason=reason))
    return kept


def missing_input_folders(config: Config) -> list[Path]:
    return roots.missing_input_folders(config.input.folders)


class _Logged:
    """Passes events on, and writes the ones worth keeping to the log file."""

    def __init__(self, config: Config, on_event: OnEvent):
        self.on_event = on_event
        self.memory = config.logging.memory
        self.log = get_logger()

    def __call__(self, event: Event) -> None:
        if isinstance(event, MemoryCheckpoint):
            if self.memory:
                extra = "".join(f", {name} {mb:.1f} MB" for name, mb in event.device_mb)
                if event.footprint_mb is not None:
                    extra = f", footprint {event.footprint_mb:.1f} MB{extra}"
                self.log.info("memory %s: rss %.1f MB, tree %.1f MB, process peak %.1f MB%s",
                              event.label, event.rss_mb, event.tree_rss_mb, event.peak_mb,
                              extra)
        elif isinstance(event, FileFailed):
            self.log.warning("failed %s at %s: %s", event.file, event.stage, event.reason)
        elif isinstance(event, LogLine):
            self.log.log(logging.getLevelName(event.level), "%s: %s", event.file, event.message)
        else:
            self.log.info("%s", event)
        self.on_event(event)


# --- the stages -------------------------------------------------------------------------------

def _probe(ctx: _FileContext) -> None:
    try:
        info = media.probe(ctx.path)
    except media.MediaError as exc:
        raise StageError(Stage.PROBE, str(exc)) from None
    year = when_recorded(ctx.path, info.year, ctx.config.input.folders).year
    ctx.ledger.advance(ctx.row.id, FileState.PROBED, duration=info.duration, year=year)


def _transcribe(ctx: _FileContext) -> None:
    config = ctx.config
    stall = max(600.0, config.transcription.chunk_seconds * 6)
    args = (ctx.row.id, str(ctx.path), ctx.row.duration or 0.0, config, ctx.run_id, os.getpid())
    result = run_in_worker(transcribe_job, (*args, True), ctx.on_event, ctx.cancel, stall)
    while result.status == WorkerStatus.MORE:  # a fresh worker goes on
        if ctx.cancel is not None and ctx.cancel.is_set():
            raise _Cancelled
        result = run_in_worker(transcribe_job, (*args, False), ctx.on_event, ctx.cancel, stall)
    if result.detail:
        get_logger().error("worker error on %s:\n%s", ctx.path, result.detail)
    _check(result, Stage.TRANSCRIBE)
    ctx.ledger.advance(ctx.row.id, FileState.TRANSCRIBED)


def _check(result: WorkerResult, stage: Stage) -> None:
    """A worker's result as the stage's outcome: done, cancelled, failed, or a fault."""
    if result.status == WorkerStatus.CANCELLED:
        raise _Cancelled
    if result.status == WorkerStatus.FAULT:
        raise Fault(result.message)
    if result.status != WorkerStatus.DONE:
        raise StageError(result.stage or stage, result.message)


def _short_worker(ctx: _FileContext, job: Callable[..., None], args: tuple, stage: Stage,
                  what: str) -> None:
    """Run one model job of a stage in its own worker; its failure becomes the stage's."""
    result = run_in_worker(job, args, ctx.on_event, ctx.cancel, stall_seconds=600.0,
                           stage=stage)
    if result.detail:
        get_logger().error("%s worker error on %s:\n%s", what, ctx.path, result.detail)
    _check(result, stage)


def _identify(ctx: _FileContext) -> None:
    sp = ctx.config.speakers
    people = SpeakerLibrary(sp.folder).people() if sp.identify else []
    if not people:
        # Nobody to compare with: file where the original system did, without loading a model.
        kind = SpeakerDecision.OFF if not sp.identify else SpeakerDecision.UNKNOWN
        ctx.ledger.update(ctx.row.id, speaker_decision=kind, speaker_evidence=None)
        candidates: tuple[tuple[str, float], ...] = ()
    else:
        _short_worker(ctx, identify_job, (ctx.row.id, str(ctx.path), ctx.row.duration or 0.0,
                                          ctx.config, os.getpid()), Stage.IDENTIFY, "speaker")
        kind = ctx.ledger.get(ctx.row.id).speaker_decision or SpeakerDecision.UNKNOWN
        evidence = ctx.ledger.get(ctx.row.id).speaker_evidence or {}
        candidates = tuple((n, float(s)) for n, s in evidence.get("candidates", []))
    row = ctx.ledger.get(ctx.row.id)
    evidence = row.speaker_evidence or {}
    speaker = evidence.get("speaker") if kind == SpeakerDecision.MATCH else None
    speaker = speaker or sp.default_speaker
    ctx.ledger.advance(ctx.row.id, FileState.IDENTIFIED, speaker=speaker,
                       needs_review=1 if kind == SpeakerDecision.REVIEW else 0)
    ctx.on_event(SpeakerDecided(ctx.path.name, kind, speaker, candidates))


def _title(ctx: _FileContext) -> None:
    text = " ".join(c.text or "" for c in ctx.ledger.chunks(ctx.row.id))
    titled = make_title(text, ctx.config.titles)
    title = titled.title
    if title == UNTITLED:
        title = f"Untitled ({ctx.path.stem})"  # nothing was said: keep the original's name
    if not text.strip():
        # Filed all the same (nothing is lost), but a blank recording should not pass unseen.
        ctx.on_event(LogLine(ctx.path.name, "WARNING", "no words were heard in it (silence, "
                             "music only, or a muted microphone?): its title is "
                             f"{title!r}; listen to it"))
    ctx.ledger.advance(ctx.row.id, FileState.TITLED, title=title, summary=titled.summary)


def _find_speech(ctx: _FileContext) -> None:
    """The VAD in a short worker, for chunks whose speech transcription did not record."""
    _short_worker(ctx, speech_job, (ctx.row.id, str(ctx.path), ctx.config, os.getpid()),
                  Stage.ORGANIZE, "speech")


def _organize(ctx: _FileContext) -> None:
    row = ctx.ledger.get(ctx.row.id)
    config = ctx.config
    meta = talk_meta(config, ctx.ledger, row)
    try:
        # Tags and the compact copy: how the filed copy is made (pipeline/filing/filed_copy.py).
        filing = plan_filing(config, ctx.ledger, row, lambda: _find_speech(ctx))
        filed = file_talk(config, row, filing.segments, {**meta, **filing.meta},
                          row.title or "", row.speaker or config.speakers.default_speaker,
                          row.year or 0,
                          reserve=lambda stem: ctx.ledger.update(row.id, planned_name=stem),
                          make_copy=filing.make_copy, ext=filing.ext)
        remove_previous_filing(row, filed)
        chaos_point("organize.commit")
        ctx.ledger.advance(row.id, FileState.FILED, destination=str(filed.talk),
                           transcripts=[str(p) for p in filed.transcripts],
                           raw_backup=str(filed.raw) if filed.raw else None)
        chaos_point("organize.committed")
        release_original(config, row, filed)
    except (FilingError, CompactError) as exc:
        raise StageError(Stage.ORGANIZE, str(exc)) from None
    except OSError as exc:
        if exc.filename and Path(exc.filename) == Path(row.path):
            if isinstance(exc, FileNotFoundError):
                raise StageError(Stage.ORGANIZE, str(media.vanished(Path(row.path)))) from None
            raise StageError(Stage.ORGANIZE, f"Could not read {row.path} "
                                             f"({exc.strerror}): check it, then run "
                                             "again.") from None
        if is_machine_fault(exc):
            raise fault(exc, "the output folder", config.output.root) from None
        raise StageError(Stage.ORGANIZE, f"Could not write under {config.output.root} "
                                         f"({exc.strerror or exc}): check that disk, then "
                                         "run again.") from None
    made = compact_report(row, filing, filed.talk)
    if made is not None:
        record_compact(ctx.ledger, row, made, filing, ctx.on_event)
    ctx.on_event(FileFiled(row.name, str(filed.talk), tuple(str(p) for p in filed.transcripts),
                           row.title or "", row.speaker or ""))


STAGES: dict[Stage, Callable[[_FileContext], None]] = {
    Stage.PROBE: _probe, Stage.TRANSCRIBE: _transcribe, Stage.IDENTIFY: _identify,
    Stage.TITLE: _title, Stage.ORGANIZE: _organize}


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
    """Take one recording as far as it can go; resume where an earlier run stopped.

    A fault of the machine (full disk, read-only or missing folder, no ffmpeg) raises Fault:
    the next file would meet it too. Anything else ends this file only."""
    own_ledger = ledger is None
    ledger = ledger or Ledger(config.output.ledger_path)
    run_id = run_id if run_id is not None else ledger.start_run()
    name = path.name
    try:
        try:
            digest = ledger.hash_of(path, rehash=full_scan)
        except OSError as exc:
            reason = (str(media.vanished(path)) if isinstance(exc, FileNotFoundError) else
                      f"Could not read {path} ({exc.strerror}): check its permissions.")
            on_event(FileFailed(name, Stage.DISCOVER, reason))
            return Outcome(name, OutcomeStatus.FAILED, stage=Stage.DISCOVER, reason=reason)
        row, _new = ledger.register(path, digest)
        if full_scan and row.state != FileState.NEW:
            ledger.restart(row.id)
            row = ledger.get(row.id)
        if row.state == FileState.FILED:
            return _already_filed(path, config, row, on_event)
        if row.state in (FileState.FAILED, FileState.SKIPPED):
            # Failed: try again from the stage that failed. Skipped: the duration limits may
            # have changed since.
            ledger.retry(row.id)
        ledger.update(row.id, path=str(path))  # the copy we are working from now
        row = ledger.get(row.id)
        ctx = _FileContext(path, config, ledger, run_id, on_event, cancel, row)
        on_event(checkpoint("file start"))
        while (stage := NEXT_STAGE.get(ctx.row.state)) is not None:
            if stage == Stage.TRANSCRIBE:
                reason = _within_duration(config, ctx.row.duration or 0.0)
                if reason:
                    ledger.skip(row.id, reason)
                    on_event(FileSkipped(name, reason))
                    return Outcome(name, OutcomeStatus.SKIPPED, reason=reason)
            if cancel is not None and cancel.is_set():
                return Outcome(name, OutcomeStatus.CANCELLED, stage=stage)
            on_event(StageStarted(name, stage))
            chaos_point(f"stage.{stage}")
            try:
                STAGES[stage](ctx)
            except _Cancelled:
                return Outcome(name, OutcomeStatus.CANCELLED, stage=stage)
            except StageError as exc:
                return _failed(ctx, exc.stage, str(exc))
            except Fault as exc:
                _machine_stopped(ctx, stage, exc)
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
                if is_machine_fault(exc):
                    _machine_stopped(ctx, stage, locate(exc, config))
                get_logger().exception("unexpected error on %s at %s", path, stage)
                return _failed(ctx, stage, f"Unexpected error ({type(exc).__name__}: {exc}); "
                                           "the log has the details — run again, and report "
                                           "it if it repeats.")
            ctx.row = ledger.get(row.id)
            if stage == Stage.PROBE:
                on_event(checkpoint("after probe"))
        on_event(checkpoint("file done"))
        return Outcome(name, OutcomeStatus.FILED, destination=ctx.row.destination)
    finally:
        if own_ledger:
            ledger.close()


def _already_filed(path: Path, config: Config, row: FileRow, on_event: OnEvent) -> Outcome:
    name = path.name
    if row.path != str(path) and Path(row.path).exists():
        reason = (f"the same recording as {row.path}, filed once as {row.destination}; this "
                  "copy was left where it is")
        on_event(FileSkipped(name, reason))
        return Outcome(name, OutcomeStatus.DUPLICATE, destination=row.destination,
                       reason=reason)
    if row.path == str(path) and row.destination:
        # originals = "move", and an earlier run stopped between the ledger's commit and
        # the removal of the original: finish the move now (the copy is verified first).
        # A tagged or compact copy is known by its own hash (the ledger's filed_hash).
        raw = Path(row.raw_backup) if row.raw_backup else None
        release_original(config, row, Filed(Path(row.destination), [], raw,
                                            row.filed_hash or ""))
    return Outcome(name, OutcomeStatus.UNCHANGED, destination=row.destination)


def _failed(ctx: _FileContext, stage: Stage, reason: str) -> Outcome:
    reason = redact(reason)
    ctx.ledger.fail(ctx.row.id, stage, reason)
    ctx.on_event(FileFailed(ctx.path.name, stage, reason))
    return Outcome(ctx.path.name, OutcomeStatus.FAILED, stage=stage, reason=reason)


def _machine_stopped(ctx: _FileContext, stage: Stage, problem: Fault) -> None:
    """Say which file the fault stopped, note it in the ledger when the ledger can still be
    written, and stop the run."""
    problem = Fault(redact(str(problem)))
    problem.file, problem.stage = ctx.path.name, stage
    try:
        ctx.ledger.fail(ctx.row.id, stage, str(problem))
    except Exception:  # noqa: BLE001 - the ledger may be on the disk that failed
        pass
    ctx.on_event(FileFailed(ctx.path.name, stage, str(problem)))
    raise problem from None


def run_files(paths: list[Path], config: Config, emit: OnEvent, cancel: CancelFlag | None,
              ledger: Ledger, run_id: int, full_scan: bool, summary: BatchSummary) -> None:
    for path in paths:
        if cancel is not None and cancel.is_set():
            summary.outcomes.append(Outcome(path.name, OutcomeStatus.CANCELLED))
            continue
        try:
            outcome = process_file(path, config, emit, cancel, ledger=ledger,
                                   run_id=run_id, full_scan=full_scan)
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
            if is_machine_fault(exc):
                problem = locate(exc, config)
                summary.outcomes.append(Outcome(path.name, OutcomeStatus.FAILED,
                                                stage=problem.stage and Stage(problem.stage),
                                                reason=str(problem)))
                raise problem from None
            get_logger().exception("unexpected error on %s", path)
            reason = (f"Unexpected error ({type(exc).__name__}: {exc}); the log has the "
                      "details — run again, and report it if it repeats.")
            emit(FileFailed(path.name, Stage.DISCOVER, reason))
            outcome = Outcome(path.name, OutcomeStatus.FAILED, stage=Stage.DISCOVER,
                              reason=reason)
        summary.outcomes.append(outcome)


@dataclass(frozen=True)
class RunSession:
    emit: OnEvent  # every event of the run goes through here
    control: RunControl
    status: RunStatus


@contextmanager
def run_session(config: Config, on_event: OnEvent, cancel: CancelFlag | None = None,
                face: str = "batch") -> Iterator[RunSession]:
    """What every run has around its files, whoever starts it: the one-run lock, hang-ups
    kept from the processes it starts, its status and events beside the ledger for any other
    `talks` to follow, the requests it takes from them, and the log."""
    control = RunControl.of(cancel)
    with exclusive_run(config), hangups_deferred(), \
            RunPublisher(config.output.ledger_path.parent, face, config.source) as publisher:
        def fan_out(event: Event) -> None:
            control.observe(event)
            publisher.emit(event)
            on_event(event)

        emit = _Logged(config, fan_out)
        control.attach(publisher.requests, emit)
        yield RunSession(emit, control, publisher.status)


def _finish_person_move(config: Config, emit: OnEvent) -> None:
    """A rename or merge killed half-way is finished before anything is filed: a run in
    between would file new talks under the name that is going away, and a library split
    between two names sends the person's talks to review."""
    from pipeline.filing.person_rename import finish_interrupted
    from pipeline.filing.relabel import RelabelError
    from speakers.library import LibraryError

    try:
        done = finish_interrupted(config)
    except (LibraryError, RelabelError) as exc:
        emit(LogLine("speakers", "WARNING", f"An interrupted rename or merge is not finished "
                     f"({exc}); run `talks speakers list` to finish it."))
        return
    if done is not None:
        emit(LogLine("speakers", "WARNING", f"Finished an interrupted change: {done.summary()}"))


def _check_speaker_library(config: Config, ledger: Ledger, emit: OnEvent) -> None:
    """A speaker folder that is missing files every talk under the default speaker. When
    people were enrolled from it before (their clips' vectors are in the ledger), that is an
    unmounted disk or a moved folder: stop, as for a missing input folder, rather than file a
    whole batch that would each need relabelling. Never used: say so and go on."""
    sp = config.speakers
    if not sp.identify or sp.folder.is_dir():
        return
    if ledger.has_clip_embeddings():
        raise Fault(f"The speaker library {sp.folder} is missing, but people were enrolled "
                    "from it before: if it is on an external disk, mount it and run again; "
                    "otherwise fix speakers.folder in the config. Nothing was filed. To file "
                    "without recognising anyone, set speakers.identify = false.")
    emit(LogLine("speakers", "WARNING", f"The speaker library {sp.folder} does not exist, so "
                 f"nobody can be recognised and talks go to {sp.default_speaker}; "
                 "`talks speakers add NAME CLIP…` creates it."))


def _say_left_out_clips(config: Config, emit: OnEvent) -> None:
    """Clips the library cannot read as anyone's, said at the start of each run: otherwise a
    person would just go unrecognised, with nothing to say why."""
    if config.speakers.identify:
        for sentence in SpeakerLibrary(config.speakers.folder).left_out():
            emit(LogLine("speakers", "WARNING", sentence))


def run_batch(config: Config, on_event: OnEvent, cancel: CancelFlag | None = None,
              full_scan: bool = False, face: str = "batch") -> BatchSummary:
    """Every recording in the input folders, one after another; one failure stops nothing,
    but a fault of the machine stops the run (raised as Fault, with what was done so far in
    its `summary`). Asked for more (see run_control.py), it looks in the folders again when
    it is done."""
    media.require_ffmpeg()
    roots.check_input_folders(config.input.folders, config.source)
    began = time.monotonic()
    summary = BatchSummary()
    try:
        with run_session(config, on_event, cancel, face) as session, \
                Ledger(config.output.ledger_path) as ledger:
            emit = session.emit
            for removed in sweep_parts(config):
                get_logger().info("removed %s, left by an interrupted run", removed)
            _finish_person_move(config, emit)
            _check_speaker_library(config, ledger, emit)
            _say_left_out_clips(config, emit)
            run_id = ledger.start_run()
            emit(checkpoint("batch start"))
            try:
                _run_all(config, emit, session.control, ledger, run_id, full_scan, summary)
            except BaseException:
                summary.seconds = time.monotonic() - began
                with contextlib.suppress(Exception):  # already stopping; the disk may be full
                    ledger.finish_run(run_id, summary.as_dict())
                raise
            summary.seconds = time.monotonic() - began
            ledger.finish_run(run_id, summary.as_dict())
            emit(checkpoint("batch end"))
            # Still inside the session: a follower reads the end from this run's events.
            emit(BatchFinished(summary.count(OutcomeStatus.FILED),
                               summary.count(OutcomeStatus.FAILED),
                               summary.count(OutcomeStatus.SKIPPED),
                               summary.count(OutcomeStatus.UNCHANGED),
                               round(summary.seconds, 2)))
    except Fault as exc:
        exc.summary = summary
        raise
    except (OSError, sqlite3.Error) as exc:
        if not is_machine_fault(exc):
            raise
        problem = locate(exc, config)
        problem.summary = summary
        raise problem from None
    return summary


def _run_all(config: Config, emit: OnEvent, control: RunControl, ledger: Ledger,
             run_id: int, full_scan: bool, summary: BatchSummary) -> None:
    filed_hashes = {r.hash for r in ledger.all_files() if r.state == FileState.FILED}
    for removed in delete_old_raw_backups(config, filed_hashes):
        get_logger().info("removed old raw backup %s", removed)
    taken: set[Path] = set()
    aside: set[Path] = set()
    paths = _takeable(discover(config), aside, emit, summary)
    watch = SettleWatch(config.input.settle_seconds)
    while paths:
        # Files still being copied in go last, and only once they have settled.
        ready, arriving = watch.split(paths)
        for position, path in enumerate(ready + arriving, start=len(taken) + 1):
            emit(FileQueued(path.name, position, len(taken) + len(paths)))
        taken.update(paths)
        run_files(ready, config, emit, control, ledger, run_id, full_scan, summary)
        if arriving and not control.is_set():
            late, still = watch.wait(arriving, timeout=2 * config.input.settle_seconds)
            run_files(late, config, emit, control, ledger, run_id, full_scan, summary)
            for path in still:
                reason = (f"still being copied in (it changed in the last "
                          f"{config.input.settle_seconds:g} s): a later run takes it")
                emit(FileSkipped(path.name, reason))
                summary.outcomes.append(Outcome(path.name, OutcomeStatus.WAITING,
                                                reason=reason))
                taken.discard(path)  # a look for more may find it settled
        more = control.take_more()
        found = [p for p in discover(config) if p not in taken] if more else []
        paths = _takeable(found, aside, emit, summary)
