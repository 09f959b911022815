"""The speaker library as the faces show and check it: its people and clips, and the clips
embedded by the configured model for `talks speakers check`. A face that touches the
configured library opens it with `open_library`, which refuses a library people were enrolled
from that is missing now (LibraryMissing); `SpeakerLibrary` itself is for a folder being
chosen (setup).

The embedding side (the speaker stage's settings, the model, the matching) is imported when
it is used, so the faces that only list people stay quick to start."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.config.settings import Config
from pipeline.config.speaker_folder import LibraryMissing, open_library
from speakers.library import (
    MIN_SPEECH_S,
    LibraryError,
    Person,
    SpeakerLibrary,
    clip_seconds,
    unreadable_clip,
)

if TYPE_CHECKING:  # numpy only where vectors are made: the app never loads it for a list
    import numpy as np

_ON_DEMAND = {"EmbedderUnavailable": "speakers.embedding",
              "leave_one_out": "speakers.voice_match"}


def __getattr__(name: str) -> Any:
    if name in _ON_DEMAND:
        return getattr(importlib.import_module(_ON_DEMAND[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "MIN_SPEECH_S", "LibraryError", "LibraryMissing", "Person", "SpeakerLibrary",
    "clip_seconds", "embed_library", "embedding_key", "open_library", "unreadable_clip",
]


def embedding_key(config: Config) -> str:
    """Which model's vectors the ledger keeps for the clips (backend and its settings)."""
    from pipeline.stages.identify import embedder_settings
    from speakers.embedding import cache_key

    return cache_key(embedder_settings(config))


def embed_library(config: Config, people: list[Person],
                  unreadable: list[Path]) -> tuple[dict[str, list[np.ndarray]], int]:
    """Every person's clips as vectors (from the ledger's cache where it has them), and how
    many were newly embedded; clips that cannot be read are added to `unreadable`. The model
    is loaded for this and unloaded after. Raises EmbedderUnavailable."""
    from pipeline.ledger import Ledger
    from pipeline.stages.identify import embedder_settings, read_clip
    from speakers.embedding import create_embedder
    from speakers.voice_match import enrolled_embeddings

    embedder = create_embedder(embedder_settings(config))
    try:
        embedder.load()
        with Ledger(config.output.ledger_path) as ledger:
            return enrolled_embeddings(people, embedder, ledger, read_clip, unreadable)
    finally:
        embedder.unload()
