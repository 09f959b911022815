"""What waits in the input folders: the recordings a run takes, each once."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from common.names import is_text, readable
from pipeline.config import roots
from pipeline.config.settings import Config


def discover(config: Config) -> list[Path]:
    """Recordings in the input folders, by extension, each once. Symlinked folders are
    followed, but a folder already seen (a loop, or two links to one folder) is not walked
    again; the output root is never walked, even when it sits inside an input folder."""
    exts = {e.lower() for e in config.input.extensions}
    out_root = config.output.root.resolve()
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    found: list[Path] = []
    for folder in config.input.folders:
        for top, dirs, files in os.walk(folder, followlinks=True):
            here = Path(top)
            try:
                st = here.stat()
            except OSError:
                dirs[:] = []
                continue
            if (st.st_dev, st.st_ino) in seen_dirs or here.resolve() == out_root:
                dirs[:] = []
                continue
            seen_dirs.add((st.st_dev, st.st_ino))
            dirs[:] = sorted(d for d in dirs if not d.startswith(".")) \
                if config.input.recursive else []
            for name in sorted(files):
                path = here / name
                if name.startswith(".") or path.suffix.lower() not in exts:
                    continue
                try:
                    fst = path.stat()
                except OSError:
                    continue  # a dangling link
                if not stat.S_ISREG(fst.st_mode) or (fst.st_dev, fst.st_ino) in seen_files:
                    continue
                resolved = path.resolve()
                if out_root in resolved.parents:
                    continue
                seen_files.add((fst.st_dev, fst.st_ino))
                found.append(path)
    return found


def name_not_text(path: Path) -> str:
    """Why a recording whose path is not UTF-8 text is not taken, and what to do."""
    return (f"its name is not UTF-8 text ({readable(str(path))}): rename it (convmv -f latin1 "
            "-t utf8 renames a folder of them) and run again")


def split_takeable(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """The paths a run can take, and those it cannot: a name of bytes that are not UTF-8
    cannot go into the ledger, the log or the run's event file."""
    return [p for p in paths if is_text(str(p))], [p for p in paths if not is_text(str(p))]


def missing_input_folders(config: Config) -> list[Path]:
    return roots.missing_input_folders(config.input.folders)
