"""A one-line Static that redraws only when its text really changes."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static


class Line(Static):
    def __init__(self, text: str = "", **kwargs) -> None:
        super().__init__(text, markup=False, **kwargs)
        self.shown_text = text
        self.updates = 0  # real redraws, for the slow-link tests

    def say(self, text: str) -> None:
        if text != self.shown_text:
            self.shown_text = text
            self.updates += 1
            self.update(text)


def short_path(path: Path) -> str:
    """A path as a person would type it: relative to here when below it, else with ~."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        pass
    home = Path.home()
    try:
        return "~/" + str(path.relative_to(home))
    except ValueError:
        return str(path)
