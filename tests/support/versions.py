"""A Python path entry whose sitecustomize makes importlib.metadata report other versions of
some libraries: the libraries themselves stay the installed ones. Subprocesses started with it
on PYTHONPATH (talks' workers inherit it) see the faked versions too."""

from __future__ import annotations

from pathlib import Path

FAKE_VERSIONS = '''
import importlib.metadata as metadata

_real = metadata.version
_fake = {FAKES!r}


def _version(name):
    return _fake.get(name.lower().replace("_", "-")) or _real(name)


metadata.version = _version
'''


def version_faker(folder: Path, versions: dict[str, str]) -> Path:
    """`folder`, holding a sitecustomize that reports `versions` (by distribution name)."""
    folder.mkdir(parents=True, exist_ok=True)
    fakes = {name.lower().replace("_", "-"): v for name, v in versions.items()}
    (folder / "sitecustomize.py").write_text(FAKE_VERSIONS.replace("{FAKES!r}", repr(fakes)),
                                             encoding="utf-8")
    return folder
