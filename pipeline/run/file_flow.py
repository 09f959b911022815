"""One recording through the stages, resumable: the per-file state machine.

    probe → transcribe (worker process) → identify (worker) → title → organize

Each stage (pipeline/stages/, in order in stages/table.py) reads what it needs from the
ledger and records its result there before the next starts; the state a file is in says
which stage comes next (states.py), so a run stopped anywhere resumes at the stage it
reached.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from common import media
from common.chaos import chaos_point
from common.errors import Fault, TalksError, is_machine_fault, unexpected
from pipeline.config.secrets import redact
from pipeline.config.settings import Config
from pipeline.filing.place import Filed, release_original
from pipeline.ledger import FileRow, Ledger
from pipeline.run.events import FileFailed, FileSkipped, OnEvent, StageStarted
from pipeline.run.fault_place import locate
from pipeline.run.logs import get_logger
from pipeline.run.memory import checkpoint
from pipeline.run.states import NEXT_STAGE, FileState, OutcomeStatus, Stage, StageError
from pipeline.run.summary import BatchSummary, Outcome
from pipeline.search.index import drop_talk
from pipeline.stages.context import Cancelled, StageContext, StopFlag
from pipeline.stages.table import STEPS


def process_file(path: Path, config: Config, on_event: OnEvent,
                 control: StopFlag | None = None, *, ledger: Ledger | None = None,
                 run_id: int | None = None, full_scan: bool = False,
                 head_turn: AbstractContextManager | None = None) -> Outcome:
    """Take one recording as far as it can go; resume where an earlier run stopped.
    `head_turn`: held around every stage but the heavy ones, when talks are in flight at
    once (pipeline/run/in_flight.py).

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
            # A detected language is heard again; a person's word outlives a full scan.
            kept = row.language_source == "person"
            row = start_over(ledger, row.id, **({} if kept else {
                "language": None, "language_probability": None, "language_source": None}))
        if row.state == FileState.FILED:
            return _already_filed(path, config, row, on_event)
        if row.state in (FileState.FAILED, FileState.SKIPPED):
            # Failed: try again from the stage that failed. Skipped: the duration limits may
            # have changed since.
            ledger.retry(row.id)
        ledger.update(row.id, path=str(path))  # the copy we are working from now
        row = ledger.get(row.id)
        ctx = StageContext(path, config, ledger, run_id, on_event, control, row,
                           head_turn or nullcontext())
        on_event(checkpoint("file start"))
        while (stage := NEXT_STAGE.get(ctx.row.state)) is not None:
            step = STEPS[stage]
            reason = step.skip_reason(ctx)
            if reason:
                ledger.skip(row.id, reason)
                on_event(FileSkipped(name, reason))
                return Outcome(name, OutcomeStatus.SKIPPED, reason=reason)
            if ctx.stop_asked():
                return Outcome(name, OutcomeStatus.CANCELLED, stage=stage)
            on_event(StageStarted(name, stage))
            chaos_point(f"stage.{stage}")
            try:
                with nullcontext() if step.heavy else ctx.head_turn:
                    step.run(ctx)
            except Cancelled:
                return Outcome(name, OutcomeStatus.CANCELLED, stage=stage)
            except StageError as exc:
                return _failed(ctx, exc.stage, str(exc))
            except Fault as exc:
                _machine_stopped(ctx, stage, exc)
            except TalksError as exc:  # foreseen: this stage's failure, in the error's words
                return _failed(ctx, stage, str(exc))
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
                if is_machine_fault(exc):
                    _machine_stopped(ctx, stage, locate(exc, config))
                get_logger().exception("unexpected error on %s at %s", path, stage)
                return _failed(ctx, stage, unexpected(exc))
            ctx.row = ledger.get(row.id)
        on_event(checkpoint("file done"))
        return Outcome(name, OutcomeStatus.FILED, destination=ctx.row.destination,
                       language=ctx.row.language)
    finally:
        if own_ledger:
            ledger.close()


def start_over(ledger: Ledger, file_id: int, **facts: object) -> FileRow:
    """Forget a talk's work so that the next run does it all again (--full-scan, or a person
    saying which language it is in: `facts`), its words leaving the search index in the same
    transaction. Where it was filed is kept: the new filing replaces the old one."""
    with ledger.transaction():
        drop_talk(ledger, file_id)
        ledger.restart(file_id)
        if facts:
            ledger.update(file_id, **facts)
    return ledger.get(file_id)


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
    return Outcome(name, OutcomeStatus.UNCHANGED, destination=row.destination,
                   language=row.language)


def _failed(ctx: StageContext, stage: Stage, reason: str) -> Outcome:
    reason = redact(reason)
    ctx.ledger.fail(ctx.row.id, stage, reason)
    ctx.on_event(FileFailed(ctx.path.name, stage, reason))
    return Outcome(ctx.path.name, OutcomeStatus.FAILED, stage=stage, reason=reason,
                   language=ctx.row.language)


def _machine_stopped(ctx: StageContext, stage: Stage, problem: Fault) -> None:
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


def file_each(paths: list[Path], config: Config, emit: OnEvent, control: StopFlag | None,
              ledger: Ledger, run_id: int, full_scan: bool, summary: BatchSummary) -> None:
    for path in paths:
        if control is not None and control.is_set():
            summary.outcomes.append(Outcome(path.name, OutcomeStatus.CANCELLED))
            continue
        try:
            outcome = process_file(path, config, emit, control, ledger=ledger,
                                   run_id=run_id, full_scan=full_scan)
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
            if is_machine_fault(exc):
                problem = locate(exc, config)
                summary.outcomes.append(Outcome(path.name, OutcomeStatus.FAILED,
                                                stage=problem.stage and Stage(problem.stage),
                                                reason=str(problem)))
                raise problem from None
            get_logger().exception("unexpected error on %s", path)
            reason = unexpected(exc)
            emit(FileFailed(path.name, Stage.DISCOVER, reason))
            outcome = Outcome(path.name, OutcomeStatus.FAILED, stage=Stage.DISCOVER,
                              reason=reason)
        summary.outcomes.append(outcome)
