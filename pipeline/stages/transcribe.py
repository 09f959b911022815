"""The transcription stage, as it runs inside the worker process.

First the talk's language and the model for it, decided once (stages/talk_language.py). Then
plan the chunks once (cuts in silences, stored in the ledger), then for each chunk not yet
done: decode just that range, hand it to the engine, drop repetition loops, commit its text.
A killed run finds the plan and the finished chunks in the ledger and goes on from there.
"""

from __future__ import annotations

import time
from pathlib import Path

from common.chaos import chaos_point
from common.media import Squeezed, decode_range, squeeze_silence
from pipeline.asr import check_model, create_engine
from pipeline.asr.base import Engine, Segment
from pipeline.asr.language import DETECTION_MODEL
from pipeline.asr.models import models_of, resolve_ct2_model
from pipeline.config.settings import Config
from pipeline.filing.cues import repair
from pipeline.run.events import ChunkDone, ChunkPlanned
from pipeline.run.logs import get_logger
from pipeline.run.memory import checkpoint, return_freed_memory
from pipeline.run.states import FileState, Stage
from pipeline.run.worker import WorkerLink, WorkerResult, WorkerStatus
from pipeline.stages.chunking import drop_repetition_loops, plan_chunks, quietest_point
from pipeline.stages.context import Cancelled, StageContext, check, root_pid, run_heavy
from pipeline.stages.talk_language import needs_detection, talk_language

# --- in the run's process -----------------------------------------------------------------


def outside_limits(ctx: StageContext) -> str | None:
    """Why this recording is not transcribed in this run: its length is outside the config's
    limits (asked before the stage starts, so the file is skipped rather than begun)."""
    duration = ctx.row.duration or 0.0
    lo, hi = ctx.config.input.min_duration_s, ctx.config.input.max_duration_s
    if duration < lo:
        return f"shorter than input.min_duration_s ({duration:.1f} s < {lo:g} s)"
    if duration > hi:
        return f"longer than input.max_duration_s ({duration:.0f} s > {hi:g} s)"
    return None


def transcribe_stage(ctx: StageContext) -> None:
    """The talk's language first, then the chunks in worker processes, each worker taking up
    to chunks_per_worker of them (a fresh one goes on from where the last stopped: see
    transcribe_job)."""
    config = ctx.config
    with ctx.head_turn:  # heard on this machine, one talk at a time
        spoken = talk_language(ctx)  # before any chunk: the whole talk is heard in it
    stall = max(600.0, config.transcription.chunk_seconds * 6)
    args = (ctx.row.id, str(ctx.path), ctx.row.duration or 0.0, config, ctx.run_id,
            root_pid(config), spoken.language, spoken.model)

    def worker(announce: bool) -> WorkerResult:
        return run_heavy(ctx, transcribe_job, (*args, announce), stall, Stage.TRANSCRIBE,
                         model=spoken.model)

    result = worker(True)
    while result.status == WorkerStatus.MORE:  # a fresh worker goes on
        if ctx.stop_asked():
            raise Cancelled
        result = worker(False)
    if result.detail:
        get_logger().error("worker error on %s:\n%s", ctx.path, result.detail)
    check(result, Stage.TRANSCRIBE)
    ctx.ledger.advance(ctx.row.id, FileState.TRANSCRIBED)


def check_engine(config: Config) -> None:
    """What _engine_for's engine would stop on (a model or engine not installed), found
    without loading it (`talks config validate`, in the main process): every model the
    setting may pick, and base when it may hear a talk's language."""
    t = config.transcription
    for model in models_of(t.model):
        check_model(t.engine, model, t.model_cache, t.allow_download)
    if needs_detection(config):
        resolve_ct2_model(DETECTION_MODEL, t.model_cache, allow_download=False, join=False)


# --- in the worker process ----------------------------------------------------------------


def _engine_for(config: Config, language: str, model: str,
                longest_chunk_s: float | None = None) -> Engine:
    """The configured engine, with the talk's model, in the talk's language. Streams get a
    core each only where a chunk can hold them: a chunk's speech is split into streams of at
    least MIN_STREAM_SECONDS, so a worker whose chunks are all shorter hears one stream, on
    all the cores (on two workers of one core each, one would sit idle: a 100 s clip took
    5.8-6.5 s that way, 5.3-6.0 s on both cores)."""
    from pipeline.asr import pick_engine_name
    from pipeline.asr.windows import MIN_STREAM_SECONDS  # numpy: workers only
    from pipeline.config.speed import speed_plan

    t = config.transcription
    plan = speed_plan(t.speed, pick_engine_name(t.engine), t.threads, t.streams, t.batch_size)
    streams = plan.streams
    if longest_chunk_s is not None:
        streams = min(streams, max(1, int(longest_chunk_s // MIN_STREAM_SECONDS)))
    return create_engine(t.engine, model, t.model_cache, t.allow_download, language, t.threads,
                         t.compute_type, t.beam_size, t.best_of, plan.batch_size, streams,
                         plan.windows)


def _transcribe_range(engine: Engine, config: Config, path: Path, start: float,
                      end: float) -> tuple[list[Segment], list[list[float]] | None]:
    """The chunk's segments, and where the engine's VAD heard speech (None: no VAD ran)."""
    audio = config.audio
    # The engine gets the only reference to the chunk's samples (popped from a list, so this
    # frame keeps none): it lets go of them once the VAD has copied the speech out, instead
    # of 300 s of audio being held through every window's decoding.
    damage: list[str] = []
    pcm = [decode_range(path, start, end - start, damage)]
    for said in damage:
        # The worker sends this on as a note on this file: its name goes with it.
        get_logger().warning("the audio between %.0f and %.0f s is damaged (ffmpeg: %s): what "
                             "could be decoded was transcribed; the filed copy is the "
                             "recording as it is", start, end, said)
    squeezed = None
    if not audio.remove_silence:
        segments = engine.transcribe(pcm.pop(), offset=start)
    else:
        squeezed = squeeze_silence(pcm.pop(), audio.silence_threshold_db, audio.min_silence_s)
        segments = [Segment(start + squeezed.to_original(s.start),
                            start + squeezed.to_original(s.end), s.text)
                    for s in engine.transcribe(squeezed.pcm, offset=0.0)]
    speech = _speech_heard(engine, squeezed, start, end)
    # No overlap between chunks, so a cue never belongs outside its chunk; what the engine
    # gave is made into valid cues here, before the ledger keeps it.
    repaired = repair(drop_repetition_loops(segments), duration=end, floor=start)
    for note in repaired.notes:
        get_logger().warning("%s: %s", path.name, note)
    return repaired.segments, speech


def _speech_heard(engine: Engine, squeezed: Squeezed | None, start: float,
                  end: float) -> list[list[float]] | None:
    """The engine's VAD stretches in seconds of the recording, or None when it ran none."""
    heard = getattr(engine, "last_speech", None)
    if heard is None:
        return None
    if squeezed is not None:
        heard = [(start + squeezed.to_original(a), start + squeezed.to_original(b))
                 for a, b in heard]
    return [[round(max(a, start), 3), round(min(b, end), 3)] for a, b in heard]


def transcribe_job(link: WorkerLink, file_id: int, path_str: str, duration: float,
                   config: Config, run_id: int, root_pid: int, language: str, model: str,
                   announce: bool = True) -> None:
    """The talk's chunks in `language`, by `model` (talk_language decided both).
    `announce`: this is the file's first worker of the run, so it tells the plan (a worker
    that takes over from another does not announce it again)."""
    path = Path(path_str)
    name = path.name
    link.forward_logs(name)
    link.send(checkpoint("worker started", root_pid))
    with link.ledger(config) as ledger:
        chunks = ledger.chunks(file_id)
        if not chunks:
            def find_cut(lo: float, hi: float) -> float:
                return quietest_point(decode_range(path, lo, hi - lo), lo)
            plan = plan_chunks(duration, config.transcription.chunk_seconds, find_cut)
            ledger.save_plan(file_id, plan)
            chunks = ledger.chunks(file_id)
        total = len(chunks)
        if announce:
            link.send(ChunkPlanned(name, total, sum(c.done for c in chunks), duration))
        engine: Engine | None = None
        budget = config.transcription.chunks_per_worker or total
        # Sent after the model is unloaded, so that checkpoint reaches the parent first (it
        # stops listening at the result).
        result = WorkerResult(WorkerStatus.DONE)
        try:
            for chunk in chunks:
                if chunk.done:
                    continue
                if budget == 0:
                    # The heap of a process that has decoded many chunks keeps pieces the
                    # allocator will not give back, and its peaks creep up with them; a fresh
                    # process for the next chunks keeps a 2-hour file's peak at a 20-minute one's.
                    result = WorkerResult(WorkerStatus.MORE)
                    break
                budget -= 1
                if link.should_stop():
                    result = WorkerResult(WorkerStatus.CANCELLED, Stage.TRANSCRIBE,
                                          "stopped between chunks")
                    break
                if engine is None:
                    # A model not found (a Fault) stops the run: every file would need it.
                    engine = _engine_for(config, language, model,
                                         max(c.end - c.start for c in chunks if not c.done))
                    engine.load()
                    link.send(checkpoint("model loaded", root_pid, engine.device_memory()))
                began = time.monotonic()
                segments, speech = _transcribe_range(engine, config, path, chunk.start,
                                                     chunk.end)
                text = " ".join(s.text for s in segments)
                seconds = time.monotonic() - began
                ledger.save_chunk(file_id, chunk.idx, text,
                                  [{"start": s.start, "end": s.end, "text": s.text}
                                   for s in segments], run_id, seconds, speech)
                chaos_point("transcribe.chunk")
                link.send(ChunkDone(name, chunk.idx, total, chunk.start, chunk.end, text,
                                    round(seconds, 3)))
                del segments
                # The chunk's audio and features are gone: so is their memory, from the
                # engine's own cache and from the heap.
                counters = engine.device_memory()
                engine.trim()
                return_freed_memory()
                link.send(checkpoint(f"chunk {chunk.idx + 1}/{total}", root_pid, counters))
        finally:
            if engine is not None:
                engine.unload()
                link.send(checkpoint("model unloaded", root_pid))
    link.send(result)


