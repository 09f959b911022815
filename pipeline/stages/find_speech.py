"""Where speech is, for chunks whose transcription did not record it (both engines record it
now; chunks transcribed before the ledger kept it do not). Runs in a short worker process:
the Silero VAD that ships inside faster-whisper, the same settings the engine uses, a chunk's
audio at a time."""

from __future__ import annotations

from pathlib import Path

from common.media import MediaError, decode_range
from pipeline.asr.base import SAMPLE_RATE
from pipeline.config.settings import Config
from pipeline.ledger import Ledger
from pipeline.run.memory import checkpoint
from pipeline.run.states import Stage, StageError
from pipeline.run.worker import WorkerLink, WorkerResult, WorkerStatus

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
            try:
                pcm = decode_range(path, chunk.start, chunk.end - chunk.start)
            except MediaError as exc:
                raise StageError(Stage.ORGANIZE, str(exc)) from None
            found = get_speech_timestamps(pcm, VadOptions(min_silence_duration_ms=MIN_SILENCE_MS))
            del pcm
            ledger.save_speech(file_id, chunk.idx, [
                [round(chunk.start + s["start"] / SAMPLE_RATE, 3),
                 round(min(chunk.end, chunk.start + s["end"] / SAMPLE_RATE), 3)] for s in found])
    link.send(checkpoint("speech worker done", root_pid))
    link.send(WorkerResult(WorkerStatus.DONE))
