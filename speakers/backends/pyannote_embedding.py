"""The pyannote.audio speaker backend (optional: `pip install 'talks[pyannote]'`).

The model comes from `[speakers] pyannote_checkpoint`: a local checkpoint file, a folder
holding `pytorch_model.bin`, or a Hugging Face model name, which is only tried when
`[speakers] pyannote_token` is set. pyannote.audio 4.x needs torch 2.9 with torchaudio 2.9,
so it lives in an environment of its own; torch and pyannote are imported only in `load()`.

The model is called directly on a (1, 1, samples) tensor rather than through pyannote's
`Inference(model, window="whole")`: our samples are already 16 kHz mono float32, and for a
whole window `Inference` only adds its audio-file layer (validation, resampling, torchcodec)
before making the very same single forward pass. The one thing that layer would catch, a
model trained at another sample rate, is checked once when the model loads.
"""

from __future__ import annotations

import gc
import importlib.util
import os
from pathlib import Path

import numpy as np

from speakers.embedding import (
    SAMPLE_RATE,
    EmbedderSettings,
    EmbedderUnavailable,
    cache_key,
    unit,
)

# What `Model.from_pretrained` looks for inside a checkpoint folder.
CHECKPOINT_FILE_IN_FOLDER = "pytorch_model.bin"

# WeSpeaker's ResNets pool statistics over frames and give NaN below ~0.2 s; shorter samples
# are repeated up to this length, which keeps the voice and adds nothing else.
MIN_SAMPLES = SAMPLE_RATE

_CHECKPOINT_KEY = "[speakers] pyannote_checkpoint"
_TOKEN_KEY = "[speakers] pyannote_token"
_INSTALL = ("pip install 'talks[pyannote]' (it needs torch 2.9.1 with torchaudio 2.9, in an "
            "environment of its own)")


def _looks_like_a_path(checkpoint: str) -> bool:
    """True for text that can only mean a local file, never a hub name (`owner/name`)."""
    return (checkpoint.startswith((".", "~", "/", "\\"))
            or Path(checkpoint).is_absolute()
            or Path(checkpoint).suffix.lower() in {".bin", ".ckpt", ".pt", ".pth"})


class PyannoteEmbedder:
    name = "pyannote"

    def __init__(self, settings: EmbedderSettings):
        self.settings = settings
        self.cache_key = cache_key(settings)
        self._model = None

    @property
    def model(self):
        """The loaded pyannote `Model`, or None before `load()` and after `unload()`."""
        return self._model

    def _source(self) -> tuple[str, str | None]:
        """Where the model comes from: (local path or hub name, token or None).

        Decided before anything heavy is imported, so a configuration mistake is reported
        in one sentence even where pyannote is not installed.
        """
        checkpoint = self.settings.checkpoint.strip()
        token = self.settings.token.strip() or None
        if not checkpoint:
            raise EmbedderUnavailable(
                f"The pyannote speaker backend has no model: set {_CHECKPOINT_KEY} in "
                f"config.toml to a local checkpoint file or folder, or to a Hugging Face model "
                f"name together with {_TOKEN_KEY}.")
        local = Path(checkpoint).expanduser()
        if local.is_dir():
            if not (local / CHECKPOINT_FILE_IN_FOLDER).is_file():
                raise EmbedderUnavailable(
                    f"The pyannote checkpoint folder {str(local)!r} has no "
                    f"{CHECKPOINT_FILE_IN_FOLDER}: point {_CHECKPOINT_KEY} in config.toml at "
                    f"the checkpoint file itself or at a folder that holds one.")
            return str(local), None
        if local.is_file():
            return str(local), None
        if _looks_like_a_path(checkpoint):
            raise EmbedderUnavailable(
                f"The pyannote checkpoint {checkpoint!r} does not exist: set "
                f"{_CHECKPOINT_KEY} in config.toml to an existing checkpoint file or folder.")
        if token is None:
            raise EmbedderUnavailable(
                f"{checkpoint!r} is not a local file, and a Hugging Face model needs a token: "
                f"set {_TOKEN_KEY} in config.toml, or set {_CHECKPOINT_KEY} to a local "
                f"checkpoint file or folder.")
        if not token.startswith("hf_"):
            # pyannote quietly drops such a token (it takes it for a pyannoteAI key), and the
            # download then fails for a gated model with a message that never says why.
            raise EmbedderUnavailable(
                f"{_TOKEN_KEY} in config.toml does not look like a Hugging Face token (those "
                f"start with 'hf_'): copy one from https://hf.co/settings/tokens.")
        return checkpoint, token

    def check(self) -> None:
        self._source()
        try:
            found = importlib.util.find_spec("pyannote.audio") is not None
        except ImportError:  # no pyannote package at all
            found = False
        if not found:
            raise EmbedderUnavailable(
                f"The pyannote speaker backend is not installed (pyannote.audio is missing): "
                f"{_INSTALL}.")

    def load(self) -> None:
        if self._model is not None:
            return
        source, token = self._source()
        # pyannote.audio 4 sends usage telemetry to pyannote.ai unless told not to, and a
        # library of private talks has no business phoning home. It reads this variable at
        # every event, so setting it here works even if pyannote was imported earlier.
        os.environ["PYANNOTE_METRICS_ENABLED"] = "false"
        try:
            import torch
            from pyannote.audio import Model
        except ImportError as exc:
            missing = exc.name or "pyannote.audio"
            raise EmbedderUnavailable(
                f"The pyannote speaker backend is not installed ({missing} is missing): "
                f"{_INSTALL}.") from None
        except (OSError, RuntimeError) as exc:
            # What a torchaudio or torchcodec built for another torch does when it loads
            # its compiled library.
            raise EmbedderUnavailable(
                f"pyannote.audio is installed but does not load ({type(exc).__name__}: "
                f"{str(exc)[:200]}): {_INSTALL}.") from None
        torch.set_num_threads(1)
        model = self._read_model(Model, source, token, torch.device("cpu"))
        rate = int(model.hparams.get("sample_rate", SAMPLE_RATE))
        if rate != SAMPLE_RATE:
            raise EmbedderUnavailable(
                f"The pyannote model in {source!r} expects {rate} Hz audio, but talks hands it "
                f"{SAMPLE_RATE} Hz: set {_CHECKPOINT_KEY} in config.toml to a 16 kHz model.")
        # Lightning hands the model back in training mode, where batch norm would use each
        # sample's own statistics instead of the trained ones.
        model.eval()
        self._model = model

    @staticmethod
    def _read_model(model_class, source: str, token: str | None, cpu):
        if token is None:
            try:
                model = model_class.from_pretrained(source, map_location=cpu)
            except Exception as exc:
                raise EmbedderUnavailable(
                    f"{source!r} is not a pyannote.audio model checkpoint this version can read "
                    f"({type(exc).__name__}: {str(exc)[:200]}): set {_CHECKPOINT_KEY} in "
                    f"config.toml to a checkpoint saved by pyannote.audio 4.") from None
        else:
            try:
                model = model_class.from_pretrained(source, map_location=cpu, token=token)
            except Exception as exc:
                raise EmbedderUnavailable(
                    f"Could not fetch the pyannote model {source!r} from Hugging Face "
                    f"({type(exc).__name__}): check the name and {_TOKEN_KEY}, accept the "
                    f"model's conditions on hf.co, or set {_CHECKPOINT_KEY} in config.toml to "
                    f"a local checkpoint.") from None
        if model is None:  # pyannote's answer to a download it could not make
            raise EmbedderUnavailable(
                f"Could not fetch the pyannote model {source!r} from Hugging Face: check the "
                f"name and {_TOKEN_KEY} in config.toml.")
        return model

    def embed(self, pcm: np.ndarray) -> np.ndarray:
        self.load()
        import torch

        audio = np.asarray(pcm, dtype=np.float32).reshape(-1)
        if audio.size == 0:
            raise ValueError("An empty sample has no voice to embed.")
        if audio.size < MIN_SAMPLES:
            audio = np.resize(audio, MIN_SAMPLES)  # repeats the sample end to end
        waveform = torch.from_numpy(np.ascontiguousarray(audio)).reshape(1, 1, -1)
        with torch.inference_mode():
            vector = self._model(waveform)  # type: ignore[misc]
        return unit(vector.cpu().numpy())

    def unload(self) -> None:
        self._model = None
        gc.collect()
