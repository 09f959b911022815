"""faster-whisper (CTranslate2): the default engine off Apple silicon.

The model, its tokenizer and its feature extractor come from faster-whisper; the decoding
loop is ours (pipeline/asr/windows.py, shared with the mlx engine): the speech of a chunk in
windows of up to 30 s, each decoded on its own, greedily first, with a seeded fallback.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from common.supported import require
from pipeline.asr.base import EngineSettings
from pipeline.asr.models import not_downloaded
from pipeline.asr.windows import (
    Attempt,
    Strategy,
    WindowedEngine,
    stream_features,
)
from pipeline.asr.word_times import Word, words_from_path
from pipeline.run.memory import return_freed_memory

# WhisperModel's parts (its CTranslate2 model, tokenizer, prompt) are used one by one here.
require("faster-whisper")

MAX_INITIAL_TIMESTAMP_S = 1.0


def ladder_for(beam_size: int) -> tuple[Strategy, ...]:
    """The configured decoding, then deterministic fallbacks. Whisper's own fallback samples
    at rising temperatures, but CTranslate2 draws from a generator per worker thread that is
    seeded once, at its first use (`set_random_seed` cannot reset it between calls), so a
    sampled window would come out differently depending on what came before it. Beam search
    finds likelier text where greedy decoding wandered off; forbidding repeats breaks the
    loops both can fall into."""
    wide = max(5, beam_size)
    return (Strategy(beam_size=beam_size), Strategy(beam_size=wide),
            Strategy(beam_size=wide, no_repeat_ngram=4, repetition_penalty=1.2))


def _one_array(windows: Sequence[np.ndarray]) -> np.ndarray:
    """The windows' encoder outputs as one contiguous batch for the decoder. Windows that
    are consecutive rows of one array (a batch from `encode`, or one window of it for a
    fallback) are handed over as those rows, without a copy (2.3 MB a window for tiny.en,
    held while the decoder runs); others are stacked."""
    base = windows[0].base
    if base is not None and base.flags.c_contiguous and all(w.base is base for w in windows):
        rows = [(w.ctypes.data - base.ctypes.data) // w.nbytes for w in windows]
        if rows == list(range(rows[0], rows[0] + len(rows))):
            return base[rows[0]:rows[0] + len(rows)]
    return np.stack(windows)


class _Ct2Windows:
    """Windows through CTranslate2's Whisper: encoder and decoder over a batch at once."""

    def __init__(self, model, settings: EngineSettings):
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self.model = model
        self.settings = settings
        multilingual = model.model.is_multilingual
        # Every window is heard in the talk's language, named once before its chunks
        # (pipeline/asr/language.py): no window detects its own, so a chunk never switches
        # language halfway. An English-only model knows English alone.
        language = settings.language if multilingual else "en"
        if not language:
            raise ValueError("a multilingual model needs the talk's language")
        self.tokenizer = Tokenizer(model.hf_tokenizer, multilingual, task="transcribe",
                                   language=language)
        self.timestamp_begin = self.tokenizer.timestamp_begin
        self.eot = self.tokenizer.eot
        self.suppress = list(get_suppressed_tokens(self.tokenizer, (-1,)))
        self.ladder = ladder_for(settings.beam_size)
        # One window in the encoder at a time, whatever the streams beside it do: its
        # attention over 1500 positions is the largest block a worker holds (~55 MB for
        # tiny.en), and two at once raised a worker's peak by ~50 MB. The encoder is a small
        # share of the time; decoding, where the streams gain, goes on beside it.
        self._encode_lock = threading.Lock()

    def _prompts(self, count: int, timestamps: bool = True) -> list[list[int]]:
        prompt = self.model.get_prompt(self.tokenizer, [], without_timestamps=not timestamps)
        return [list(prompt) for _ in range(count)]

    def features(self, audio: np.ndarray) -> np.ndarray:
        return stream_features(audio, self.model.feature_extractor.mel_filters)

    def encode(self, mels: Sequence[np.ndarray]) -> list[np.ndarray]:
        from faster_whisper.audio import pad_or_trim

        # What the decoder freed goes back first: its cached keys and values (~18 MB a
        # window for tiny.en) lie among small blocks the heap keeps, and the encoder's
        # attention, mapped on top of them, made the two peaks add up (a worker's peak
        # 241 -> 224 MB on the 10-min benchmark talks with this, batch_size 1).
        # Then one window at a time through the encoder: its attention over 1500 positions
        # (~100 MB at its height for tiny.en) is the largest thing a worker holds, and a
        # batch raised the peak by that much a window; the decoder, where a batch gains,
        # takes them together. The outputs are rows of one array, each window a view of it
        # (kept, so a fallback can decode one window again); see _one_array.
        return_freed_memory()
        batch: np.ndarray | None = None
        for i, mel in enumerate(mels):
            features = pad_or_trim(np.ascontiguousarray(mel.T))[None]
            with self._encode_lock:
                output = np.asarray(self.model.encode(features))[0]
            del features
            if batch is None:
                batch = np.empty((len(mels), *output.shape), dtype=np.float32)
            batch[i] = output
            del output
        return list(batch) if batch is not None else []

    def decode(self, encoded: Sequence[np.ndarray], strategy: Strategy, seed: int,
               timestamps: bool = True) -> list[Attempt]:
        import ctranslate2

        encoder_output = ctranslate2.StorageView.from_array(_one_array(encoded))
        how: dict = {"beam_size": strategy.beam_size,
                     "no_repeat_ngram_size": strategy.no_repeat_ngram,
                     "repetition_penalty": strategy.repetition_penalty}
        if strategy.temperature > 0:  # not on this engine's ladder: it cannot be repeated
            how.update(beam_size=1, num_hypotheses=self.settings.best_of, sampling_topk=0,
                       sampling_temperature=strategy.temperature)
        results = self.model.model.generate(
            encoder_output, self._prompts(len(encoded), timestamps),
            max_length=self.model.max_length, return_scores=True, return_no_speech_prob=True,
            suppress_blank=True, suppress_tokens=self.suppress,
            max_initial_timestamp_index=round(MAX_INITIAL_TIMESTAMP_S / 0.02), **how)
        attempts = []
        for result in results:
            tokens = tuple(result.sequences_ids[0])
            # CTranslate2's score is the summed log-probability over the length (penalty 1);
            # Whisper averages over the tokens and the end of text.
            avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
            attempts.append(Attempt(tokens, self.text_of(tokens).strip(), avg_logprob,
                                    result.no_speech_prob, strategy))
        return attempts

    def word_times(self, encoded: np.ndarray, tokens: Sequence[int], frames: int) -> list[Word]:
        import ctranslate2

        # One window at a time: the alignment holds the cross-attention of every window it
        # is given (~25 MB a window for tiny.en), and one at a time was faster as well
        # (benchmarks/batched_prototype.md).
        with self._encode_lock:  # CTranslate2 runs it on a worker, as it runs the encoder
            found = self.model.model.align(
                ctranslate2.StorageView.from_array(_one_array([encoded])),
                self.tokenizer.sot_sequence, [list(tokens)], [frames])[0]
        return words_from_path(self.tokenizer, tokens, found.alignments)

    def text_of(self, tokens: Sequence[int]) -> str:
        return self.tokenizer.decode([t for t in tokens if t < self.eot])


class FasterWhisperEngine(WindowedEngine):
    name = "faster-whisper"

    def __init__(self, settings: EngineSettings, cache_dir: Path | None = None):
        self.settings = settings
        self.cache_dir = cache_dir  # where an int8 copy of float16 weights is kept
        self._model = None
        self._windows: _Ct2Windows | None = None
        # Streams heard at once, one per CTranslate2 worker (see load).
        self.parallel = max(1, min(settings.streams, settings.threads))

    def _weights(self) -> str:
        """The folder to load: for int8 on the CPU, an int8 copy of float16 weights (made once
        in the model cache), which spares the load a float16 copy of the whole model beside
        the int8 one (pipeline/asr/ct2_int8.py)."""
        folder = Path(self.settings.model_dir)
        if (self.cache_dir is None or not self.settings.compute_type.startswith("int8")
                or not (folder / "model.bin").is_file()):
            return self.settings.model_dir
        from pipeline.asr.ct2_int8 import int8_folder

        return str(int8_folder(folder, self.cache_dir))

    def load(self) -> None:
        if self._model is not None:
            return
        if self.parallel > 1:
            # MKL (inside CTranslate2) keeps freed buffers for reuse, a pool per thread, so
            # one per stream (measured with 2 streams: a worker's peak ~13 MB lower without
            # them). Read by MKL when it first allocates, so set first.
            os.environ.setdefault("MKL_DISABLE_FAST_MM", "1")
            from pipeline.run.memory import one_heap_for_all_threads

            one_heap_for_all_threads()
        from faster_whisper import WhisperModel  # heavy: imported only in the worker process

        # One CTranslate2 worker per stream, the cores shared out among them; the workers
        # share the weights (the loaded model is the same size). Streams pay where the
        # decoder, one token at a time in small matrix products, scales badly over cores:
        # on one 2-core VM 5.9 ms a token on 2 cores against 2.3 on 1, and 2 streams took
        # 0.46x the time of 1. On another, 2 threads scaled well and 2 streams took 0.87x,
        # for ~40 MB more peak: so one stream unless the config asks (docs/how-it-works.md,
        # Engines).
        from huggingface_hub.errors import LocalEntryNotFoundError, OfflineModeIsEnabled

        try:
            # model_dir is a folder, or a hub name only when allow_download = true
            # (models.resolve_ct2_model): then it is fetched, or taken from the hub's cache.
            self._model = WhisperModel(
                self._weights(),
                device="cpu",
                compute_type=self.settings.compute_type,
                cpu_threads=max(1, self.settings.threads // self.parallel),
                num_workers=self.parallel,
                local_files_only=False,
            )
        except (LocalEntryNotFoundError, OfflineModeIsEnabled):
            # What the hub raises with no network (or HF_HUB_OFFLINE) and nothing cached.
            raise not_downloaded(self.settings.model_dir) from None
        from pipeline.asr.lean_frontend import install

        install(self._model)
        self._windows = _Ct2Windows(self._model, self.settings)

    def unload(self) -> None:
        self._model = None
        self._windows = None
        gc.collect()

    def trim(self) -> None:
        """CTranslate2 keeps no cache between calls (the heap is trimmed by the caller)."""

    def device_memory(self) -> dict[str, float] | None:
        return None  # all of CTranslate2's memory on the CPU is in RSS
