"""The one small shape every speech engine has."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Segment:
    start: float  # seconds from the start of the recording
    end: float
    text: str


@dataclass(frozen=True)
class EngineSettings:
    model_dir: str      # a real local folder with the weights
    language: str | None  # None: let the model detect it
    threads: int
    compute_type: str
    beam_size: int
    best_of: int = 1


class Engine(Protocol):
    name: str

    def load(self) -> None:
        """Load the model (lazily, once per file at most)."""

    def transcribe(self, pcm: np.ndarray, offset: float) -> list[Segment]:
        """Transcribe 16 kHz mono float32 audio; times are shifted by `offset` seconds.

        Guards against Whisper's known failures live in the engine call: no conditioning on
        earlier text, silence skipped. Repetition loops are dropped by the caller."""

    def unload(self) -> None:
        """Drop the model and whatever caches hold it."""
