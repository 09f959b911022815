"""The Silero VAD that ships with faster-whisper, run in numpy instead of onnxruntime.

Loading onnxruntime and its session costs a transcription worker ~35 MB resident (its
library, its kernels, the session), held through every window's decoding, where the worker's
peak is; the network itself is 1.2 MB of weights and a few small layers. So the worker reads
those weights from the very .onnx file faster-whisper ships and runs the network here:

    each 512-sample window with its 64 samples of context (576), reflect-padded by 128
    → an STFT as a convolution (258 filters of 256, stride 128) → magnitude of 129 bins
    → four 1-D convolutions with ReLU (129→128, →64 stride 2, →64 stride 2, →128)
    → an LSTM of 128 run across the windows in order (a window's state goes to the next)
    → ReLU → a 1×1 convolution → sigmoid: the speech probability of the window.

`SileroSession.probabilities` gives what the batched caller in lean_frontend.py gets from
onnxruntime's session batch after batch, the LSTM's state carried from one to the next. If
the file is not the one this was written for (another faster-whisper), `load_session`
returns None and onnxruntime is used as before.
"""

from __future__ import annotations

import os
import struct
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

# The tensors the network needs, by their names in silero_vad_v6.onnx, with their shapes.
WEIGHTS = {
    "encoder.feature_extractor.forward_basis_buffer": (258, 1, 256),
    "encoder.conv_layers.0.weight": (128, 129, 3), "encoder.conv_layers.0.bias": (128,),
    "encoder.conv_layers.1.weight": (64, 128, 3), "encoder.conv_layers.1.bias": (64,),
    "encoder.conv_layers.2.weight": (64, 64, 3), "encoder.conv_layers.2.bias": (64,),
    "encoder.conv_layers.3.weight": (128, 64, 3), "encoder.conv_layers.3.bias": (128,),
    "decoder.conv1d.weight": (1, 128, 1), "decoder.conv1d.bias": (1,),
    "onnx::LSTM_209": (1, 512, 128),  # input weights, gates in ONNX order i, o, f, c
    "onnx::LSTM_210": (1, 512, 128),  # recurrent weights
    "onnx::LSTM_211": (1, 1024),  # input biases then recurrent biases
}
CONV_STRIDES = (1, 2, 2, 1)
PAD = 128
HOP = 128
FRAME = 256
FLOAT = 1  # ONNX's TensorProto data type for float32
VAD_THREADS = 2  # threads computing features while the LSTM runs (the LSTM is on the caller's)
LOOKAHEAD = 3  # batches whose features may be ready or under way at once


# --- just enough of protobuf's wire format to read an ONNX file's initializers -------------

def _varint(data: bytes | memoryview, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def _fields(data: memoryview):
    """(field number, wire type, value) of one message: value is an int for varints and
    fixed-size fields, a memoryview for length-delimited ones."""
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
        elif wire == 1:
            value, at = struct.unpack_from("<q", data, at)[0], at + 8
        elif wire == 2:
            size, at = _varint(data, at)
            value, at = data[at:at + size], at + size
        elif wire == 5:
            value, at = struct.unpack_from("<i", data, at)[0], at + 4
        else:
            raise ValueError(f"protobuf wire type {wire} is not read here")
        yield number, wire, value


def _tensor(data: memoryview) -> tuple[str, np.ndarray | None]:
    """A TensorProto's name and, when it holds float32, its array."""
    name, dims, dtype, raw, floats = "", [], 0, None, None
    for number, wire, value in _fields(data):
        if number == 1:  # dims: packed or one by one
            if wire == 2:
                at = 0
                while at < len(value):
                    dim, at = _varint(value, at)
                    dims.append(dim)
            else:
                dims.append(value)
        elif number == 2:
            dtype = value
        elif number == 4 and wire == 2:
            floats = value
        elif number == 8:
            name = bytes(value).decode("utf-8")
        elif number == 9:
            raw = value
    # Read once every field is known: nothing says data_type comes before the data.
    data = raw if raw is not None else floats
    if dtype != FLOAT or data is None:
        return name, None
    return name, np.frombuffer(data, dtype="<f4").astype(np.float32).reshape(dims)


def read_initializers(path: Path, wanted: set[str]) -> dict[str, np.ndarray]:
    """The float32 initializers named in `wanted` of an ONNX model file."""
    data = memoryview(path.read_bytes())
    found: dict[str, np.ndarray] = {}
    for number, _wire, graph in _fields(data):
        if number != 7:  # ModelProto.graph
            continue
        for field, _w, value in _fields(graph):
            if field == 5:  # GraphProto.initializer
                name, array = _tensor(value)
                if name in wanted and array is not None:
                    found[name] = array
    return found


# --- the network --------------------------------------------------------------------------

def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class _Conv:
    """A 1-D convolution (kernel 3, padding 1) on channels-last input, as one matrix product."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray, stride: int):
        out_ch, in_ch, kernel = weight.shape
        self.kernel, self.stride = kernel, stride
        # Rows ordered (tap, input channel), matching the windows laid side by side below.
        self.matrix = np.ascontiguousarray(weight.transpose(2, 1, 0).reshape(kernel * in_ch,
                                                                             out_ch))
        self.bias = bias

    def __call__(self, x: np.ndarray) -> np.ndarray:  # (batch, length, channels)
        length = x.shape[1]
        padded = np.pad(x, ((0, 0), (1, 1), (0, 0)))
        out_len = (length + 2 - self.kernel) // self.stride + 1
        stop = self.stride * (out_len - 1) + 1
        taps = [padded[:, j:j + stop:self.stride, :] for j in range(self.kernel)]
        return np.concatenate(taps, axis=2) @ self.matrix + self.bias


class SileroSession:
    """Silero VAD v6 at 16 kHz."""

    def __init__(self, weights: dict[str, np.ndarray]):
        self.basis = np.ascontiguousarray(
            weights["encoder.feature_extractor.forward_basis_buffer"][:, 0, :].T)
        self.convs = [_Conv(weights[f"encoder.conv_layers.{i}.weight"],
                            weights[f"encoder.conv_layers.{i}.bias"], stride)
                      for i, stride in enumerate(CONV_STRIDES)]
        w_in, w_rec = weights["onnx::LSTM_209"][0], weights["onnx::LSTM_210"][0]
        biases = weights["onnx::LSTM_211"][0]
        # The LSTM step is a loop of small numpy calls, so it is written with as few as can
        # be: the three sigmoid gates (i, o, f) are taken as σ(x) = ½ + ½·tanh(x/2), with the
        # ½ folded into their weights, so one tanh over all 512 gates serves all four
        # (a 300 s chunk is 9,375 steps; half the calls of four separate activations).
        half = np.ones(512, dtype=np.float32)
        half[:384] = 0.5
        self.w_in = np.ascontiguousarray(w_in.T) * half  # 128 × 512
        self.w_rec = np.ascontiguousarray(w_rec.T) * half
        self.bias = (biases[:512] + biases[512:]) * half
        self.out_w = weights["decoder.conv1d.weight"][0, :, 0]
        self.out_b = float(weights["decoder.conv1d.bias"][0])

    def features(self, windows: np.ndarray) -> np.ndarray:
        """The encoder: (n, 576) samples → (n, 128) features, one row per window."""
        n = len(windows)
        padded = np.pad(windows, ((0, 0), (PAD, PAD)), mode="reflect")
        # Frames 1–4 of the STFT (frame 0 is not used): four 256-sample frames, 128 apart,
        # made of five 128-sample blocks, each frame a block and the next side by side.
        blocks = padded[:, HOP:HOP + 5 * HOP].reshape(n, 5, HOP)
        frames = np.concatenate((blocks[:, :-1], blocks[:, 1:]), axis=2)
        spectrum = (frames.reshape(n * 4, FRAME) @ self.basis).reshape(n, 4, -1)
        half = spectrum.shape[2] // 2
        x = np.sqrt(np.square(spectrum[..., :half]) + np.square(spectrum[..., half:]))
        for conv in self.convs:
            x = np.maximum(conv(x), 0.0)
        return x[:, 0, :]

    def gates(self, windows: np.ndarray) -> np.ndarray:
        """What the LSTM's gates get from each window's features, (n, 512)."""
        return self.features(windows) @ self.w_in + self.bias

    def recur(self, gates_in: np.ndarray, h: np.ndarray,
              c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The LSTM across a batch of windows from state (h, c), and the decoder: each
        window's speech probability, (n, 1), and the state after the last window."""
        hidden = np.empty((len(gates_in), 128), dtype=np.float32)
        w_rec = self.w_rec
        for t in range(len(gates_in)):
            act = np.tanh(gates_in[t] + h @ w_rec)  # tanh(x/2) for i, o, f; tanh(x) for c
            sig = act[:384] * 0.5 + 0.5
            c = sig[256:] * c + sig[:128] * act[384:]
            h = sig[128:256] * np.tanh(c)
            hidden[t] = h
        logits = np.maximum(hidden, 0.0) @ self.out_w + self.out_b
        return _sigmoid(logits).astype(np.float32), h, c

    def probabilities(self, batches: Iterable[np.ndarray]) -> np.ndarray:
        """The speech probability of every window of a recording's batches, in order, (n, 1).

        A window's features do not depend on the others; only the LSTM goes in order. So the
        next batches' features are computed on other threads while the LSTM runs over this
        one: numpy's products let go of the GIL, the LSTM's small steps hardly do. On this
        2-core machine a 300 s chunk's VAD took 0.59 s on one thread, 0.35–0.40 s so (one
        thread beside the LSTM: 0.45 s). At most LOOKAHEAD batches are under way or wait
        (2 MB of gates for 1000 windows), so the temporaries are those of two batches at
        once, not of the chunk: ~4 MB more at a one-stream worker's peak (224–225 → 228–230
        MB), none seen at the default two streams' (their decoding peaks higher)."""
        workers = max(1, min(VAD_THREADS, os.cpu_count() or 1))
        h = np.zeros(128, dtype=np.float32)
        c = np.zeros(128, dtype=np.float32)
        probs: list[np.ndarray] = []
        with ThreadPoolExecutor(workers, thread_name_prefix="talks-vad") as pool:
            waiting: deque[Future[np.ndarray]] = deque()
            batches = iter(batches)
            while True:
                while len(waiting) < LOOKAHEAD and (batch := next(batches, None)) is not None:
                    waiting.append(pool.submit(self.gates, batch))
                if not waiting:
                    break
                out, h, c = self.recur(waiting.popleft().result(), h, c)
                probs.append(out)
        if not probs:
            return np.zeros((0, 1), dtype=np.float32)
        return np.concatenate(probs, axis=0)


def load_session(path: Path) -> SileroSession | None:
    """The numpy session for faster-whisper's silero_vad_v6.onnx, or None when the file is
    not readable as that model (then onnxruntime's session is used)."""
    try:
        weights = read_initializers(path, set(WEIGHTS))
    except (OSError, ValueError, IndexError, struct.error):
        return None
    if any(name not in weights or weights[name].shape != shape
           for name, shape in WEIGHTS.items()):
        return None
    return SileroSession(weights)
