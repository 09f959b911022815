"""The one small shape every speech engine has."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # numpy is imported where it is used: the batch and the app never
    import numpy as np  # load it (~15 MB), only the workers that do the audio work

from common.media import SAMPLE_RATE  # noqa: F401 - the engines' rate is the decoder's


@dataclass(frozen=True)
class Segment:
    start: float  # seconds from the start of the recording
    end: float
    text: str


@dataclass(frozen=True)
class EngineSettings:
    model_dir: str      # a real local folder with the weights
    language: str  # Whisper's code of the talk's language (an English-only model: "en")
    threads: int
    compute_type: str
    beam_size: int
    best_of: int = 1
    batch_size: int = 1  # windows decoded side by side
    streams: int = 1  # faster-whisper: streams heard at once, on threads of their own
    # How a chunk's speech is cut into windows: "cursor", each window from where the last
    # one's text ended (pipeline/asr/windows.py), or "pauses", independent windows ending at
    # pauses, decoded in batches without timestamps (pipeline/asr/pause_windows.py).
    windows: str = "cursor"


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

    def trim(self) -> None:
        """Give back what the engine keeps between chunks (mlx: its buffer cache)."""

    def device_memory(self) -> dict[str, float] | None:
        """The engine's own memory counters in MB, where it keeps any (mlx: its arrays in
        unified memory, which RSS may not show), else None."""
