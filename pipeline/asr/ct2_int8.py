"""An int8 copy of a CTranslate2 Whisper folder, written once into the model cache.

The Whisper weights that install offline are stored in float16. The engines run them as
int8 on a CPU, and CTranslate2 quantizes at load: it reads the whole float16 file, then
makes the int8 weights beside it, so a worker briefly holds the model about one and a half
times. For base (145 MB) that was a 358 MB peak in the language worker against 214 MB
after the load. Loading weights that are int8 already takes no such detour.

The copy holds what CTranslate2 itself makes at load: the linear weights and the token
embeddings as int8 rows with one float32 scale a row (127 / the row's largest magnitude);
everything else as stored, the convolutions too (CTranslate2 runs them in float: quantized,
base's transcripts changed). Transcribed greedily, nine talks in seven languages came out
word for word as from the float16 folder. It is written tensor by tensor, a block of rows
at a time, so making it costs a few MB, not a model.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import uuid
from pathlib import Path
from typing import BinaryIO

import numpy as np

from pipeline.asr.ct2_to_mlx import Ct2Model, Ct2Tensor
from pipeline.asr.models import folder_fingerprint, note_source, retire_older_copies
from pipeline.run.logs import get_logger

_INT8 = 1
_FLOAT32 = 0
_BLOCK_BYTES = 8 << 20  # float32 rows quantized at once

# Which of a Whisper model's tensors CTranslate2 keeps as int8 (see the module's docstring).
_QUANTIZED = re.compile(
    r"^((encoder|decoder)/layer_\d+/(self_attention|attention)/linear_\d+/weight"
    r"|(encoder|decoder)/layer_\d+/ffn/linear_\d+/weight"
    r"|decoder/embeddings/weight)$")


def is_quantized_weight(name: str) -> bool:
    return bool(_QUANTIZED.match(name))


def int8_folder(ct2_dir: Path, cache_dir: Path) -> Path:
    """The int8 copy of `ct2_dir` in `cache_dir`, made on first use. A folder whose weights
    are not float16 or float32 (int8 already, say) is returned as it is, and so is any
    folder the copy cannot be made of (a full or read-only cache): the copy saves memory,
    and its absence costs only that."""
    try:
        return _int8_folder(ct2_dir, cache_dir)
    except (OSError, ValueError) as exc:
        get_logger().warning("weights loaded as they are stored, not from an int8 copy in "
                             "%s (%s): the load briefly takes more memory", cache_dir, exc)
        return Path(ct2_dir)


def _int8_folder(ct2_dir: Path, cache_dir: Path) -> Path:
    ct2_dir = Path(ct2_dir).resolve()
    cache_dir = Path(os.path.expanduser(str(cache_dir)))
    target = cache_dir / f"ct2-int8-{folder_fingerprint(ct2_dir)}"
    if (target / "model.bin").is_file():
        return target  # every load after the first: no need to read the model's index
    with Ct2Model(ct2_dir / "model.bin") as model:
        if not any(is_quantized_weight(n) and t.type_id in (0, 4)
                   for n, t in model.tensors.items()):
            return ct2_dir
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cache_dir / f".{target.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    partial.mkdir()
    try:
        for item in ct2_dir.iterdir():
            if item.is_file() and item.name != "model.bin" and not item.name.startswith("."):
                shutil.copyfile(item, partial / item.name)
        write_int8_model(ct2_dir / "model.bin", partial / "model.bin")
        note_source(partial, ct2_dir)
        try:
            partial.rename(target)  # atomic: the copy is whole or not there
        except OSError:
            if not (target / "model.bin").is_file():
                raise
            shutil.rmtree(partial, ignore_errors=True)  # another worker finished first
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    retire_older_copies(cache_dir, "ct2-int8-*", ct2_dir, keep=target)
    return target


def write_int8_model(source: Path, target: Path) -> None:
    """`source`'s model.bin with its weights as int8, in CTranslate2's binary layout."""
    with Ct2Model(source) as model, open(target, "wb") as out:
        names = list(model.tensors)
        quantized = [n for n in names if is_quantized_weight(n)
                     and model.tensors[n].type_id in (0, 4)]
        out.write(struct.pack("<I", 6))
        _string(out, model.spec)
        out.write(struct.pack("<I", model.revision))
        out.write(struct.pack("<I", len(names) + len(quantized)))
        for name in names:
            tensor = model.tensors[name]
            if name in quantized:
                _write_quantized(out, model, tensor)
            else:
                _header(out, name, tensor.shape, tensor.type_id, tensor.nbytes)
                out.write(model.read_stored(name).tobytes())
        out.write(struct.pack("<I", len(model.aliases)))
        for alias, name in model.aliases.items():
            _string(out, alias)
            _string(out, name)


def _write_quantized(out: BinaryIO, model: Ct2Model, tensor: Ct2Tensor) -> None:
    rows = tensor.shape[0]
    per_row = int(np.prod(tensor.shape[1:], dtype=np.int64))
    _header(out, tensor.name, tensor.shape, _INT8, rows * per_row)
    scales = np.empty(rows, dtype=np.float32)
    step = max(1, _BLOCK_BYTES // (4 * per_row))
    for start in range(0, rows, step):
        stop = min(rows, start + step)
        block = model.read_float32(tensor.name, (start, stop)).reshape(stop - start, per_row)
        largest = np.abs(block).max(axis=1)
        largest[largest == 0] = 127.0  # a row of zeros stays zeros at any scale
        scale = (127.0 / largest).astype(np.float32)
        out.write(np.rint(block * scale[:, None]).astype(np.int8).tobytes())
        scales[start:stop] = scale
    _header(out, f"{tensor.name}_scale", (rows,), _FLOAT32, scales.nbytes)
    out.write(scales.tobytes())


def _header(out: BinaryIO, name: str, shape: tuple[int, ...], type_id: int,
            nbytes: int) -> None:
    _string(out, name)
    out.write(struct.pack("<B", len(shape)))
    for dim in shape:
        out.write(struct.pack("<I", dim))
    out.write(struct.pack("<B", type_id))
    out.write(struct.pack("<I", nbytes))


def _string(out: BinaryIO, text: str) -> None:
    raw = text.encode("utf-8") + b"\0"
    out.write(struct.pack("<H", len(raw)))
    out.write(raw)
