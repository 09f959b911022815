"""mlx-whisper: the default engine on Apple silicon (it also runs, slowly, on Linux CPUs).

It reads the same CTranslate2 weights as faster-whisper, converted once into an mlx-whisper
folder in the cache (see ct2_to_mlx), so no model is ever fetched from the hub. The model and
its one-window decoder come from mlx-whisper; the loop over a chunk is ours
(pipeline/asr/windows.py, shared with faster-whisper), with the same VAD in front.

mlx-whisper 0.4.3's timestamp rule compares the positions of earlier timestamps instead of
their values, so nothing stops a timestamp from going backwards (seen: a cue from 201.96 s to
190.96 s). The worker puts a rule in its place that forbids it, as Whisper's own does.
"""

from __future__ import annotations

import gc
import importlib.util
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from common.supported import require
from pipeline.asr.base import EngineSettings
from pipeline.asr.ct2_to_mlx import ensure_mlx_model
from pipeline.asr.windows import (
    TEMPERATURE_LADDER,
    Attempt,
    Strategy,
    WindowedEngine,
    stream_features,
)

MLX_CACHE_LIMIT_MB = 64

# Before mlx-whisper's package is stood in for and its decoder patched (below): a version
# outside the tested range stops with one sentence naming it.
require("mlx-whisper")


def import_mlx_whisper_parts_only() -> None:
    """Make `import mlx_whisper.<part>` skip the package's __init__, which imports its own
    transcribe() and with it numba and scipy: ~130 MB resident in every worker, for code our
    loop replaces (measured: the parts we use cost 46 MB, the whole package 175 MB)."""
    if "mlx_whisper" in sys.modules:
        return
    spec = importlib.util.find_spec("mlx_whisper")
    if spec is None or not spec.submodule_search_locations:
        return
    package = types.ModuleType("mlx_whisper", "mlx-whisper's parts, without its __init__")
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    package.__file__ = spec.origin
    sys.modules["mlx_whisper"] = package


def _mx(name: str) -> Any:
    """An mlx memory function: top level in mlx 0.24 and later, under mx.metal before."""
    import mlx.core as mx

    found = getattr(mx, name, None) or getattr(getattr(mx, "metal", None), name, None)
    if found is None:
        raise AttributeError(f"mlx has no {name}")
    return found


def _metal_available() -> bool:
    import mlx.core as mx

    metal = getattr(mx, "metal", None)
    return bool(metal is not None and metal.is_available())


def _timestamp_rules_class() -> type:
    """Whisper's timestamp rules for mlx-whisper's decoder, with timestamps that never go
    back: after the first, each timestamp is at least the last one (equal only when it opens
    the next piece right where the last one closed)."""
    import mlx.core as mx
    from mlx_whisper.decoding import LogitFilter

    class MonotonicTimestampRules(LogitFilter):
        def __init__(self, tokenizer: Any, sample_begin: int,
                     max_initial_timestamp_index: int | None):
            self.begin = tokenizer.timestamp_begin
            self.eot = tokenizer.eot
            self.no_timestamps = tokenizer.no_timestamps
            self.sample_begin = sample_begin
            self.max_initial = max_initial_timestamp_index

        def apply(self, logits: Any, tokens: Any) -> Any:
            mask = np.zeros(logits.shape, np.float32)
            if self.no_timestamps is not None:
                mask[:, self.no_timestamps] = -np.inf
            for k, row in enumerate(tokens.tolist()):
                sampled = row[self.sample_begin:]
                times = [t for t in sampled if t >= self.begin]
                last_is_time = bool(sampled) and sampled[-1] >= self.begin
                pair_done = len(sampled) < 2 or sampled[-2] >= self.begin
                if last_is_time:
                    if pair_done:  # text must follow a pair of timestamps
                        mask[k, self.begin:] = -np.inf
                    else:  # a piece of text just closed: a timestamp or the end follows
                        mask[k, :self.eot] = -np.inf
                if times:
                    floor = times[-1] if last_is_time and not pair_done else times[-1] + 1
                    mask[k, self.begin:floor] = -np.inf
                if not sampled:  # the output opens with a timestamp, not too late
                    mask[k, :self.begin] = -np.inf
                    if self.max_initial is not None:
                        mask[k, self.begin + self.max_initial + 1:] = -np.inf
            masked = logits + mx.array(mask)
            # When the timestamps still allowed are likelier together than any single text
            # token, a timestamp comes next.
            logprobs = masked - mx.logsumexp(masked, axis=-1, keepdims=True)
            time_mass = logprobs[:, self.begin:].logsumexp(axis=-1, keepdims=True)
            best_text = logprobs[:, :self.begin].max(axis=-1, keepdims=True)
            text_part = mx.where(time_mass > best_text, -mx.inf, masked[:, :self.begin])
            return mx.concatenate([text_part, masked[:, self.begin:]], axis=-1)

    return MonotonicTimestampRules


class SeededSampler:
    """Draws each sampled token with a fresh key split from one seeded per decoding.

    mlx-whisper samples through a compiled function that never takes the random state as
    an input, so the key is fixed when it is first traced: every later draw, in every
    window, uses the same noise, and a process that traced it at another moment samples
    differently. This draws from `key`, which the engine sets from the window's seed."""

    def __init__(self) -> None:
        self.key: Any = None

    def reseed(self, seed: int) -> None:
        import mlx.core as mx

        self.key = mx.random.key(seed)

    def __call__(self, logits: Any, temperature: float) -> Any:
        import mlx.core as mx

        if self.key is None:
            self.reseed(0)
        pair = mx.random.split(self.key)
        self.key = pair[0]
        return mx.random.categorical(logits / temperature, key=pair[1])


SAMPLER = SeededSampler()


def install_decoding_fixes() -> None:
    """The monotonic timestamp rule and the seeded sampler, in mlx-whisper's decoder (it
    looks both up in its module at each use); done once, in the worker process only."""
    import mlx_whisper.decoding as decoding

    if not getattr(decoding.ApplyTimestampRules, "talks_monotonic", False):
        rules = _timestamp_rules_class()
        rules.talks_monotonic = True  # type: ignore[attr-defined]
        decoding.ApplyTimestampRules = rules
    decoding.categorical = SAMPLER


class _MlxWindows:
    """Windows through mlx-whisper's decoder: a batch of log-mel windows at once."""

    def __init__(self, model: Any, settings: EngineSettings, fp16: bool):
        import mlx.core as mx
        from mlx_whisper.audio import mel_filters
        from mlx_whisper.tokenizer import get_tokenizer

        self.model = model
        # Every window in the talk's language, named once before its chunks: told it, the
        # decoder never detects a window's own (mlx-whisper does when given None). An
        # English-only model has no language tokens: English is all it knows.
        self.language = settings.language if model.is_multilingual else "en"
        if not self.language:
            raise ValueError("a multilingual model needs the talk's language")
        self.best_of = settings.best_of
        self.fp16 = fp16
        self.dtype = mx.float16 if fp16 else mx.float32
        self.tokenizer = get_tokenizer(model.is_multilingual, num_languages=model.num_languages,
                                       language=self.language, task="transcribe")
        self.timestamp_begin = self.tokenizer.timestamp_begin
        self.eot = self.tokenizer.eot
        # mlx-whisper has no beam search: the fallback is Whisper's own, sampling at rising
        # temperatures, from a generator seeded per window so that a rerun samples the same.
        self.ladder = TEMPERATURE_LADDER
        self.mel_filters = np.array(mel_filters(model.dims.n_mels), dtype=np.float32)

    def features(self, audio: np.ndarray) -> np.ndarray:
        # Computed with numpy, a block of frames at a time, rather than with mlx-whisper's
        # log_mel_spectrogram: the same Whisper frames without its whole-input transients.
        return stream_features(audio, self.mel_filters)

    def encode(self, mels: Sequence[np.ndarray]) -> list[Any]:
        import mlx.core as mx
        from mlx_whisper.audio import N_FRAMES, pad_or_trim

        # Each window's frames, padded with zeros up to 30 s as mlx-whisper's transcribe
        # gives its decoder the last, short window.
        batch = mx.stack([pad_or_trim(mx.array(np.ascontiguousarray(mel)), N_FRAMES, axis=-2)
                          for mel in mels]).astype(self.dtype)
        features = self.model.encoder(batch)
        mx.eval(features)
        return [features[i] for i in range(len(mels))]

    def decode(self, encoded: Sequence[Any], strategy: Strategy, seed: int) -> list[Attempt]:
        import mlx.core as mx
        from mlx_whisper.decoding import DecodingOptions, decode

        sampling = strategy.temperature > 0
        if sampling:
            SAMPLER.reseed(seed)
        options = DecodingOptions(
            task="transcribe", language=self.language, temperature=strategy.temperature,
            best_of=self.best_of if sampling and self.best_of > 1 else None,
            without_timestamps=False, fp16=self.fp16)
        # Given encoded windows, mlx-whisper's decoder skips its encoder. beam_size is not
        # passed: mlx-whisper 0.4 has no beam search (it raises).
        results = decode(self.model, mx.stack(list(encoded)), options)
        return [Attempt(tuple(r.tokens), r.text, r.avg_logprob, r.no_speech_prob, strategy)
                for r in results]

    def text_of(self, tokens: Sequence[int]) -> str:
        return self.tokenizer.decode([t for t in tokens if t < self.eot])


class MlxEngine(WindowedEngine):
    name = "mlx"

    def __init__(self, settings: EngineSettings, cache_dir: Path) -> None:
        self.settings = settings
        self.cache_dir = Path(cache_dir)
        self._model: Any = None
        self._windows: _MlxWindows | None = None
        self._fp16 = False
        # One stream group at a time: mlx runs its arrays on one device queue, and its
        # graphs are not built from several threads at once.
        self.parallel = 1

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

        import_mlx_whisper_parts_only()
        from mlx_whisper.load_models import load_model

        self._fp16 = self._wants_fp16()
        # Weights are converted once per precision: on the Apple GPU float16 weights, half
        # the memory, read straight from disk (not float32 loaded and then halved).
        folder = ensure_mlx_model(Path(self.settings.model_dir), self.cache_dir,
                                  float16=self._fp16)
        if not (folder / "config.json").is_file():
            # load_model sends any path it cannot find to the Hugging Face hub.
            raise FileNotFoundError(f"converted mlx model missing at {folder}")
        dtype = mx.float16 if self._fp16 else mx.float32
        # dtype sets the sinusoids and the causal mask; it must agree with the weights' or
        # decoding fails on a dtype check.
        model = load_model(str(folder), dtype=dtype)
        mx.eval(model.parameters())
        install_decoding_fixes()
        # Freed buffers are kept for reuse up to this much, and given back after each chunk
        # (trim): without a bound the cache grows with the largest window ever decoded.
        _mx("set_cache_limit")(MLX_CACHE_LIMIT_MB * 1024 * 1024)
        self._model = model
        self._windows = _MlxWindows(model, self.settings, self._fp16)

    def unload(self) -> None:
        if self._model is None:
            return
        self._model = None
        self._windows = None
        gc.collect()
        self.trim()

    def trim(self) -> None:
        """MLX keeps freed buffers in its own cache for reuse; hand them back."""
        _mx("clear_cache")()

    def device_memory(self) -> dict[str, float] | None:
        mb = 1024 * 1024
        return {"mlx active": _mx("get_active_memory")() / mb,
                "mlx peak": _mx("get_peak_memory")() / mb,
                "mlx cache": _mx("get_cache_memory")() / mb}
