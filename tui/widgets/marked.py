"""Text from the search with its found words marked (MARK_ON … MARK_OFF), as Rich Text: a
transcript's `[` or `\\` is only a character here, never markup. And a row of a time and
such text, as the search's moments and a transcript's cues are shown."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from pipeline.api.search import MARK_OFF, MARK_ON

MARK_STYLE = "bold reverse"  # legible in every theme, and on the highlighted row
_PIECES = re.compile(f"([{MARK_ON}{MARK_OFF}])")


def marked_text(text: str, style: str = MARK_STYLE) -> Text:
    """`text` without its marks, the words between them in `style`."""
    out = Text()
    marked = False
    for piece in _PIECES.split(text):
        if piece == MARK_ON:
            marked = True
        elif piece == MARK_OFF:
            marked = False
        elif piece:
            out.append(piece, style if marked else None)
    return out


@dataclass(frozen=True)
class Timed:
    """A row of a time and the words said then (a Rich renderable): the words wrap under
    themselves, not under the time."""

    at: str
    text: Text
    indent: int = 0

    @property
    def plain(self) -> str:
        return f"{' ' * self.indent}{self.at}  {self.text.plain}"

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        grid = Table.grid(padding=(0, 2, 0, 0))
        grid.add_column(no_wrap=True, style="dim")
        grid.add_column(ratio=1)
        grid.add_row(self.at, self.text)
        yield Padding(grid, (0, 0, 0, self.indent)) if self.indent else grid
