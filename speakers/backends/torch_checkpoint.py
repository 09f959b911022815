"""Read the tensors of a torch checkpoint into numpy, without torch.

Importing torch only to read a few million floats cost the speaker worker ~200 MB and over a
second; this reader needs numpy alone. Two layouts are read:

- legacy (before torch 1.6; resemblyzer's `pretrained.pt`): a run of pickles: a magic number,
  the protocol version, system info, the object itself (whose tensors point at storages by
  key, through persistent ids), the list of storage keys in the order their bytes follow, and
  then for each storage an int64 element count and its raw little-endian bytes;
- zip (torch 1.6 and later; CAM++'s `campplus_cn_en_common.pt`): a zip archive holding
  `<name>/data.pkl`, the same kind of pickled object, and each storage's raw little-endian
  bytes in `<name>/data/<key>`.

Either way the pickle is read by an unpickler that knows only tensors, ordered dicts and
storage types: a checkpoint that asks for anything else (a function to call) is refused.
"""

from __future__ import annotations

import pickle
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

MAGIC = 0x1950A86A20F9469CFC6C
PROTOCOL = 1001
DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
          "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
          "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_}


class CheckpointError(ValueError):
    pass


@dataclass(frozen=True)
class _StorageRef:
    key: str
    dtype: type


@dataclass(frozen=True)
class _TensorRef:
    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage: _StorageRef, offset: int, shape: tuple[int, ...],
                    stride: tuple[int, ...], *_rest: Any) -> _TensorRef:
    return _TensorRef(storage, offset, tuple(shape), tuple(stride))


class _Unpickler(pickle.Unpickler):
    """Knows only what a checkpoint of tensors holds; anything else is refused."""

    def __init__(self, f: IO[bytes]) -> None:
        super().__init__(f)
        self.storage_types: dict[str, type] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in DTYPES:
            return name
        raise CheckpointError(f"unexpected object {module}.{name} in a torch checkpoint")

    def persistent_load(self, pid: Any) -> _StorageRef:
        kind, storage_type, key, *_rest = pid
        if kind != "storage" or storage_type not in DTYPES:
            raise CheckpointError(f"unexpected persistent id {pid!r} in a torch checkpoint")
        self.storage_types[str(key)] = DTYPES[storage_type]
        return _StorageRef(str(key), DTYPES[storage_type])


def _read_storages(f: IO[bytes], keys: list[str], dtypes: dict[str, type],
                   wanted: set[str]) -> dict[str, np.ndarray]:
    """The storages in `wanted`; the bytes of the others are skipped."""
    out = {}
    for key in keys:
        if key not in dtypes:
            raise CheckpointError(f"storage {key} of the torch checkpoint has no type")
        count = int(np.frombuffer(f.read(8), dtype="<i8")[0])
        dtype = np.dtype(dtypes[key]).newbyteorder("<")
        size = count * dtype.itemsize
        if key in wanted:
            data = f.read(size)
            if len(data) != size:
                raise CheckpointError("the torch checkpoint ends inside a tensor")
            out[key] = np.frombuffer(data, dtype=dtype)
        else:
            f.seek(size, 1)
    return out


def _tensors(obj: Any, path: str = "") -> dict[str, _TensorRef]:
    """Every tensor in nested dicts, by its dotted path."""
    if isinstance(obj, _TensorRef):
        return {path: obj}
    found: dict[str, _TensorRef] = {}
    if isinstance(obj, dict):
        for key, value in obj.items():
            found.update(_tensors(value, f"{path}.{key}" if path else str(key)))
    return found


def _views(tensors: dict[str, _TensorRef], storages: dict[str, np.ndarray]
           ) -> dict[str, np.ndarray]:
    arrays = {}
    for name, ref in tensors.items():
        flat = storages[ref.storage.key]
        item = flat.itemsize
        # as_strided trusts the numbers it is given: a damaged file must not make it read
        # past the storage.
        last = ref.offset + sum((n - 1) * s for n, s in zip(ref.shape, ref.stride, strict=True))
        if 0 not in ref.shape and not 0 <= last < len(flat):
            raise CheckpointError(f"tensor {name} reaches past the end of its storage")
        view = np.lib.stride_tricks.as_strided(flat[ref.offset:], ref.shape,
                                               tuple(s * item for s in ref.stride))
        arrays[name] = np.array(view, dtype=flat.dtype.newbyteorder("="))
    return arrays


def _selected(obj: Any, prefix: str) -> dict[str, _TensorRef]:
    return {name[len(prefix):]: ref for name, ref in _tensors(obj).items()
            if name.startswith(prefix)}


def _load_zip(path: Path, prefix: str) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise CheckpointError(f"{path} is a zip file but not a torch checkpoint")
        folder = pickles[0][: -len("data.pkl")]
        with archive.open(pickles[0]) as f:
            unpickler = _Unpickler(f)
            tensors = _selected(unpickler.load(), prefix)
        storages = {}
        for key in {ref.storage.key for ref in tensors.values()}:
            dtype = np.dtype(unpickler.storage_types[key]).newbyteorder("<")
            try:
                data = archive.read(f"{folder}data/{key}")
            except KeyError:
                raise CheckpointError(f"{path} lacks the data of storage {key}") from None
            storages[key] = np.frombuffer(data, dtype=dtype)
    return _views(tensors, storages)


def load_arrays(path: Path, prefix: str = "") -> dict[str, np.ndarray]:
    """The tensors whose dotted path starts with `prefix`, as arrays (prefix removed)."""
    if zipfile.is_zipfile(path):
        return _load_zip(path, prefix)
    with open(path, "rb") as f:
        try:
            legacy = _Unpickler(f).load() == MAGIC and _Unpickler(f).load() == PROTOCOL
        except (pickle.UnpicklingError, EOFError, ValueError):  # CheckpointError is one
            legacy = False
        if not legacy:
            raise CheckpointError(f"{path} is not a torch checkpoint")
        info = _Unpickler(f).load()
        if isinstance(info, dict) and not info.get("little_endian", True):
            raise CheckpointError(f"{path} was saved on a big-endian machine")
        unpickler = _Unpickler(f)
        tensors = _selected(unpickler.load(), prefix)
        keys = [str(k) for k in _Unpickler(f).load()]
        wanted = {ref.storage.key for ref in tensors.values()}
        storages = _read_storages(f, keys, unpickler.storage_types, wanted)
    return _views(tensors, storages)
