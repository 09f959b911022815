"""The speaker stage: who is speaking, decided in a worker process of its own.

In its own short-lived process the embedding model (numpy CAM++ or GE2E, no torch; a
pyannote model brings torch, ~200 MB more) never adds to the Whisper engine's memory and is
gone when the talk is identified. The talk's samples are taken where the transcript says
someone speaks (speakers.identify.plan_speech_samples).
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where it is used: the batch and the app never
    import numpy as np  # load it (~15 MB), only the workers that do the audio work

from common.media import SAMPLE_RATE, decode_range
from pipeline.config.secrets import secret
from pipeline.config.settings import Config, decision_values
from pipeline.ledger import Ledger
from pipeline.run.events import SpeakerDecided
from pipeline.run.logs import get_logger
from pipeline.run.memory import checkpoint
from pipeline.run.states import FileState, Stage
from pipeline.run.worker import WorkerLink, WorkerResult, WorkerStatus
from pipeline.stages.context import StageContext, check, root_pid, run_heavy
from speakers.calibration import grouping
from speakers.decisions import SpeakerDecision
from speakers.embedding import EmbedderSettings, create_embedder, unit
from speakers.library import SpeakerLibrary, unreadable_clip
from speakers.voice_groups import talk_voice
from speakers.voice_match import (
    CLIP_SECONDS_READ,
    Rules,
    Span,
    decide,
    enrolled_embeddings,
    plan_speech_samples,
    score_sample,
    speech_spans,
)

# --- in the run's process -----------------------------------------------------------------


def identify_stage(ctx: StageContext) -> None:
    sp = ctx.config.speakers
    if ctx.row.speaker_decision == SpeakerDecision.MANUAL and ctx.row.speaker:
        # A talk done again (--full-scan, `talks language`) that a person had put under its
        # speaker: their word stands, as it does when the library changes (reidentify.py).
        ctx.ledger.advance(ctx.row.id, FileState.IDENTIFIED, needs_review=0)
        ctx.on_event(SpeakerDecided(ctx.path.name, SpeakerDecision.MANUAL, ctx.row.speaker, ()))
        return
    people = SpeakerLibrary(sp.folder).people() if sp.identify else []
    if not people:
        # Nobody to compare with: file where the original system did, without loading a model.
        kind = SpeakerDecision.OFF if not sp.identify else SpeakerDecision.UNKNOWN
        ctx.ledger.update(ctx.row.id, speaker_decision=kind, speaker_evidence=None)
        candidates: tuple[tuple[str, float], ...] = ()
    else:
        result = run_heavy(ctx, identify_job, (ctx.row.id, str(ctx.path),
                                               ctx.row.duration or 0.0, ctx.config,
                                               root_pid(ctx.config)), 600.0, Stage.IDENTIFY,
                           library=sp.folder)
        if result.detail:
            get_logger().error("speaker worker error on %s:\n%s", ctx.path, result.detail)
        check(result, Stage.IDENTIFY)
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


# --- in the worker process ----------------------------------------------------------------

MIN_SAMPLE_S = 0.5  # a sample with less audio than this holds no voice to speak of


def one_blas_thread() -> int:
    """Limit every BLAS and OpenMP pool loaded so far to one thread.

    A small model: one thread does the work, a second one mostly spins and doubles the CPU
    time (measured: CAM++ 0.26 → 0.45 s CPU per 10 s of audio, the same wall time). threadpoolctl
    only reaches the libraries already loaded, so numpy (and with it OpenBLAS) is imported
    first, and this runs after the backend's own libraries are in: called before any of
    them, it limited nothing. Returns the most threads any pool now has, for the log."""
    import numpy  # noqa: F401  (loads OpenBLAS, so that the limit reaches it)
    from threadpoolctl import threadpool_info, threadpool_limits

    threadpool_limits(1)
    return max((pool["num_threads"] for pool in threadpool_info()), default=1)


def embedder_settings(config: Config) -> EmbedderSettings:
    sp = config.speakers
    return EmbedderSettings(sp.backend, sp.pyannote_checkpoint,
                            secret(config, "speakers.pyannote_token"), sp.campplus_weights)


def check_embedder(config: Config) -> None:
    """What the speaker worker's model would stop on (weights or packages missing, a
    pyannote checkpoint not set), found without loading it; nothing when not identifying."""
    if config.speakers.identify:
        create_embedder(embedder_settings(config)).check()


def rules_of(config: Config) -> Rules:
    values = decision_values(config.speakers)
    return Rules(values.threshold, values.unknown_below, values.margin,
                 config.speakers.min_agreement)


def keep_main_voice(ledger: Ledger, file_id: int, backend: str, samples: list) -> None:
    """The talk's main voice from its samples (speakers/voice_groups.py), kept. A talk with no
    sample is kept as heard, with no voice (it is never grouped, and not heard again)."""
    import numpy as np

    found = talk_voice(samples, grouping(backend).same)
    vector, used = found if found is not None else (np.zeros(1, dtype=np.float32), 0)
    ledger.save_voice(file_id, backend, vector, used)


def read_clip(path: Path):
    return decode_range(path, 0.0, CLIP_SECONDS_READ)


def talk_speech(ledger: Ledger, file_id: int) -> list[tuple[float, float]]:
    """Where the transcript found speech: its segments, merged."""
    return speech_spans([(seg["start"], seg["end"]) for chunk in ledger.chunks(file_id)
                         for seg in chunk.segments])


def read_sample(path: Path, pieces: list[Span]) -> np.ndarray:
    """A sample's speech pieces, joined. Pieces close together are decoded as one range (one
    ffmpeg run) and cut apart here; far apart ones each get their own."""
    import numpy as np
    if not pieces:
        return np.zeros(0, dtype=np.float32)
    first, last = pieces[0][0], pieces[-1][0] + pieces[-1][1]
    speech = sum(length for _start, length in pieces)
    if last - first > 3 * speech + 5.0:
        return np.concatenate([decode_range(path, a, n) for a, n in pieces])
    audio = decode_range(path, first, last - first)
    return np.concatenate([audio[int((a - first) * SAMPLE_RATE):
                                 int((a - first + n) * SAMPLE_RATE)] for a, n in pieces])


def embed_samples(path: Path, samples: list[list[Span]], embedder) -> tuple[list, float]:
    """Each sample's voice vector, and the seconds of speech they heard. A sample with too
    little audio is left out: the file ended sooner than its header said."""
    voice = []
    heard = 0.0
    for pieces in samples:
        audio = read_sample(path, pieces)
        if len(audio) < MIN_SAMPLE_S * SAMPLE_RATE:
            continue
        heard += len(audio) / SAMPLE_RATE
        voice.append(unit(embedder.embed(audio)))
    return voice, heard


def identify_job(link: WorkerLink, file_id: int, path_str: str, duration: float,
                 config: Config, root_pid: int) -> None:
    sp = config.speakers
    path = Path(path_str)
    link.forward_logs(path.name)  # notes from here are the talk's, in the run's log
    link.send(checkpoint("speaker worker started", root_pid))
    embedder = create_embedder(embedder_settings(config))
    try:
        embedder.load()  # EmbedderUnavailable: this stage's failure, in its words
        threads = one_blas_thread()
        link.send(checkpoint(f"speaker model loaded ({threads} BLAS thread"
                             f"{'s' if threads > 1 else ''})", root_pid))
        with link.ledger(config) as ledger:
            cpu_began = time.process_time()
            unreadable: list[Path] = []
            enrolled, fresh = enrolled_embeddings(SpeakerLibrary(sp.folder).people(),
                                                  embedder, ledger, read_clip, unreadable)
            for clip in unreadable:  # said with each talk, until it is mended
                get_logger().warning(unreadable_clip(clip, sp.folder))
            cpu_clips = time.process_time()
            samples = plan_speech_samples(talk_speech(ledger, file_id), duration,
                                          sp.sample_count, sp.sample_seconds,
                                          sp.sample_offset_s, sp.skip_end_s)
            voice, heard = embed_samples(path, samples, embedder)
            # Kept, so that a change to the library can identify the talk again unheard,
            # and its main voice grouped with others nobody has named.
            ledger.save_talk_voice(file_id, embedder.cache_key, voice)
            keep_main_voice(ledger, file_id, embedder.cache_key, voice)
            per_sample = [score_sample(v, enrolled, sp.scoring) for v in voice]
            # What the samples cost, for the log (and the speaker benchmark).
            link.send(checkpoint(
                f"speaker samples embedded ({heard:.1f} s of speech in "
                f"{time.process_time() - cpu_clips:.2f} s CPU; {fresh} new clip(s) in "
                f"{cpu_clips - cpu_began:.2f} s CPU)", root_pid))
            decision = decide(per_sample, rules_of(config))
            decision = replace(decision, samples=[(p[0][0], p[-1][0] + p[-1][1] - p[0][0])
                                                  for p in samples if p])
            ledger.save_scores(file_id, {n: [s[n] for s in per_sample] for n in enrolled})
            ledger.update(file_id, speaker_decision=decision.kind,
                          speaker_evidence=decision.evidence())
    finally:
        embedder.unload()
        link.send(checkpoint("speaker model unloaded", root_pid))
    link.send(WorkerResult(WorkerStatus.DONE))
