"""mlx-whisper: the default engine on Apple silicon (it also runs, slowly, on Linux CPUs).

It reads the same CTranslate2 weights as faster-whisper, converted once into an mlx-whisper
folder in the cache (see ct2_to_mlx), so no model is ever fetched from the hub.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.asr.base import EngineSettings, Segment
from pipeline.asr.ct2_to_mlx import ensure_mlx_model

# Same ladder as openai-whisper and faster-whisper: a window that decodes into a loop or into
# improbable text is decoded again, a little more freely each time.
_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def _metal_available() -> bool:
    import mlx.core as mx

    metal = getattr(mx, "metal", None)
    return bool(metal is not None and metal.is_available())


class MlxEngine:
    name = "mlx"

    def __init__(self, settings: EngineSettings, cache_dir: Path) -> None:
        self.settings = settings
        self.cache_dir = Path(cache_dir)
        self._model: Any = None
        self._folder: Path | None = None
        self._fp16 = False

    def _wants_fp16(self) -> bool:
        # The cached weights are float32. float16 pays off on the Apple GPU; on a CPU it gains
        # nothing and costs accuracy. compute_type values meant for CTranslate2 ("int8",
        # "default", ...) have no MLX meaning, so they leave the choice to the device.
        kind = self.settings.compute_type
        if kind in ("float32", "fp32"):
            return False
        if kind in ("float16", "fp16"):
            return True
        return _metal_available()

    def load(self) -> None:
        if self._model is not None:
            return
        import mlx.core as mx
        from mlx_whisper.load_models import load_model
        from mlx_whisper.transcribe import ModelHolder

        folder = ensure_mlx_model(Path(self.settings.model_dir), self.cache_dir)
        if not (folder / "config.json").is_file():
            # load_model sends any path it cannot find to the Hugging Face hub.
            raise FileNotFoundError(f"converted mlx model missing at {folder}")
        self._fp16 = self._wants_fp16()
        dtype = mx.float16 if self._fp16 else mx.float32
        # dtype here only sets the sinusoids and the causal mask; the weights keep the file's
        # float32 until set_dtype, and the two must agree or decoding fails on a dtype check.
        model = load_model(str(folder), dtype=dtype)
        if self._fp16:
            model.set_dtype(mx.float16)
            mx.eval(model.parameters())
        self._model, self._folder = model, folder
        # mlx_whisper.transcribe takes a path, not a model, and loads through this class-level
        # cache keyed by the path string; priming it makes it use our model instead of loading
        # (and, with fp16 off, possibly re-loading in another dtype) a second copy.
        ModelHolder.model = model
        ModelHolder.model_path = str(folder)

    def transcribe(self, pcm: np.ndarray, offset: float) -> list[Segment]:
        self.load()
        assert self._folder is not None
        import mlx_whisper
        from mlx_whisper.transcribe import ModelHolder

        audio = np.ascontiguousarray(pcm, dtype=np.float32).reshape(-1)
        if audio.size == 0:
            return []
        if ModelHolder.model is not self._model:  # another engine in this process took it
            ModelHolder.model, ModelHolder.model_path = self._model, str(self._folder)
        result = mlx_whisper.transcribe(
            audio,
            path_or_hf_repo=str(self._folder),
            verbose=None,  # no printing and no progress bar
            fp16=self._fp16,
            language=self.settings.language,
            temperature=_TEMPERATURES,
            # Conditioning on earlier text is what lets one hallucination feed the next.
            condition_on_previous_text=False,
            # No VAD here: a window is skipped when the model itself says "no speech" and its
            # text is improbable (openai-whisper's rule), which is what keeps silence quiet.
            no_speech_threshold=0.6,
            logprob_threshold=-1.0,
            compression_ratio_threshold=2.4,
            best_of=self.settings.best_of,
            # beam_size is not passed: mlx-whisper 0.4 raises NotImplementedError for beam
            # search, so decoding is greedy whatever the settings say.
        )
        segments: list[Segment] = []
        for seg in result.get("segments", []):
            text = str(seg.get("text", "")).strip()
            if text:
                segments.append(Segment(offset + float(seg["start"]),
                                        offset + float(seg["end"]), text))
        return segments

    def unload(self) -> None:
        if self._model is None:
            return
        import mlx.core as mx
        from mlx_whisper.transcribe import ModelHolder

        if ModelHolder.model is self._model:
            ModelHolder.model = None
            ModelHolder.model_path = None
        self._model = None
        gc.collect()
        # MLX keeps freed buffers in its own cache; hand them back to the system.
        clear = getattr(mx, "clear_cache", None)
        if clear is None:
            clear = getattr(getattr(mx, "metal", None), "clear_cache", None)
        if clear is not None:
            clear()
