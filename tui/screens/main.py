"""The main screen: the recordings and their states, the file in progress, memory."""

from __future__ import annotations

from pathlib import Path

from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from common.names import counted
from pipeline.api.archive import FileEntry, FileState, Ledger
from tui.progress_model import LiveState
from tui.screens.config_editor import SettingsScreen
from tui.screens.log import LogScreen
from tui.screens.review import ReviewScreen
from tui.screens.search import SearchScreen
from tui.screens.speakers import SpeakersScreen
from tui.screens.transcript import TranscriptScreen, in_language
from tui.screens.voices import VoicesScreen
from tui.widgets.file_table import FileTable, detail_of
from tui.widgets.line import Line
from tui.widgets.memory_gauge import MemoryGauge
from tui.widgets.progress_panel import ProgressPanel

# Footer keys that give way, first to last, when the footer is too narrow for every key.
SPARE_KEYS = ("log", "settings", "transcript", "search")


def footer_width(app: App, bindings: dict[str, ActiveBinding]) -> int:
    """Columns a compact Footer takes for these bindings: "key description", a space
    between two (the last one's may fall off the edge)."""
    return sum(cell_len(app.get_key_display(b.binding)) + cell_len(b.binding.description) + 2
               for b in bindings.values() if b.binding.show) - 1


class MainScreen(Screen):
    BINDINGS = [
        Binding("s", "app.start", "Start"),
        Binding("s", "app.more", "More"),  # while a run is going: take new recordings too
        Binding("p", "app.pause", "Pause"),
        Binding("p", "app.go_on", "Go on"),  # while pausing, or paused
        Binding("c", "app.cancel", "Stop"),
        Binding("w", "app.watch", "Watch"),
        Binding("w", "app.stop_watching", "Stop watching"),  # while watching
        Binding("t", "transcript", "Text"),
        Binding("slash", "search", "Find", key_display="/"),
        Binding("r", "review", "Review"),
        Binding("k", "speakers", "Speakers"),
        Binding("v", "voices", "Voices", show=False),  # (from the speakers screen too; ? lists it)
        Binding("o", "settings", "Settings"),
        Binding("l", "log", "Log"),
    ]

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The keys the footer shows: at 80 columns there is no room for all of them while a
        run goes (s p c and w Stop watching), and a footer too long loses its end, q Quit.
        The keys of SPARE_KEYS leave it then, in that order; they still work, and ? lists
        them."""
        bindings = super().active_bindings
        for action in SPARE_KEYS:
            if footer_width(self.app, bindings) <= self.size.width:
                break
            bindings = {key: b for key, b in bindings.items() if b.binding.action != action}
        return bindings

    def on_resize(self) -> None:
        self.refresh_bindings()  # narrower or wider: the footer fits again

    def compose(self) -> ComposeResult:
        yield Line("", id="status")
        yield FileTable(id="files")
        yield Line("", id="detail")
        with Horizontal(id="panels"):
            yield ProgressPanel(id="progress")
            yield MemoryGauge(self.app.machine_mb, id="memory")
        yield Footer(compact=True)

    def __init__(self) -> None:
        super().__init__()
        self.new_entries: list[FileEntry] | None = None
        self.stale = False
        self.voices_waiting = 0  # groups of voices heard in two or more talks, not named

    def on_mount(self) -> None:
        self.app.main_screen_ready()

    @property
    def table(self) -> FileTable:
        return self.query_one(FileTable)

    # --- fed by the app --------------------------------------------------------------------
    # While another screen is on top, nothing here is drawn: Textual would repaint that
    # whole screen for every change down here, once a second, over the link. The news is
    # kept and drawn when this screen is back.
    def show_entries(self, entries: list[FileEntry], voices: int | None = None) -> None:
        self.new_entries = entries
        if voices is not None:
            self.voices_waiting = voices
        self.show_live(self.app.live, self.app.clock())

    @property
    def drawable(self) -> bool:
        """On top and whole: news that comes in while the app quits (a scan finishing as the
        screen's widgets are taken down) has nothing left to draw on."""
        return self.is_active and bool(self.query(FileTable))

    def show_live(self, live: LiveState, now: float) -> None:
        if not self.drawable:
            self.stale = True
            return
        self.table.show(self.new_entries, live)
        self.new_entries = None
        self.query_one(ProgressPanel).show(live, now)
        self.query_one(MemoryGauge).show_checkpoints(
            live.current.checkpoints if live.current else [])
        self._show_status(live)
        self._show_detail()

    def show_clock(self, live: LiveState, now: float) -> None:
        if self.drawable:
            self.query_one(ProgressPanel).show(live, now)

    def add_memory_sample(self, mb: float) -> None:
        for gauge in self.query(MemoryGauge):
            gauge.add_sample(mb, draw=self.is_active)

    def on_screen_resume(self) -> None:
        if self.stale and self.drawable:
            self.stale = False
            self.show_live(self.app.live, self.app.clock())
            self.query_one(MemoryGauge).draw()

    @property
    def to_do(self) -> int:
        """The recordings a start would work on: new, unfinished or failed."""
        return sum(1 for e in self.table.entries if e.present and not e.problem and not (
            e.row and e.row.state in (FileState.FILED, FileState.SKIPPED)))

    def _show_status(self, live: LiveState) -> None:
        entries = self.table.entries
        filed = sum(1 for e in entries if e.row and e.row.state == FileState.FILED)
        review = sum(1 for e in entries
                     if e.row and e.row.state == FileState.FILED and e.row.needs_review)
        failed = sum(1 for e in entries
                     if e.problem or (e.row and e.row.state == FileState.FAILED))
        waiting = self.to_do
        counts = [f"{len(entries)} recordings", f"{filed} filed"]
        if review:
            counts.append(f"{review} to review")
        if failed:
            counts.append(f"{failed} failed")
        if live.stopping_now:
            queue = "stopping now"
        elif live.stopping:
            queue = "stopping after this chunk"
        elif live.pausing:
            queue = "pausing after this file"
        elif live.running:
            queue = "running, then a look for more" if live.more_asked else "running"
        else:
            # Watching, an idle queue is waiting for recordings; paused, for p.
            word = "watching" if self.app.watching.on else "paused" if live.paused else "idle"
            queue = f"{word}, {waiting} to do" if waiting else word
        if live.run_by:
            queue += f" ({live.run_by})"
        if live.running and self.app.watching.on:
            queue += ", watching"
        # Last: on a narrow screen a long line loses this, not the state of the queue.
        voices = (f" · {counted(self.voices_waiting, 'voice')} to name (v)"
                  if self.voices_waiting else "")
        self.query_one("#status", Line).say(f"talks · {', '.join(counts)} · queue {queue}"
                                            f"{voices}")

    def _show_detail(self) -> None:
        entry = self.table.current_entry
        self.query_one("#detail", Line).say(detail_of(entry, self.app.live) if entry else
                                            "No recordings in the input folders yet.")

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        if self.drawable:  # a highlight can still arrive from a table being removed
            self._show_detail()

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_transcript()

    # --- actions ---------------------------------------------------------------------------
    def action_transcript(self) -> None:
        entry = self.table.current_entry
        if entry is None or entry.row is None:
            self.notify("Nothing transcribed yet for this recording.")
            return
        path = entry.transcript
        if path is not None and path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            self.app.push_screen(TranscriptScreen(path.name + in_language(entry.row.language),
                                                  text))
            return
        with Ledger(self.app.config.output.ledger_path) as ledger:
            chunks = [c.text for c in ledger.chunks(entry.row.id) if c.text]
        if not chunks:
            self.notify("Nothing transcribed yet for this recording.")
            return
        title = (f"{Path(entry.shown).name}{in_language(entry.row.language)} "
                 f"(so far: {len(chunks)} chunk(s))")
        self.app.push_screen(TranscriptScreen(title, "\n\n".join(chunks)))

    def action_search(self) -> None:
        self.app.push_screen(SearchScreen())

    def action_review(self) -> None:
        self.app.push_screen(ReviewScreen())

    def action_speakers(self) -> None:
        self.app.push_screen(SpeakersScreen())

    def action_voices(self) -> None:
        self.app.push_screen(VoicesScreen())

    def action_settings(self) -> None:
        self.app.push_screen(SettingsScreen())

    def action_log(self) -> None:
        self.app.push_screen(LogScreen())
