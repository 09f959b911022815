"""The transcription stage, as it runs inside the worker process.

Plan the chunks once (cuts in silences, stored in the ledger), then for each chunk not yet
done: decode just that range, hand it to the engine, drop repetition loops, commit its text.
A killed run finds the plan and the finished chunks in the ledger and goes on from there.
"""

from __future__ import annotations

import time
from pathlib import Path

from pipeline.asr import ModelNotFound, create_engine
from pipeline.asr.base import Engine, Segment
from pipeline.chunking import drop_repetition_loops, plan_chunks, quietest_point
from pipeline.config import Config
from pipeline.events import ChunkDone, ChunkPlanned
from pipeline.ledger import Ledger
from pipeline.media import MediaError, decode_range, squeeze_silence
from pipeline.memory import checkpoint, return_freed_memory
from pipeline.worker import StageFailure, WorkerLink, WorkerResult


def _engine_for(config: Config) -> Engine:
    t = config.transcription
    return create_engine(t.engine, t.model, t.model_cache, t.allow_download, t.language,
                         t.threads, t.compute_type, t.beam_size, t.best_of)


def _transcribe_range(engine: Engine, config: Config, path: Path, start: float,
                      end: float) -> list[Segment]:
    audio = config.audio
    # The engine gets the only reference to the chunk's samples (popped from a list, so this
    # frame keeps none): it lets go of them once the VAD has copied the speech out, instead
    # of 300 s of audio being held through every window's decoding.
    pcm = [decode_range(path, start, end - start)]
    if not audio.remove_silence:
        segments = engine.transcribe(pcm.pop(), offset=start)
    else:
        squeezed = squeeze_silence(pcm.pop(), audio.silence_threshold_db, audio.min_silence_s)
        segments = [Segment(start + squeezed.to_original(s.start),
                            start + squeezed.to_original(s.end), s.text)
                    for s in engine.transcribe(squeezed.pcm, offset=0.0)]
    # No overlap between chunks, so a segment never belongs past its chunk's end.
    return [Segment(max(s.start, start), min(s.end, end), s.text)
            for s in drop_repetition_loops(segments)]


def transcribe_job(link: WorkerLink, file_id: int, path_str: str, duration: float,
                   config: Config, run_id: int, root_pid: int, announce: bool = True) -> None:
    """`announce`: this is the file's first worker of the run, so it tells the plan (a worker
    that takes over from another does not announce it again)."""
    path = Path(path_str)
    name = path.name
    link.send(checkpoint("worker started", root_pid))
    with Ledger(config.output.ledger_path) as ledger:
        chunks = ledger.chunks(file_id)
        if not chunks:
            def find_cut(lo: float, hi: float) -> float:
                return quietest_point(decode_range(path, lo, hi - lo), lo)
            try:
                plan = plan_chunks(duration, config.transcription.chunk_seconds, find_cut)
            except MediaError as exc:
                raise StageFailure("transcribe", str(exc)) from None
            ledger.save_plan(file_id, plan)
            chunks = ledger.chunks(file_id)
        total = len(chunks)
        if announce:
            link.send(ChunkPlanned(name, total, sum(c.done for c in chunks), duration))
        engine: Engine | None = None
        budget = config.transcription.chunks_per_worker or total
        # Sent after the model is unloaded, so that checkpoint reaches the parent first (it
        # stops listening at the result).
        result = WorkerResult("done")
        try:
            for chunk in chunks:
                if chunk.done:
                    continue
                if budget == 0:
                    # The heap of a process that has decoded many chunks keeps pieces the
                    # allocator will not give back, and its peaks creep up with them; a fresh
                    # process for the next chunks keeps a 2-hour file's peak at a 20-minute one's.
                    result = WorkerResult("more")
                    break
                budget -= 1
                if link.should_stop():
                    result = WorkerResult("cancelled", "transcribe", "stopped between chunks")
                    break
                if engine is None:
                    try:
                        engine = _engine_for(config)
                        engine.load()
                    except ModelNotFound as exc:
                        raise StageFailure("transcribe", str(exc)) from None
                    link.send(checkpoint("model loaded", root_pid))
                began = time.monotonic()
                try:
                    segments = _transcribe_range(engine, config, path, chunk.start, chunk.end)
                except MediaError as exc:
                    raise StageFailure("transcribe", str(exc)) from None
                text = " ".join(s.text for s in segments)
                seconds = time.monotonic() - began
                ledger.save_chunk(file_id, chunk.idx, text,
                                  [{"start": s.start, "end": s.end, "text": s.text}
                                   for s in segments], run_id, seconds)
                link.send(ChunkDone(name, chunk.idx, total, chunk.start, chunk.end, text,
                                    round(seconds, 3)))
                del segments
                return_freed_memory()  # the chunk's audio and features are gone: so is their RSS
                link.send(checkpoint(f"chunk {chunk.idx + 1}/{total}", root_pid))
        finally:
            if engine is not None:
                engine.unload()
                link.send(checkpoint("model unloaded", root_pid))
    link.send(result)


