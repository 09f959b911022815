"""The log file, followed live: every event of the queue, failures, memory checkpoints."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, RichLog

from tui.widgets.line import Line, short_path

TAIL_BYTES = 64_000  # what is shown of a long log at first
MAX_LINES = 5000


class LogScreen(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self) -> None:
        super().__init__()
        self.read_to = 0
        self.shown: list[str] = []  # the lines written, as text
        self.mid_line = False

    def compose(self) -> ComposeResult:
        yield Line(f"Log · {short_path(self.app.config.logging.file)}", id="screen-title")
        yield RichLog(id="log", max_lines=MAX_LINES, wrap=True, markup=False, highlight=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        path = self.app.config.logging.file
        size = path.stat().st_size if path.is_file() else 0
        self.read_to = max(0, size - TAIL_BYTES)
        self.mid_line = self.read_to > 0
        self.follow()
        self.set_interval(1.0, self.follow)

    def follow(self) -> None:
        """Show what was written since the last look (nothing to send when nothing was)."""
        path = self.app.config.logging.file
        if not path.is_file():
            return
        size = path.stat().st_size
        if size < self.read_to:  # rotated
            self.read_to = 0
        if size == self.read_to:
            return
        with open(path, "rb") as handle:
            handle.seek(self.read_to)
            data = handle.read(size - self.read_to)
        cut = data.rfind(b"\n") + 1  # whole lines only; the rest comes next time
        if cut == 0:
            return
        self.read_to += cut
        lines = data[:cut].decode("utf-8", "replace").splitlines()
        if self.mid_line:  # the tail began inside a line: leave that piece out
            lines, self.mid_line = lines[1:], False
        log = self.query_one(RichLog)
        for line in lines:
            log.write(Text(line))
        self.shown = (self.shown + lines)[-MAX_LINES:]
