"""The organize stage: the talk filed under YEAR/SPEAKER with its transcripts, its copy
tagged or made compact (pipeline/filing/), the ledger told and its words put in the search
index in the same transaction (pipeline/search/), the original released as the config says.

The compact copy cuts out long silences where speech detection found none; chunks transcribed
before the ledger kept their speech get it here from the Silero VAD that ships inside
faster-whisper, in a short worker process (`speech_job`), a chunk's audio at a time.
"""

from __future__ import annotations

import os
from pathlib import Path

from common import media
from common.chaos import chaos_point
from common.errors import fault, is_machine_fault
from pipeline.config.settings import Config
from pipeline.filing.filed_copy import compact_report, plan_filing, record_compact
from pipeline.filing.place import file_talk, release_original, remove_previous_filing
from pipeline.filing.talk_record import talk_meta
from pipeline.ledger import Ledger
from pipeline.run.events import FileFiled
from pipeline.run.memory import checkpoint
from pipeline.run.states import FileState, Stage, StageError
from pipeline.run.worker import WorkerLink, WorkerResult, WorkerStatus
from pipeline.search.index import index_talk
from pipeline.search.passages import Cue
from pipeline.stages.context import StageContext, run_short_worker

# --- in the run's process -----------------------------------------------------------------


def organize_stage(ctx: StageContext) -> None:
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
        with ctx.ledger.transaction():  # filed and searchable at once, or neither
            index_talk(ctx.ledger, row.id, [Cue(s.start, s.end, s.text)
                                            for s in filing.segments])
            ctx.ledger.advance(row.id, FileState.FILED, destination=str(filed.talk),
                               transcripts=[str(p) for p in filed.transcripts],
                               raw_backup=str(filed.raw) if filed.raw else None)
        chaos_point("organize.committed")
        release_original(config, row, filed)
    except OSError as exc:
        raise _filing_failed(exc, config, Path(row.path)) from None
    made = compact_report(row, filing, filed.talk)
    if made is not None:
        record_compact(ctx.ledger, row, made, filing, ctx.on_event)
    ctx.on_event(FileFiled(row.name, str(filed.talk), tuple(str(p) for p in filed.transcripts),
                           row.title or "", row.speaker or ""))


def _filing_failed(exc: OSError, config: Config, original: Path) -> Exception:
    """What an OSError while filing means: the original gone or unreadable (this talk
    fails), or the output disk (the machine's fault: the run stops)."""
    if exc.filename and Path(exc.filename) == original:
        if isinstance(exc, FileNotFoundError):
            return StageError(Stage.ORGANIZE, str(media.vanished(original)))
        return StageError(Stage.ORGANIZE, f"Could not read {original} ({exc.strerror}): "
                                          "check it, then run again.")
    if is_machine_fault(exc):
        return fault(exc, "the output folder", config.output.root)
    return StageError(Stage.ORGANIZE, f"Could not write under {config.output.root} "
                                      f"({exc.strerror or exc}): check that disk, then "
                                      "run again.")


def _find_speech(ctx: StageContext) -> None:
    """The VAD in a short worker, for chunks whose speech transcription did not record."""
    run_short_worker(ctx, speech_job, (ctx.row.id, str(ctx.path), ctx.config, os.getpid()),
                     Stage.ORGANIZE, "speech")


# --- in the worker process ----------------------------------------------------------------

# The engine's own setting (faster_whisper_engine): a pause this long ends a stretch.
MIN_SILENCE_MS = 700


def speech_job(link: WorkerLink, file_id: int, path_str: str, config: Config,
               root_pid: int) -> None:
    # lean_frontend first: it checks the faster-whisper version before anything uses it.
    from pipeline.asr.lean_frontend import install_vad

    install_vad()  # a slice at a time, as in the transcription worker
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    path = Path(path_str)
    link.send(checkpoint("speech worker started", root_pid))
    with Ledger(config.output.ledger_path) as ledger:
        for chunk in ledger.chunks(file_id):
            if chunk.speech is not None:
                continue
            if link.should_stop():
                link.send(WorkerResult(WorkerStatus.CANCELLED, Stage.ORGANIZE,
                                       "stopped between chunks"))
                return
            pcm = media.decode_range(path, chunk.start, chunk.end - chunk.start)
            found = get_speech_timestamps(pcm, VadOptions(min_silence_duration_ms=MIN_SILENCE_MS))
            del pcm
            rate = media.SAMPLE_RATE
            ledger.save_speech(file_id, chunk.idx, [
                [round(chunk.start + s["start"] / rate, 3),
                 round(min(chunk.end, chunk.start + s["end"] / rate), 3)] for s in found])
    link.send(checkpoint("speech worker done", root_pid))
    link.send(WorkerResult(WorkerStatus.DONE))
