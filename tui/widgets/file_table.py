"""The file browser: every recording in the input folders with its state from the ledger.

`scan_files` (pipeline/inbox/listing.py, through the api) reads the folders and the ledger, in
a thread: a big folder or a slow disk must not stall the UI; `FileTable.show` then changes
only the cells whose text changed, so a refresh that finds nothing new sends nothing to the
terminal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from rich.text import Text
from textual.widgets import DataTable

from pipeline.api.archive import FileEntry, FileState, language_name
from tui.progress_model import QUEUED, LiveState, duration_text

COLUMNS = ("Recording", "State", "Length", "Speaker", "Title")
PAST = {FileState.PROBED: "probed", FileState.TRANSCRIBED: "transcribed",
        FileState.IDENTIFIED: "identified", FileState.TITLED: "titled"}


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
        spoken = f" · {language_name(row.language)}" if row.language else ""
        more = "  (r reviews it)" if row.needs_review else "  (t shows the transcript)"
        return f"→ {where}{spoken}{more}"
    if row.state in (FileState.FAILED, FileState.SKIPPED):
        return f"{row.state} at {row.failed_stage or 'probe'}: {row.error or ''}"
    word = live.state_of(entry.name)
    if word:
        return f"{entry.shown}: {word}"
    return f"{entry.shown}: {state_of(entry, live)[0]}; s resumes it"


def fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


REC, STATE, LENGTH, SPEAKER, TITLE = range(len(COLUMNS))
STATE_FLOOR = 18  # "transcribing 12/40" whole
ANY_WIDTH = 10_000  # a column whose text is not measured: it takes whatever room is left


def column_widths(width: int, wants: tuple[int, ...] | None = None) -> tuple[int, ...]:
    """Widths that fill the table without a horizontal scrollbar. Each column has its share
    of the width; given `wants` (the longest text of each column), a column keeps only what
    it needs of its share, and the room so freed goes to the names a person looks for, the
    recording and the speaker, then to the title, the rest to the state. When the recording
    and the speaker still want more, the state gives up its share down to STATE_FLOOR."""
    room = max(40, width - 2 * len(COLUMNS) - 2)
    recording = max(12, room * 25 // 100)
    state = max(STATE_FLOOR, room * 22 // 100)
    speaker = max(10, room * 16 // 100)
    shares = [recording, state, 7, speaker, max(6, room - recording - state - 7 - speaker)]
    if wants is None:
        return tuple(shares)
    widths = list(shares)
    for column in (REC, SPEAKER, TITLE):
        widths[column] = min(shares[column], wants[column])
    spare = max(0, room - sum(widths))  # (a terminal too narrow for the floors has none)
    for column in (REC, SPEAKER):
        grow = min(wants[column] - widths[column], spare + widths[STATE] - STATE_FLOOR)
        if grow > 0:
            from_spare = min(grow, spare)
            spare -= from_spare
            widths[STATE] -= grow - from_spare
            widths[column] += grow
    grow = max(0, min(wants[TITLE] - widths[TITLE], spare))
    widths[TITLE] += grow
    widths[STATE] += spare - grow
    return tuple(widths)


def column_wants(entries: list[FileEntry]) -> tuple[int, ...]:
    """The longest text of each column (its heading at least). The state's is left open:
    it changes as a run goes, and a table rebuilt at each change would redraw whole."""
    def longest(column: int, texts: Iterable[str]) -> int:
        return max([len(COLUMNS[column]), *(len(t) for t in texts)])

    rows = [e.row for e in entries if e.row is not None]
    return (longest(REC, (e.shown for e in entries)), ANY_WIDTH, 7,
            longest(SPEAKER, (r.speaker or "" for r in rows)),
            longest(TITLE, (r.title or "" for r in rows)))


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
        self._fit_columns()

    def _fit_columns(self) -> bool:
        """Widths for this width and these recordings; True when they changed (and the
        table was rebuilt with them)."""
        widths = column_widths(self.size.width or 80, column_wants(self.entries))
        if widths == self._widths:
            return False
        self._widths = widths
        self._rebuild(self._live)
        return True

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
        widths = self._widths or column_widths(self.size.width or 80, column_wants(self.entries))
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
        # New names, speakers or titles may want the columns laid out again.
        if entries is not None and self._fit_columns():
            return
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
