"""The speaker library as the faces show and check it: its people and clips, and the clips
embedded by the configured model for `talks speakers check`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.config.settings import Config
from pipeline.ledger import Ledger
from pipeline.stages.identify import embedder_settings, read_clip
from speakers.embedding import EmbedderUnavailable, cache_key, create_embedder
from speakers.library import (
    MIN_SPEECH_S,
    LibraryError,
    Person,
    SpeakerLibrary,
    clip_seconds,
    unreadable_clip,
)
from speakers.voice_match import enrolled_embeddings, leave_one_out

if TYPE_CHECKING:  # numpy only where vectors are made: the app never loads it for a list
    import numpy as np

__all__ = [
    "MIN_SPEECH_S", "EmbedderUnavailable", "LibraryError", "Person", "SpeakerLibrary",
    "clip_seconds", "embed_library", "embedding_key", "leave_one_out", "unreadable_clip",
]


def embedding_key(config: Config) -> str:
    """Which model's vectors the ledger keeps for the clips (backend and its settings)."""
    return cache_key(embedder_settings(config))


def embed_library(config: Config, people: list[Person],
                  unreadable: list[Path]) -> tuple[dict[str, list[np.ndarray]], int]:
    """Every person's clips as vectors (from the ledger's cache where it has them), and how
    many were newly embedded; clips that cannot be read are added to `unreadable`. The model
    is loaded for this and unloaded after. Raises EmbedderUnavailable."""
    embedder = create_embedder(embedder_settings(config))
    try:
        embedder.load()
        with Ledger(config.output.ledger_path) as ledger:
            return enrolled_embeddings(people, embedder, ledger, read_clip, unreadable)
    finally:
        embedder.unload()
