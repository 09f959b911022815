"""Turn the CTranslate2 Whisper weights we already ship into an mlx-whisper model folder.

The only Whisper weights installable offline are CTranslate2 `model.bin` files, while
mlx-whisper wants `config.json` + `weights.safetensors` with OpenAI's parameter names. This
module reads `model.bin` tensor by tensor (an index pass first, then one seek + read per
tensor) and writes the safetensors file as it goes, so peak memory is about one tensor, not
the model twice.

The weights are written as float32. Upcasting the shipped float16 (or bfloat16, or
dequantized int8/int16) values is exact; on a CPU mlx gains no speed from float16 (measured
here) and loses accuracy, so the engine runs float32 there (`fp16=False`), while on Apple
silicon it casts the loaded model down to float16 itself: one cached folder serves both. The
price is disk: twice the float16 size (~150 MB for tiny.en, ~290 MB for base).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from pipeline.asr.models import (
    folder_fingerprint,
    note_source,
    require_local_folder,
    retire_older_copies,
)

_SUPPORTED_BINARY_VERSION = 6  # what ctranslate2 4.x writes; other layouts are not known here

# CT2 data type ids, in the order of its DataType enum. bfloat16 has no numpy type: its raw
# 16-bit words are read and widened by hand.
_CT2_DTYPES: dict[int, str] = {
    0: "<f4", 1: "i1", 2: "<i2", 3: "<i4", 4: "<f2", 5: "<u2",
}
_BFLOAT16 = 5
_INTEGER_IDS = (1, 2, 3)


@dataclass(frozen=True)
class Ct2Tensor:
    name: str
    shape: tuple[int, ...]
    type_id: int
    offset: int  # where the raw data starts in model.bin
    nbytes: int

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(_CT2_DTYPES[self.type_id])


class Ct2Model:
    """An index over a CTranslate2 `model.bin`; tensor data is read only when asked for."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tensors: dict[str, Ct2Tensor] = {}
        self.aliases: dict[str, str] = {}
        # Kept open for the lazy reads below; closed by close() or the with-block.
        self._file: BinaryIO = open(path, "rb")
        try:
            self._index()
        except Exception:
            self._file.close()
            raise

    def __enter__(self) -> Ct2Model:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def _unpack(self, fmt: str) -> int:
        size = struct.calcsize("<" + fmt)
        raw = self._file.read(size)
        if len(raw) != size:
            raise ValueError(f"{self.path} ends early: truncated or not a CTranslate2 model")
        return struct.unpack("<" + fmt, raw)[0]

    def _string(self) -> str:
        length = self._unpack("H")  # counts the trailing NUL
        return self._file.read(length)[:-1].decode("utf-8")

    def _index(self) -> None:
        version = self._unpack("I")
        if version != _SUPPORTED_BINARY_VERSION:
            raise ValueError(f"{self.path} uses CTranslate2 binary version {version}; only "
                             f"{_SUPPORTED_BINARY_VERSION} is understood: re-convert it with a "
                             "current ct2-transformers-converter.")
        self.spec = self._string()
        self.revision = self._unpack("I")
        for _ in range(self._unpack("I")):
            name = self._string()
            rank = self._unpack("B")
            shape = tuple(self._unpack("I") for _ in range(rank))
            type_id = self._unpack("B")
            nbytes = self._unpack("I")
            if type_id not in _CT2_DTYPES:
                raise ValueError(f"{name} in {self.path} has unknown CTranslate2 type {type_id}")
            offset = self._file.tell()
            tensor = Ct2Tensor(name, shape, type_id, offset, nbytes)
            if int(np.prod(shape, dtype=np.int64)) * tensor.dtype.itemsize != nbytes:
                raise ValueError(f"{name} in {self.path}: size does not match its shape")
            self.tensors[name] = tensor
            self._file.seek(nbytes, os.SEEK_CUR)  # data is read lazily, see _raw()
        for _ in range(self._unpack("I")):
            alias = self._string()
            self.aliases[alias] = self._string()

    def resolve(self, name: str) -> Ct2Tensor:
        # CT2 stores shared tensors once and names the other users in an alias table.
        seen = 0
        while name in self.aliases and name not in self.tensors and seen < 16:
            name, seen = self.aliases[name], seen + 1
        if name not in self.tensors:
            raise KeyError(f"{name} is not in {self.path}")
        return self.tensors[name]

    def __contains__(self, name: str) -> bool:
        return name in self.tensors or name in self.aliases

    def scalar(self, name: str) -> int:
        return int(self._raw(self.resolve(name), 0, 1).reshape(-1)[0])

    def _raw(self, tensor: Ct2Tensor, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) of the first axis, exactly as stored."""
        if not tensor.shape:
            self._file.seek(tensor.offset)
            return np.fromfile(self._file, dtype=tensor.dtype, count=1).reshape(())
        row = int(np.prod(tensor.shape[1:], dtype=np.int64))
        self._file.seek(tensor.offset + start * row * tensor.dtype.itemsize)
        data = np.fromfile(self._file, dtype=tensor.dtype, count=(stop - start) * row)
        if data.size != (stop - start) * row:
            raise ValueError(f"{self.path} ends inside {tensor.name}: the file is truncated")
        return data.reshape((stop - start, *tensor.shape[1:]))

    def read_stored(self, name: str) -> np.ndarray:
        """A whole tensor exactly as stored (bfloat16 as its raw 16-bit words)."""
        tensor = self.resolve(name)
        return self._raw(tensor, 0, tensor.shape[0] if tensor.shape else 1)

    def read_float32(self, name: str, rows: tuple[int, int] | None = None) -> np.ndarray:
        """A tensor (or a row range of it) as float32, dequantizing integer weights.

        Reading only the rows needed lets a fused q/k/v matrix be split without loading it."""
        tensor = self.resolve(name)
        start, stop = rows if rows is not None else (0, tensor.shape[0] if tensor.shape else 1)
        raw = self._raw(tensor, start, stop)
        if tensor.type_id == _BFLOAT16:
            return (raw.astype(np.uint32) << 16).view(np.float32)
        if tensor.type_id not in _INTEGER_IDS:
            return raw.astype(np.float32, copy=False)
        scale_name = f"{name}_scale"
        if scale_name not in self:
            raise ValueError(f"{name} in {self.path} is an integer tensor without {scale_name}")
        scale = self.read_float32(scale_name)
        # CT2 quantizes as round(w * scale): int16 with one scale, int8 with one per output row.
        if scale.ndim == 0 or scale.size == 1:
            return raw.astype(np.float32) / scale.reshape(())
        per_row = scale[start:stop].reshape((stop - start,) + (1,) * (raw.ndim - 1))
        return raw.astype(np.float32) / per_row


@dataclass(frozen=True)
class _Piece:
    """One MLX parameter: where it comes from in model.bin and how it is reshaped."""
    mlx_name: str
    ct2_name: str
    rows: tuple[int, int] | None = None  # a third of a fused q/k/v matrix
    conv: bool = False  # (out, in, kernel) -> MLX's (out, kernel, in)


def _layer_count(model: Ct2Model, stack: str) -> int:
    found = {int(m.group(1)) for name in model.tensors
             if (m := re.match(rf"{stack}/layer_(\d+)/", name))}
    if found != set(range(len(found))):
        raise ValueError(f"{model.path}: {stack} layers are not numbered 0..n-1")
    return len(found)


def _linear(mlx: str, ct2: str, rows: tuple[int, int] | None = None,
            bias: bool = True) -> list[_Piece]:
    pieces = [_Piece(f"{mlx}.weight", f"{ct2}/weight", rows)]
    if bias:
        pieces.append(_Piece(f"{mlx}.bias", f"{ct2}/bias", rows))
    return pieces


def _norm(mlx: str, ct2: str) -> list[_Piece]:
    return [_Piece(f"{mlx}.weight", f"{ct2}/gamma"), _Piece(f"{mlx}.bias", f"{ct2}/beta")]


def _fused(mlx: str, ct2: str, parts: tuple[str, ...], width: int) -> list[_Piece]:
    pieces: list[_Piece] = []
    for i, part in enumerate(parts):
        # Whisper's key projection has no bias. CT2 stores zeros there, and any key bias would
        # add the same q.b to every score of a query, which softmax cancels: dropping it is exact.
        pieces += _linear(f"{mlx}.{part}", ct2, (i * width, (i + 1) * width), bias=part != "key")
    return pieces


def _block(mlx: str, ct2: str, width: int, cross: bool) -> list[_Piece]:
    pieces = _fused(f"{mlx}.attn", f"{ct2}/self_attention/linear_0",
                    ("query", "key", "value"), width)
    pieces += _linear(f"{mlx}.attn.out", f"{ct2}/self_attention/linear_1")
    pieces += _norm(f"{mlx}.attn_ln", f"{ct2}/self_attention/layer_norm")
    if cross:
        pieces += _linear(f"{mlx}.cross_attn.query", f"{ct2}/attention/linear_0")
        pieces += _fused(f"{mlx}.cross_attn", f"{ct2}/attention/linear_1",
                         ("key", "value"), width)
        pieces += _linear(f"{mlx}.cross_attn.out", f"{ct2}/attention/linear_2")
        pieces += _norm(f"{mlx}.cross_attn_ln", f"{ct2}/attention/layer_norm")
    pieces += _linear(f"{mlx}.mlp1", f"{ct2}/ffn/linear_0")
    pieces += _linear(f"{mlx}.mlp2", f"{ct2}/ffn/linear_1")
    pieces += _norm(f"{mlx}.mlp_ln", f"{ct2}/ffn/layer_norm")
    return pieces


def whisper_config(model: Ct2Model) -> dict[str, int]:
    """mlx-whisper's ModelDimensions, read off the tensor shapes."""
    if model.spec != "WhisperSpec":
        raise ValueError(f"{model.path} holds a {model.spec}, not a Whisper model")
    n_audio_state, n_mels, _kernel = model.resolve("encoder/conv1/weight").shape
    n_vocab, n_text_state = model.resolve("decoder/embeddings/weight").shape
    return {
        "n_mels": n_mels,
        "n_audio_ctx": model.resolve("encoder/position_encodings/encodings").shape[0],
        "n_audio_state": n_audio_state,
        "n_audio_head": model.scalar("encoder/num_heads"),
        "n_audio_layer": _layer_count(model, "encoder"),
        "n_vocab": n_vocab,
        "n_text_ctx": model.resolve("decoder/position_encodings/encodings").shape[0],
        "n_text_state": n_text_state,
        "n_text_head": model.scalar("decoder/num_heads"),
        "n_text_layer": _layer_count(model, "decoder"),
    }


def _plan(config: dict[str, int]) -> list[_Piece]:
    audio, text = config["n_audio_state"], config["n_text_state"]
    pieces = [
        _Piece("encoder.conv1.weight", "encoder/conv1/weight", conv=True),
        _Piece("encoder.conv1.bias", "encoder/conv1/bias"),
        _Piece("encoder.conv2.weight", "encoder/conv2/weight", conv=True),
        _Piece("encoder.conv2.bias", "encoder/conv2/bias"),
    ]
    for i in range(config["n_audio_layer"]):
        pieces += _block(f"encoder.blocks.{i}", f"encoder/layer_{i}", audio, cross=False)
    pieces += _norm("encoder.ln_post", "encoder/layer_norm")
    pieces += [
        _Piece("decoder.token_embedding.weight", "decoder/embeddings/weight"),
        _Piece("decoder.positional_embedding", "decoder/position_encodings/encodings"),
    ]
    for i in range(config["n_text_layer"]):
        pieces += _block(f"decoder.blocks.{i}", f"decoder/layer_{i}", text, cross=True)
    pieces += _norm("decoder.ln", "decoder/layer_norm")
    return pieces


def _out_shape(model: Ct2Model, piece: _Piece) -> tuple[int, ...]:
    shape = model.resolve(piece.ct2_name).shape
    if piece.rows is not None:
        shape = (piece.rows[1] - piece.rows[0], *shape[1:])
    if piece.conv:
        shape = (shape[0], shape[2], shape[1])
    return shape


def _check_sinusoids(model: Ct2Model, config: dict[str, int]) -> None:
    # mlx-whisper recomputes the encoder's positions instead of loading them; a model with
    # other (learned) positions would convert "fine" and then transcribe garbage.
    stored = model.read_float32("encoder/position_encodings/encodings")
    length, channels = config["n_audio_ctx"], config["n_audio_state"]
    step = np.log(10_000.0) / (channels // 2 - 1)
    angles = np.arange(length)[:, None] * np.exp(-step * np.arange(channels // 2))[None, :]
    expected = np.concatenate([np.sin(angles), np.cos(angles)], axis=1)
    if stored.shape != expected.shape or np.abs(stored - expected).max() > 5e-3:
        raise ValueError(f"{model.path}: the encoder positions are not Whisper's sinusoids, "
                         "which mlx-whisper assumes")


def _unused(model: Ct2Model, pieces: list[_Piece]) -> list[str]:
    used = {model.resolve(p.ct2_name).name for p in pieces}
    used |= {f"{name}_scale" for name in used}
    used.add("encoder/position_encodings/encodings")
    # Rank-0 tensors are flags and head counts (read into the config or fixed for Whisper).
    return sorted(n for n, t in model.tensors.items() if t.shape and n not in used)


_CHUNK_BYTES = 8 << 20


def _piece_reader(model: Ct2Model, piece: _Piece) -> Callable[[], Iterator[np.ndarray]]:
    def read() -> Iterator[np.ndarray]:
        if piece.conv:  # small, and a transpose needs the whole tensor
            yield model.read_float32(piece.ct2_name, piece.rows).transpose(0, 2, 1)
            return
        shape = model.resolve(piece.ct2_name).shape
        start, stop = piece.rows or (0, shape[0])
        # Row blocks keep the peak near 8 MB even for the 50k-row embedding table.
        row_bytes = 4 * int(np.prod(shape[1:], dtype=np.int64))
        step = max(1, _CHUNK_BYTES // max(row_bytes, 1))
        for first in range(start, stop, step):
            yield model.read_float32(piece.ct2_name, (first, min(first + step, stop)))
    return read


def _alignment_heads(ct2_dir: Path, config: dict[str, int]) -> np.ndarray | None:
    """The (layer, head) pairs that follow the audio, from CT2's config.json.

    mlx-whisper keeps them as a model parameter and otherwise guesses "the last half of the
    layers", which only matters for word timestamps but is cheap to get right."""
    try:
        heads = json.loads((ct2_dir / "config.json").read_text()).get("alignment_heads")
    except (OSError, ValueError):
        return None
    if not heads:
        return None
    pairs = np.asarray(heads, dtype=np.int64)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or (pairs[:, 0] >= config["n_text_layer"]).any() \
            or (pairs[:, 1] >= config["n_text_head"]).any():
        return None
    return pairs


_SAFETENSORS_DTYPES = {np.dtype("<f4"): "F32", np.dtype("<f2"): "F16", np.dtype("<i8"): "I64"}


_Entry = tuple[str, np.dtype, tuple[int, ...], Callable[[], Iterator[np.ndarray]]]


def _write_safetensors(path: Path, entries: list[_Entry]) -> None:
    """Stream tensors into a safetensors file, reading each one only when it is written.

    The format is a u64 header length, a JSON header of names/dtypes/shapes/offsets, then the
    raw data; the shapes alone give every offset, so the header can go first."""
    header: dict[str, object] = {"__metadata__": {"format": "mlx"}}
    offset = 0
    for name, dtype, shape, _read in entries:
        size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        header[name] = {"dtype": _SAFETENSORS_DTYPES[dtype], "shape": list(shape),
                        "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)  # keeps the data 8-byte aligned for mmap readers
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(encoded)))
        out.write(encoded)
        for name, dtype, shape, read in entries:
            rows = 0
            for block in read():
                data = np.ascontiguousarray(block, dtype=dtype)
                if data.shape[1:] != shape[1:]:
                    raise AssertionError(f"{name}: shape {data.shape} differs from {shape}")
                rows += data.shape[0] if data.ndim else 1
                out.write(memoryview(data).cast("B"))
            if rows != (shape[0] if shape else 1):
                raise AssertionError(f"{name}: wrote {rows} rows, planned {shape}")
        out.flush()
        os.fsync(out.fileno())  # the rename that publishes the folder must not outrun the data


def write_mlx_folder(ct2_dir: Path, out_dir: Path, float16: bool = False) -> dict[str, int]:
    """Write config.json and weights.safetensors for mlx-whisper into `out_dir`, the weights
    as float32, or float16 (half the size on disk and in memory, for the Apple GPU)."""
    with Ct2Model(ct2_dir / "model.bin") as model:
        config = whisper_config(model)
        _check_sinusoids(model, config)
        pieces = _plan(config)
        leftover = _unused(model, pieces)
        if leftover:
            # A newer CT2 Whisper layout: better to stop than to drop weights silently.
            raise ValueError(f"{model.path}: tensors with no mlx-whisper place: "
                             f"{', '.join(leftover[:5])}")
        kind = np.dtype("<f2") if float16 else np.dtype("<f4")
        entries = [(p.mlx_name, kind, _out_shape(model, p), _piece_reader(model, p))
                   for p in pieces]
        heads = _alignment_heads(ct2_dir, config)
        if heads is not None:
            entries.append(("alignment_heads", np.dtype("<i8"), heads.shape, lambda: iter([heads])))
        _write_safetensors(out_dir / "weights.safetensors", entries)
    (out_dir / "config.json").write_text(json.dumps({"model_type": "whisper", **config},
                                                    indent=2) + "\n")
    return config


def _is_finished(folder: Path) -> bool:
    return (folder / "config.json").is_file() and (folder / "weights.safetensors").is_file()


def _remove_dead_partials(cache_dir: Path, prefix: str) -> None:
    # Partial folders carry their writer's pid; those whose writer is gone were killed.
    for partial in cache_dir.glob(f".{prefix}.partial-*"):
        try:
            pid = int(partial.name.rsplit("-", 2)[-2])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(partial, ignore_errors=True)
        except (ValueError, IndexError, PermissionError):
            continue


def ensure_mlx_model(ct2_dir: Path, cache_dir: Path, float16: bool = False) -> Path:
    """The mlx-whisper folder converted from `ct2_dir` (float32 weights, or float16),
    converting it on first use only."""
    ct2_dir = require_local_folder(ct2_dir)
    cache_dir = Path(os.path.expanduser(str(cache_dir)))
    name = f"mlx-{folder_fingerprint(ct2_dir)}" + ("-f16" if float16 else "")
    target = cache_dir / name
    if _is_finished(target):
        return target.resolve()
    cache_dir.mkdir(parents=True, exist_ok=True)
    _remove_dead_partials(cache_dir, name)
    partial = cache_dir / f".{name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    partial.mkdir()
    try:
        write_mlx_folder(ct2_dir, partial, float16)
        note_source(partial, ct2_dir)
        try:
            # A folder rename is atomic: the target either does not exist or is complete.
            partial.rename(target)
        except OSError:
            if not _is_finished(target):
                raise
            shutil.rmtree(partial, ignore_errors=True)  # another process finished first
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    retire_older_copies(cache_dir, "mlx-*-f16" if float16 else "mlx-*", ct2_dir, keep=target)
    return target.resolve()
