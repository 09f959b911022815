"""faster-whisper's two whole-input steps, done a slice at a time.

Before its decoder sees a single 30 s window, faster-whisper runs the Silero VAD over all the
audio it is given in one ONNX batch of up to 320 s, and computes the log-mel spectrogram of
all of it at once (frames × window, the FFT and the power spectrum side by side). On a
300 s chunk those two transients measured +155 MB and +266 MB above the loaded model, and
they set the worker's peak. The decoder only ever needs 30 s windows, so here the same two
results are built from short slices:

- `LeanFeatureExtractor` gives the same log-mel matrix as faster-whisper's extractor (the
  global max used for clamping is taken at the end, over the whole matrix), computing the
  FFT over blocks of frames written straight into the output.
- `LeanSileroVAD` feeds the same network the same 512-sample windows, each with the
  same 64 samples of context from the window before, carrying the recurrent state across
  batches exactly as faster-whisper does between its own (larger) batches. The network runs
  in numpy (pipeline/asr/silero_numpy.py, from the same .onnx file's weights), so a worker
  never loads onnxruntime (~35 MB held through the decoding, where its peak is).
- `speech_stretches` asks that VAD where the speech is (pipeline/asr/windows.py lays it
  end to end for the decoding loop both engines share).

`install(model)` puts both in place for a loaded `WhisperModel`; it is called in the worker
process only, which has nothing else using faster-whisper.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from common.supported import require

# Before anything here reaches into faster-whisper: a version it was not tested with stops
# with one sentence naming the range, not an AttributeError in a worker.
require("faster-whisper")

# 1000 frames = 10 s of audio: the FFT's temporaries of a block stay near 6 MB.
FEATURE_BLOCK_FRAMES = 1000
# 1000 windows of 512 samples = 32 s of audio per ONNX run.
VAD_BATCH_WINDOWS = 1000


def mel_filters(n_mels: int, rate: int = 16000, n_fft: int = 400) -> np.ndarray:
    """Whisper's mel filter bank (n_mels × n_fft/2+1): triangles evenly spaced on the Slaney
    mel scale (linear to 1 kHz, logarithmic above) from 0 Hz to half the rate, each scaled
    to unit area. The same matrix as faster-whisper's extractor makes, without importing
    faster-whisper (and, through it, av and the hub client: ~23 MB) where only this is needed.
    """
    linear_step = 200.0 / 3  # Hz per mel below 1 kHz
    knee = 1000.0 / linear_step  # the mel of 1 kHz
    log_step = np.log(6.4) / 27.0

    def to_mel(hz: np.ndarray) -> np.ndarray:
        mel = hz / linear_step
        above = hz >= 1000.0
        mel[above] = knee + np.log(hz[above] / 1000.0) / log_step
        return mel

    def to_hz(mel: np.ndarray) -> np.ndarray:
        hz = mel * linear_step
        above = mel >= knee
        hz[above] = 1000.0 * np.exp(log_step * (mel[above] - knee))
        return hz

    bins = np.linspace(0.0, rate / 2, 1 + n_fft // 2)
    edges = to_hz(np.linspace(0.0, to_mel(np.array([rate / 2]))[0], n_mels + 2))
    widths = np.diff(edges)
    rising = (bins[None, :] - edges[:-2, None]) / widths[:-1, None]
    falling = (edges[2:, None] - bins[None, :]) / widths[1:, None]
    triangles = np.maximum(0.0, np.minimum(rising, falling))
    return (triangles * (2.0 / (edges[2:] - edges[:-2]))[:, None]).astype(np.float32)


def log_mel(waveform: np.ndarray, mel_filters: np.ndarray, n_fft: int, hop_length: int,
            padding: int, block_frames: int = FEATURE_BLOCK_FRAMES) -> np.ndarray:
    """Whisper's log-mel spectrogram (n_mels × frames, float32), one block of frames at a
    time: a centred STFT with reflect padding and a periodic Hann window, the last frame
    dropped, log10 clamped at 8 below the maximum, then scaled by (x + 4) / 4.

    The padded signal is never built whole: each block reads its stretch of it from the
    input (a view in the middle, a short copy at either end)."""
    signal = _PaddedSignal(np.asarray(waveform, dtype=np.float32), padding, n_fft // 2)
    frames = 1 + (len(signal) - n_fft) // hop_length - 1  # the last frame is not used
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    out = np.empty((mel_filters.shape[0], max(frames, 0)), dtype=np.float32)
    for first in range(0, frames, block_frames):
        count = min(block_frames, frames - first)
        lo = first * hop_length
        piece = signal.take(lo, lo + (count - 1) * hop_length + n_fft)
        step = piece.strides[0]
        view = np.lib.stride_tricks.as_strided(piece, (count, n_fft), (hop_length * step, step),
                                               writeable=False)
        spectrum = np.fft.rfft(view * window, n=n_fft, axis=-1).astype(np.complex64)
        power = np.abs(spectrum) ** 2
        out[:, first:first + count] = mel_filters @ power.T
    np.clip(out, 1e-10, None, out=out)
    np.log10(out, out=out)
    if out.size:
        np.maximum(out, out.max() - 8.0, out=out)
    out += 4.0
    out /= 4.0
    return out


class _PaddedSignal:
    """The samples followed by `padding` zeros, reflect-padded by `half` on both sides (as
    np.pad makes it), held as a short head, the samples themselves and a short tail."""

    def __init__(self, samples: np.ndarray, padding: int, half: int):
        if len(samples) < 2 * half + 2:
            # Too short for one reflection to stay inside the samples: build it whole (tiny).
            whole = np.pad(np.pad(samples, (0, padding)), (half, half), mode="reflect")
            self.parts = [(0, whole)]
        else:
            head = np.pad(samples[:half + 1], (half, 0), mode="reflect")[:half]
            end = np.pad(samples[-(half + 1):], (0, padding))
            tail = np.pad(end, (0, half), mode="reflect")[half + 1:]
            self.parts = [(0, head), (half, samples), (half + len(samples), tail)]
        last_offset, last = self.parts[-1]
        self.length = last_offset + len(last)

    def __len__(self) -> int:
        return self.length

    def take(self, lo: int, hi: int) -> np.ndarray:
        """Samples [lo, hi) of the padded signal: a view when one part holds them all."""
        pieces = []
        for offset, part in self.parts:
            a, b = max(lo, offset), min(hi, offset + len(part))
            if a < b:
                pieces.append(part[a - offset:b - offset])
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


def speech_stretches(audio: np.ndarray, max_speech_s: float = float("inf"),
                     min_pause_s: float = 0.7) -> list[tuple[int, int]]:
    """Where the Silero VAD that ships in faster-whisper hears speech: (first, end) sample
    ranges. Pauses under `min_pause_s` stay inside a stretch; a stretch longer than
    `max_speech_s` is split in the longest pause the VAD finds inside it. Each stretch is
    padded by 0.4 s of what is around it; where a pause is shorter than 0.8 s the two
    stretches meet in its middle, so only longer pauses leave audio out."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    install_vad()
    options = VadOptions(min_silence_duration_ms=round(1000 * min_pause_s),
                         max_speech_duration_s=max_speech_s)
    return [(s["start"], s["end"]) for s in get_speech_timestamps(audio, options)]


def _feature_extractor_class():
    from faster_whisper.feature_extractor import FeatureExtractor

    class LeanFeatureExtractor(FeatureExtractor):
        def __call__(self, waveform: np.ndarray, padding: int = 160,
                     chunk_length: int | None = None) -> np.ndarray:
            if chunk_length is not None:  # as the original: it changes the extractor's state
                self.n_samples = chunk_length * self.sampling_rate
                self.nb_max_frames = self.n_samples // self.hop_length
            return log_mel(waveform, self.mel_filters, self.n_fft, self.hop_length, padding)

    return LeanFeatureExtractor


class LeanSileroVAD:
    """The speech probability of every 512-sample window, in batches of VAD_BATCH_WINDOWS."""

    def __init__(self, session, batch_windows: int = VAD_BATCH_WINDOWS):
        self.session = session
        self.batch_windows = batch_windows

    def __call__(self, audio: np.ndarray, num_samples: int = 512,
                 context_size_samples: int = 64) -> np.ndarray:
        if audio.ndim != 1 or audio.shape[0] % num_samples:
            raise ValueError("the VAD wants 1-D audio in whole windows")
        windows = audio.reshape(-1, num_samples)
        batches = self._batches(windows, context_size_samples)
        if hasattr(self.session, "probabilities"):  # the numpy network (silero_numpy.py)
            return self.session.probabilities(batches)
        state_h = np.zeros((1, 1, 128), dtype=np.float32)
        state_c = np.zeros((1, 1, 128), dtype=np.float32)
        probs = []
        for batch in batches:
            out, state_h, state_c = self.session.run(
                None, {"input": batch, "h": state_h, "c": state_c})
            probs.append(out)
        if not probs:
            return np.zeros((0, 1), dtype=np.float32)
        return np.concatenate(probs, axis=0)

    def _batches(self, windows: np.ndarray, context: int) -> Iterator[np.ndarray]:
        """The windows in batches, each window with the `context` samples before it."""
        for first in range(0, len(windows), self.batch_windows):
            part = windows[first:first + self.batch_windows]
            batch = np.empty((len(part), context + windows.shape[1]), dtype=np.float32)
            batch[:, context:] = part
            # Each window is preceded by the tail of the one before it (silence for the first).
            batch[1:, :context] = part[:-1, -context:]
            batch[0, :context] = windows[first - 1, -context:] if first else 0.0
            if first + len(part) == len(windows):
                # faster-whisper zeroes the tail of the very last window (a side effect of how
                # it builds the contexts); done here too, so both give the same probabilities.
                batch[-1, -context:] = 0.0
            yield batch


def install_vad() -> None:
    """faster-whisper's VAD entry point, replaced by the batched one (once per process)."""
    import faster_whisper.vad as fw_vad

    original = fw_vad.get_vad_model
    if getattr(original, "talks_lean", False):
        return
    from faster_whisper.utils import get_assets_path

    from pipeline.asr.silero_numpy import load_session

    # The same network in numpy (onnxruntime would hold ~35 MB); its session if the file
    # is not the model the numpy one was written for.
    session = load_session(Path(get_assets_path()) / "silero_vad_v6.onnx")
    lean_vad = LeanSileroVAD(session if session is not None else original().session)

    def lean_vad_model() -> LeanSileroVAD:
        return lean_vad

    # faster-whisper looks its VAD up through this module function at every call.
    lean_vad_model.talks_lean = True  # type: ignore[attr-defined]
    fw_vad.get_vad_model = lean_vad_model


def install(model) -> None:
    """Give a loaded faster_whisper.WhisperModel the sliced feature extractor and VAD."""
    lean_class = _feature_extractor_class()
    lean = lean_class.__new__(lean_class)
    lean.__dict__.update(model.feature_extractor.__dict__)
    model.feature_extractor = lean
    install_vad()
