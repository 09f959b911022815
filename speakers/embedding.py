"""Speaker embedding backends behind one small Protocol, chosen by name from the config.

- `resemblyzer` (default): GE2E, 256-d; its weights ship inside the wheel, so it works
  offline. Run in numpy (speakers/ge2e.py): neither resemblyzer nor torch is imported.
- `pyannote`: pyannote.audio's embedding models, from a local checkpoint (file or folder) or
  a Hugging Face model name with a token. Optional: `pip install 'talks[pyannote]'`.

Every backend returns unit-length float32 vectors, so a dot product is the cosine score.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Protocol

import numpy as np

SAMPLE_RATE = 16_000


class EmbedderUnavailable(Exception):
    """The sentence says what to install or configure."""


@dataclass(frozen=True)
class EmbedderSettings:
    backend: str
    checkpoint: str = ""  # pyannote: a local checkpoint path or a hub model name
    token: str = ""       # pyannote: a Hugging Face token, for a hub model name


class Embedder(Protocol):
    name: str

    def load(self) -> None: ...

    def embed(self, pcm: np.ndarray) -> np.ndarray:
        """One unit vector for 16 kHz mono float32 speech."""

    def unload(self) -> None: ...


def unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


class ResemblyzerEmbedder:
    name = "resemblyzer"

    def __init__(self, settings: EmbedderSettings):
        self.settings = settings
        self._encoder = None

    def load(self) -> None:
        if self._encoder is not None:
            return
        try:
            import webrtcvad  # noqa: F401 - checked here so the sentence below can name it

            from speakers.ge2e import GE2E, weights_path

            weights_path()
        except ImportError as exc:
            raise EmbedderUnavailable(
                f"The resemblyzer speaker backend is not installed ({exc.name} is missing): "
                "run `make run` again, or pip install webrtcvad-wheels && pip install --no-deps "
                "resemblyzer.") from None
        # resemblyzer's weights and network, without importing resemblyzer or torch: librosa
        # (numba, llvmlite) and torch cost ~380 MB in this worker (see speakers/ge2e.py).
        self._encoder = GE2E()

    def embed(self, pcm: np.ndarray) -> np.ndarray:
        self.load()
        from speakers.ge2e import prepare

        audio = np.asarray(pcm, dtype=np.float32)
        # Loudness raised and long silences cut, as resemblyzer's preprocess_wav does; a
        # sample that is all silence comes back empty, and then the raw audio is the best we
        # have.
        prepared = prepare(audio)
        if len(prepared) < SAMPLE_RATE // 2:
            prepared = audio
        return unit(self._encoder.embed_prepared(prepared))  # type: ignore[union-attr]

    def unload(self) -> None:
        self._encoder = None
        gc.collect()


# name -> "module:Class"; imported only when chosen. Adding a backend is adding a line.
REGISTRY = {
    "resemblyzer": "speakers.embedding:ResemblyzerEmbedder",
    "pyannote": "speakers.pyannote_embedding:PyannoteEmbedder",
}


def create_embedder(settings: EmbedderSettings) -> Embedder:
    import importlib

    if settings.backend not in REGISTRY:
        raise EmbedderUnavailable(f"Unknown speaker backend {settings.backend!r}: use one of "
                                  f"{', '.join(REGISTRY)}.")
    module_name, class_name = REGISTRY[settings.backend].split(":")
    module = importlib.import_module(module_name)
    return getattr(module, class_name)(settings)
