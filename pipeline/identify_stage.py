"""The speaker stage, as it runs inside a worker process of its own.

In its own short-lived process the embedding model (~85 MB with the default numpy GE2E; a
pyannote model brings torch, ~200 MB more) never adds to the Whisper engine's memory and is
gone when the talk is identified.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pipeline.config import Config
from pipeline.ledger import Ledger
from pipeline.media import MediaError, decode_range
from pipeline.memory import checkpoint
from pipeline.worker import StageFailure, WorkerLink, WorkerResult
from speakers.embedding import EmbedderSettings, EmbedderUnavailable, create_embedder
from speakers.identify import (
    CLIP_SECONDS_READ,
    Rules,
    decide,
    enrolled_embeddings,
    plan_samples,
    score_sample,
)
from speakers.library import SpeakerLibrary


def embedder_settings(config: Config) -> EmbedderSettings:
    sp = config.speakers
    return EmbedderSettings(sp.backend, sp.pyannote_checkpoint, sp.pyannote_token)


def rules_of(config: Config) -> Rules:
    sp = config.speakers
    return Rules(sp.threshold, sp.unknown_below, sp.margin, sp.min_agreement)


def read_clip(path: Path):
    return decode_range(path, 0.0, CLIP_SECONDS_READ)


def identify_job(link: WorkerLink, file_id: int, path_str: str, duration: float,
                 config: Config, root_pid: int) -> None:
    sp = config.speakers
    path = Path(path_str)
    link.send(checkpoint("speaker worker started", root_pid))
    embedder = create_embedder(embedder_settings(config))
    try:
        try:
            embedder.load()
        except EmbedderUnavailable as exc:
            raise StageFailure("identify", str(exc)) from None
        link.send(checkpoint("speaker model loaded", root_pid))
        with Ledger(config.output.ledger_path) as ledger:
            try:
                enrolled, _fresh = enrolled_embeddings(SpeakerLibrary(sp.folder).people(),
                                                       embedder, ledger, read_clip)
                samples = plan_samples(duration, sp.sample_count, sp.sample_seconds,
                                       sp.sample_offset_s, sp.skip_end_s)
                per_sample = [score_sample(embedder.embed(decode_range(path, start, length)),
                                           enrolled, sp.scoring)
                              for start, length in samples]
            except MediaError as exc:
                raise StageFailure("identify", str(exc)) from None
            decision = decide(per_sample, rules_of(config))
            decision = replace(decision, samples=samples)
            ledger.save_scores(file_id, {n: [s[n] for s in per_sample] for n in enrolled})
            ledger.update(file_id, speaker_decision=decision.kind,
                          speaker_evidence=decision.evidence())
    finally:
        embedder.unload()
        link.send(checkpoint("speaker model unloaded", root_pid))
    link.send(WorkerResult("done"))
