"""What the file browser lists: every recording in the input folders with its ledger row,
and the talks the ledger filed from elsewhere. Read in one go, off the UI's thread."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from common.media import MediaError, probe
from common.names import is_text, readable
from pipeline.config.settings import Config
from pipeline.inbox.discover import discover, name_not_text
from pipeline.ledger import FileRow, Ledger
from pipeline.run.states import FileState


@dataclass(frozen=True)
class FileEntry:
    key: str
    name: str  # the file name, as the pipeline's events call it
    shown: str  # the path below its input folder
    row: FileRow | None  # None: the ledger has not seen it yet
    chunks_done: int = 0
    chunks_total: int = 0
    present: bool = True  # False: filed earlier, no longer in the input folders
    probed_seconds: float | None = None  # the length of a recording the ledger has not seen
    problem: str | None = None  # why no run can take it, known before any run (its name)

    @property
    def duration(self) -> float | None:
        if self.row is not None and self.row.duration is not None:
            return self.row.duration
        return self.probed_seconds

    @property
    def transcript(self) -> Path | None:
        if self.row is None or self.row.state != FileState.FILED:
            return None
        texts = [Path(p) for p in self.row.transcripts if p.endswith(".txt")]
        return texts[0] if texts else None


def _shown(path: Path, folders: list[Path]) -> str:
    for folder in folders:
        try:
            return str(path.relative_to(folder))
        except ValueError:
            continue
    return path.name


# Lengths of recordings the ledger has not probed yet, by (path, size, mtime): ffprobe reads
# only headers, but a folder of years of talks is thousands of files, so each scan probes for
# at most PROBE_BUDGET_S and the next scan (every few seconds) goes on where it stopped.
PROBE_BUDGET_S = 1.5
_lengths: dict[tuple[str, int, int], float | None] = {}
_unprobed = 0  # recordings the last scan had no time to probe


def lengths_pending() -> bool:
    """Did the last scan leave lengths to find? (Then the next one should come soon.)"""
    return _unprobed > 0


def probed_length(path: Path, deadline: float) -> float | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _lengths:
        if time.monotonic() > deadline:
            global _unprobed
            _unprobed += 1
            return None
        try:
            _lengths[key] = probe(path).duration
        except MediaError:
            _lengths[key] = None  # the pipeline will say why, in the State column
    return _lengths[key]


def scan_files(config: Config, probe_s: float | None = None) -> list[FileEntry]:
    """The recordings of the input folders, and those the ledger filed from elsewhere.

    `probe_s`: at most this long for ffprobing lengths not known yet (PROBE_BUDGET_S)."""
    paths = discover(config)
    rows: list[FileRow] = []
    partial: dict[int, tuple[int, int]] = {}
    if config.output.ledger_path.exists():
        with Ledger(config.output.ledger_path) as ledger:
            rows = ledger.all_files()
            for row in rows:
                if row.state == FileState.PROBED:
                    chunks = ledger.chunks(row.id)
                    partial[row.id] = (sum(c.done for c in chunks), len(chunks))
    by_path = {row.path: row for row in rows}
    global _unprobed
    _unprobed = 0
    entries = []
    deadline = time.monotonic() + (PROBE_BUDGET_S if probe_s is None else probe_s)
    for path in paths:
        if not is_text(str(path)):
            entries.append(FileEntry(str(path), readable(path.name),
                                     readable(_shown(path, config.input.folders)), None,
                                     problem=name_not_text(path)))
            continue
        row = by_path.pop(str(path), None)
        done, total = partial.get(row.id, (0, 0)) if row else (0, 0)
        length = probed_length(path, deadline) if row is None or row.duration is None else None
        entries.append(FileEntry(str(path), path.name, _shown(path, config.input.folders),
                                 row, done, total, probed_seconds=length))
    for row in by_path.values():
        if row.state == FileState.FILED:
            entries.append(FileEntry(f"ledger:{row.id}", row.name, row.name, row, present=False))
    return entries


