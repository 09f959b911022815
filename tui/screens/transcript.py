"""A filed talk's transcript (or the chunks transcribed so far), read-only."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, TextArea

from tui.widgets.line import Line


class TranscriptScreen(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.body_text = text

    def compose(self) -> ComposeResult:
        yield Line(self.title_text, id="screen-title")
        area = TextArea(self.body_text, read_only=True, soft_wrap=True, id="transcript")
        area.cursor_blink = False  # a blinking cursor is a redraw twice a second
        yield area
        yield Footer(compact=True)
