"""A folder for the front of PYTHONPATH that makes some libraries look installed in other
versions: it holds `NAME-VERSION.dist-info` folders, found before site-packages' own (the way
an import path is searched), while the libraries themselves stay the installed ones.
Subprocesses started with it on PYTHONPATH (talks' workers inherit it) see the same."""

from __future__ import annotations

import re
from pathlib import Path


def version_faker(folder: Path, versions: dict[str, str]) -> Path:
    """`folder`, holding dist-info folders that report `versions` (by distribution name)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, version in versions.items():
        info = folder / f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\n"
                                       f"Version: {version}\n", encoding="utf-8")
    return folder
