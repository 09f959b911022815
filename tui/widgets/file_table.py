"""The file browser: every recording in the input folders with its state from the ledger.

`scan_files` reads the folders and the ledger (in a thread: a big folder or a slow disk must
not stall the UI); `FileTable.show` then changes only the cells whose text changed, so a
refresh that finds nothing new sends nothing to the terminal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from rich.text import Text
from textual.widgets import DataTable

from common.media import MediaError, probe
from common.names import is_text, readable
from pipeline.api.archive import FileRow, FileState, Ledger, discover, name_not_text
from pipeline.api.configuration import Config
from tui.progress_model import QUEUED, LiveState, duration_text

COLUMNS = ("Recording", "State", "Length", "Speaker", "Title")
PAST = {FileState.PROBED: "probed", FileState.TRANSCRIBED: "transcribed",
        FileState.IDENTIFIED: "identified", FileState.TITLED: "titled"}


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


def state_of(entry: FileEntry, live: LiveState) -> tuple[str, str]:
    """The State column: its words and their style."""
    if entry.problem:
        return "failed: bad name", "bold red"  # the detail line says why
    word = live.state_of(entry.name)
    row = entry.row
    if word and word != QUEUED:
        return word, "bold cyan"
    if row is not None and row.state == FileState.FILED:
        return ("needs review", "bold yellow") if row.needs_review else ("filed", "green")
    if word:
        return word, "cyan"
    if row is None or row.state == FileState.NEW:
        return "new", ""
    if row.state == FileState.FAILED:
        return f"failed: {row.error or row.failed_stage}", "bold red"
    if row.state == FileState.SKIPPED:
        return f"skipped: {row.error or ''}", "yellow"
    if row.state == FileState.PROBED and entry.chunks_total:
        return f"transcribed {entry.chunks_done}/{entry.chunks_total}", "magenta"
    return PAST.get(row.state, row.state), "magenta"


def detail_of(entry: FileEntry, live: LiveState) -> str:
    """One line about the highlighted recording: where it went, or why it did not."""
    row = entry.row
    if entry.problem:
        return f"failed at discover: {entry.problem}"
    if row is None:
        return f"{entry.shown}: not processed yet"
    if row.state == FileState.FILED:
        where = Path(row.destination or "").name
        more = "  (r reviews it)" if row.needs_review else "  (t shows the transcript)"
        return f"→ {where}{more}"
    if row.state in (FileState.FAILED, FileState.SKIPPED):
        return f"{row.state} at {row.failed_stage or 'probe'}: {row.error or ''}"
    word = live.state_of(entry.name)
    if word:
        return f"{entry.shown}: {word}"
    return f"{entry.shown}: {state_of(entry, live)[0]}; s resumes it"


def fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def column_widths(width: int) -> tuple[int, ...]:
    """Fixed widths that fill the table without a horizontal scrollbar."""
    room = max(40, width - 2 * len(COLUMNS) - 2)
    length = 7
    recording = max(12, room * 25 // 100)
    state = max(18, room * 22 // 100)  # "transcribing 12/40" whole
    speaker = max(10, room * 16 // 100)
    return recording, state, length, speaker, max(6, room - recording - state - length - speaker)


class FileTable(DataTable):
    """The recordings; the cursor stays on the same recording across refreshes."""

    _one_row_only = False

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.entries: list[FileEntry] = []
        self._widths: tuple[int, ...] = ()
        self._cells: dict[str, tuple[tuple[str, str], ...]] = {}
        self._live = LiveState()
        self.cell_updates = 0  # cells redrawn, for the slow-link tests

    @property
    def current_entry(self) -> FileEntry | None:
        if not self.entries or self.cursor_row < 0 or self.cursor_row >= self.row_count:
            return None
        key = self.coordinate_to_cell_key((self.cursor_row, 0)).row_key.value
        return next((e for e in self.entries if e.key == key), None)

    def on_resize(self) -> None:
        widths = column_widths(self.size.width)
        if widths != self._widths:
            self._widths = widths
            self._rebuild(self._live)

    def _cells_of(self, entry: FileEntry, live: LiveState) -> tuple[tuple[str, str], ...]:
        """Each cell as (text, style): what decides whether it must be redrawn."""
        rec_w, state_w, _len_w, speaker_w, title_w = self._widths or column_widths(80)
        row = entry.row
        state, style = state_of(entry, live)
        dim = "" if entry.present else "dim"
        return ((fit(entry.shown, rec_w), dim),
                (fit(state, state_w), style),
                (duration_text(entry.duration).rjust(7), ""),
                (fit((row.speaker or "") if row else "", speaker_w), dim),
                (fit((row.title or "") if row else "", title_w), dim))

    def _rebuild(self, live: LiveState) -> None:
        keep = self.current_entry.key if self.current_entry else None
        self.clear(columns=True)
        widths = self._widths or column_widths(self.size.width or 80)
        for label, width in zip(COLUMNS, widths, strict=True):
            self.add_column(label, width=width, key=label)
        self._cells = {}
        for entry in self.entries:
            cells = self._cells_of(entry, live)
            self._cells[entry.key] = cells
            self.add_row(*(Text(t, style=st) for t, st in cells), key=entry.key)
        if keep is not None:
            index = next((i for i, e in enumerate(self.entries) if e.key == keep), 0)
            self.move_cursor(row=index)

    def show(self, entries: list[FileEntry] | None, live: LiveState) -> None:
        """New entries from a scan (or None: only the live states changed)."""
        self._live = live
        old_keys = [e.key for e in self.entries]
        if entries is not None:
            self.entries = entries
        self._carry_progress(live)
        if [e.key for e in self.entries] != old_keys:
            self._rebuild(live)
            return
        for index, entry in enumerate(self.entries):
            cells = self._cells_of(entry, live)
            before = self._cells.get(entry.key)
            if before == cells:
                continue
            self._one_row_only = True  # update_cell repaints the whole table; one row will do
            try:
                for column, (old, new) in enumerate(zip(before or (), cells, strict=False)):
                    if old != new:
                        self.update_cell(entry.key, COLUMNS[column], Text(new[0], style=new[1]))
                        self.cell_updates += 1
            finally:
                self._one_row_only = False
            self._cells[entry.key] = cells
            self.refresh_row(index)

    def _carry_progress(self, live: LiveState) -> None:
        # A file the run transcribed keeps the run's latest chunk count: when the run stops,
        # its row must say how far it got, not what the scan before its last chunks read. The
        # ledger's count wins when it is ahead or the plan differs.
        for index, entry in enumerate(self.entries):
            done, total = live.progress.get(entry.name, (0, 0))
            if total and entry.chunks_total in (0, total) and done > entry.chunks_done:
                self.entries[index] = replace(entry, chunks_done=done, chunks_total=total)

    def refresh(self, *regions, **options):
        if self._one_row_only and not regions and not options:
            return self
        return super().refresh(*regions, **options)
