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
from pipeline.asr.alignment import token_path
from pipeline.asr.base import EngineSettings
from pipeline.asr.ct2_to_mlx import ensure_mlx_model
from pipeline.asr.windows import (
    TEMPERATURE_LADDER,
    Attempt,
    Strategy,
    WindowedEngine,
    stream_features,
)
from pipeline.asr.word_times import Word, words_from_path

MLX_CACHE_LIMIT_MB = 64
ENCODER_BATCH = 2  # windows through the encoder at once (see _MlxWindows.encode)

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


def alignment_heads(model: Any) -> list[tuple[int, int]]:
    """The (decoder layer, head) pairs whose cross-attention follows the audio: the model's
    own, which ct2_to_mlx carries over from CTranslate2's config.json; else, as Whisper
    guesses for a model that names none, every head of the last half of the layers."""
    layers, heads = model.dims.n_text_layer, model.dims.n_text_head
    pairs = [(int(layer), int(head)) for layer, head in np.array(model.alignment_heads).tolist()]
    if pairs and all(0 <= layer < layers and 0 <= head < heads for layer, head in pairs):
        return pairs
    return [(layer, head) for layer in range(layers // 2, layers) for head in range(heads)]


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
        self.sot_sequence = tuple(self.tokenizer.sot_sequence)
        # Without timestamps: mlx-whisper's usual suppressions (-1) and every timestamp.
        self._text_only = [-1, *range(self.timestamp_begin, model.dims.n_vocab)]
        self.alignment_heads = alignment_heads(model)

    def features(self, audio: np.ndarray) -> np.ndarray:
        # Computed with numpy, a block of frames at a time, rather than with mlx-whisper's
        # log_mel_spectrogram: the same Whisper frames without its whole-input transients.
        return stream_features(audio, self.mel_filters)

    def encode(self, mels: Sequence[np.ndarray]) -> list[Any]:
        import mlx.core as mx
        from mlx_whisper.audio import N_FRAMES, pad_or_trim

        # Each window's frames, padded with zeros up to 30 s as mlx-whisper's transcribe
        # gives its decoder the last, short window. ENCODER_BATCH windows at a time: the
        # encoder's attention over 1500 positions is the largest thing it holds (~54 MB a
        # layer a window for tiny.en in float32), and windows at pauses come four to a
        # batch; two at a time is what the cursor loop's batch of two held before.
        out: list[Any] = []
        for first in range(0, len(mels), ENCODER_BATCH):
            batch = mx.stack([pad_or_trim(mx.array(np.ascontiguousarray(mel)), N_FRAMES,
                                          axis=-2)
                              for mel in mels[first:first + ENCODER_BATCH]]).astype(self.dtype)
            features = self.model.encoder(batch)
            mx.eval(features)
            out += [features[i] for i in range(features.shape[0])]
            del batch
        return out

    def decode(self, encoded: Sequence[Any], strategy: Strategy, seed: int,
               timestamps: bool = True) -> list[Attempt]:
        """Decode encoded windows; without `timestamps`, after <|notimestamps|>, the text
        alone (word times then come from `word_times`)."""
        import mlx.core as mx
        from mlx_whisper.decoding import DecodingOptions, decode

        sampling = strategy.temperature > 0
        if sampling:
            SAMPLER.reseed(seed)
        options = DecodingOptions(
            task="transcribe", language=self.language, temperature=strategy.temperature,
            best_of=self.best_of if sampling and self.best_of > 1 else None,
            without_timestamps=not timestamps, fp16=self.fp16,
            # mlx-whisper leaves timestamp tokens allowed after <|notimestamps|> (rare but
            # possible): forbidden here, so the tokens are text alone, as the caller reads them.
            **({} if timestamps else {"suppress_tokens": self._text_only}))
        # Given encoded windows, mlx-whisper's decoder skips its encoder. beam_size is not
        # passed: mlx-whisper 0.4 has no beam search (it raises).
        results = decode(self.model, mx.stack(list(encoded)), options)
        return [Attempt(tuple(r.tokens), r.text, r.avg_logprob, r.no_speech_prob, strategy)
                for r in results]

    def word_times(self, encoded: Any, tokens: Sequence[int], frames: int) -> list[Word]:
        """The words of one window's text tokens (decoded without timestamps) with their
        times in the window's audio, from the alignment heads' cross-attention while the
        decoder reads the text once more (pipeline/asr/alignment.py). `encoded` is the
        window's encoder output, `frames` how many of its log-mel frames are real audio."""
        import mlx.core as mx

        text = [int(t) for t in tokens]
        positions = min(frames // 2, int(encoded.shape[0]))
        if not text or positions < 1:
            return []
        sequence = [*self.sot_sequence, self.tokenizer.no_timestamps, *text, self.eot]
        if len(sequence) > self.model.dims.n_text_ctx:
            raise ValueError(f"{len(text)} tokens are more than the decoder reads at once")
        # The decoder alone, on the encoder output the window already has (the model's
        # forward_with_cross_qk would run the encoder again). mlx computes lazily: only the
        # alignment heads' scores are asked for, so the logits over the vocabulary (~20 MB
        # for 100 tokens) and whatever follows the last alignment head are never computed.
        _logits, _cache, cross_qk = self.model.decoder(mx.array([sequence]), encoded[None])
        scores = mx.stack([cross_qk[layer][0, head, :, :positions]
                           for layer, head in self.alignment_heads]).astype(mx.float32)
        scores = np.array(scores)
        del _logits, _cache, cross_qk
        path = token_path(scores, len(self.sot_sequence))
        return words_from_path(self.tokenizer, text, path)

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
