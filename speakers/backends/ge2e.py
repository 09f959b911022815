"""The GE2E speaker encoder (resemblyzer's weights) without importing resemblyzer.

Importing resemblyzer imports librosa, and with it numba and llvmlite; its first
`preprocess_wav` call measured ~180 MB on top of torch in the speaker worker. Everything it
does for us is small: raise quiet audio to -30 dBFS, shorten silences found by webrtcvad,
a 40-band mel power spectrogram (25 ms Hann window, 10 ms hop, Slaney mel scale and
normalisation, zero padding at the ends), and a 3-layer LSTM over 1.6 s partials averaged
into one unit vector. It is done here with numpy alone (the weights are read from the
checkpoint without torch, see speakers/backends/torch_checkpoint.py): torch's import alone cost the
speaker worker ~200 MB and more than a second. A test checks the result against resemblyzer's
own to a tight tolerance.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from common.supported import require
from speakers.voice_activity import shorten_silences

# The weights file inside resemblyzer, and the network it holds, are the ones of the tested range.
require("resemblyzer")

RATE = 16_000
N_FFT = 400          # 25 ms
HOP = 160            # 10 ms
N_MELS = 40
PARTIAL_FRAMES = 160  # 1.6 s
PARTIAL_RATE = 1.3    # partials per second of audio
MIN_COVERAGE = 0.75   # a last partial shorter than this share of 1.6 s is dropped
TARGET_DBFS = -30.0
INT16_MAX = 2 ** 15 - 1


def weights_path() -> Path:
    """resemblyzer's `pretrained.pt`, found without running the package's __init__."""
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("resemblyzer is not installed", name="resemblyzer")
    return Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"


def raise_to_target_loudness(wav: np.ndarray) -> np.ndarray:
    """Quiet audio is raised to TARGET_DBFS; loud audio is left as it is."""
    rms = float(np.sqrt(np.mean((wav.astype(np.float64) * INT16_MAX) ** 2))) if len(wav) else 0.0
    if rms == 0.0:
        return wav
    gain_db = TARGET_DBFS - 20 * np.log10(rms / INT16_MAX)
    return wav * (10 ** (gain_db / 20)) if gain_db > 0 else wav


def prepare(wav: np.ndarray) -> np.ndarray:
    return shorten_silences(raise_to_target_loudness(np.asarray(wav, dtype=np.float32)))


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's scale: linear to 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    knee = 1000.0 / (200.0 / 3)
    log_part = knee + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    knee = 1000.0 / (200.0 / 3)
    return np.where(mel >= knee, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - knee)),
                    mel * (200.0 / 3))


def mel_filterbank() -> np.ndarray:
    """N_MELS triangular filters over the FFT bins, each scaled to unit area (Slaney)."""
    bins = np.linspace(0.0, RATE / 2, 1 + N_FFT // 2)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(RATE / 2), N_MELS + 2))
    widths = np.diff(edges)
    filters = np.zeros((N_MELS, len(bins)))
    for m in range(N_MELS):
        rising = (bins - edges[m]) / widths[m]
        falling = (edges[m + 2] - bins) / widths[m + 1]
        filters[m] = np.maximum(0.0, np.minimum(rising, falling))
    filters *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return filters.astype(np.float32)


_FILTERS: np.ndarray | None = None


def mel_power(wav: np.ndarray) -> np.ndarray:
    """frames × N_MELS mel power spectrogram (not log), float32."""
    global _FILTERS
    if _FILTERS is None:
        _FILTERS = mel_filterbank()
    signal = np.pad(np.asarray(wav, dtype=np.float32), (N_FFT // 2, N_FFT // 2))
    count = 1 + (len(signal) - N_FFT) // HOP
    step = signal.strides[0]
    frames = np.lib.stride_tricks.as_strided(signal, (count, N_FFT), (HOP * step, step),
                                             writeable=False)
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
    power = np.abs(np.fft.rfft(frames * window, axis=-1)) ** 2
    return (power.astype(np.float32) @ _FILTERS.T).astype(np.float32)


def partial_starts(n_samples: int) -> list[int]:
    """First mel frame of each 1.6 s partial: one every 1/PARTIAL_RATE s across the audio,
    the last kept only if the audio covers MIN_COVERAGE of it (there is always one)."""
    frames = int(np.ceil((n_samples + 1) / HOP))
    stride = int(np.round(RATE / PARTIAL_RATE / HOP))
    starts = list(range(0, max(1, frames - PARTIAL_FRAMES + stride + 1), stride))
    last = starts[-1] * HOP
    if len(starts) > 1 and (n_samples - last) / (PARTIAL_FRAMES * HOP) < MIN_COVERAGE:
        starts.pop()
    return starts


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # tanh form: no overflow warnings for large negative inputs.
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class GE2E:
    """resemblyzer's VoiceEncoder network and its `embed_utterance`, in numpy.

    A 3-layer LSTM (hidden 256, torch's gate order i, f, g, o), then a linear layer with ReLU
    on the last layer's final hidden state, per 1.6 s partial; partials are normalised,
    averaged and normalised again."""

    HIDDEN = 256
    LAYERS = 3

    def __init__(self) -> None:
        from speakers.backends.torch_checkpoint import load_arrays

        state = load_arrays(weights_path(), prefix="model_state.")
        self.layers = [(state[f"lstm.weight_ih_l{n}"].T.copy(),
                        state[f"lstm.weight_hh_l{n}"].T.copy(),
                        state[f"lstm.bias_ih_l{n}"] + state[f"lstm.bias_hh_l{n}"])
                       for n in range(self.LAYERS)]
        self.linear_w = state["linear.weight"].T.copy()
        self.linear_b = state["linear.bias"]

    def _lstm_layer(self, x: np.ndarray, layer: int) -> np.ndarray:
        """batch × time × features in, batch × time × HIDDEN out."""
        w_ih, w_hh, bias = self.layers[layer]
        batch, steps, _ = x.shape
        h = self.HIDDEN
        # The input part of every gate for every step at once; only h @ w_hh is sequential.
        gates_in = x @ w_ih + bias
        hidden = np.zeros((batch, h), dtype=np.float32)
        cell = np.zeros((batch, h), dtype=np.float32)
        out = np.empty((batch, steps, h), dtype=np.float32)
        for t in range(steps):
            gates = gates_in[:, t] + hidden @ w_hh
            i, f = _sigmoid(gates[:, :h]), _sigmoid(gates[:, h:2 * h])
            g, o = np.tanh(gates[:, 2 * h:3 * h]), _sigmoid(gates[:, 3 * h:])
            cell = f * cell + i * g
            hidden = o * np.tanh(cell)
            out[:, t] = hidden
        return out

    def embed_prepared(self, wav: np.ndarray) -> np.ndarray:
        starts = partial_starts(len(wav))
        needed = (starts[-1] + PARTIAL_FRAMES) * HOP
        if needed >= len(wav):
            wav = np.pad(wav, (0, needed - len(wav)))
        mel = mel_power(wav)
        x = np.stack([mel[s: s + PARTIAL_FRAMES] for s in starts]).astype(np.float32)
        for layer in range(self.LAYERS):
            x = self._lstm_layer(x, layer)
        partials = np.maximum(x[:, -1] @ self.linear_w + self.linear_b, 0.0)
        partials /= np.linalg.norm(partials, axis=1, keepdims=True)
        mean = partials.mean(axis=0)
        return (mean / np.linalg.norm(mean)).astype(np.float32)
