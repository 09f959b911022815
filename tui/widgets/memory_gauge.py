"""Memory gauge: RSS of this program and its child processes against the machine's memory,
a short history as a sparkline, and the memory checkpoints of the current file.

The app feeds it one sample a second (`add_sample`); readings come from an injectable
sampler so tests can make it deterministic.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.widgets import Sparkline

from tui.widgets.line import Line

HISTORY = 240  # samples kept (four minutes at one a second)
BLOCKS = "▁▂▃▄▅▆▇█"


def bars(values: Sequence[float], width: int) -> str:
    """One block per sample, newest on the right, scaled from the lowest to the highest."""
    recent = list(values)[-width:] if width > 0 else []
    if not recent:
        return ""
    low, high = min(recent), max(recent)
    top = len(BLOCKS) - 1
    scaled = [round((v - low) / (high - low) * top) if high > low else 0 for v in recent]
    return " " * (width - len(recent)) + "".join(BLOCKS[i] for i in scaled)


class QuietSparkline(Sparkline):
    """A Sparkline drawn as one run of text in one colour, and redrawn only when its bars
    change: Textual's own gives every cell a colour code of its own, ~1 KB a second here."""

    def __init__(self, **kwargs) -> None:
        super().__init__([], **kwargs)
        self.shown_bars = ""

    def render(self) -> Text:
        return Text(bars(self.data or [], self.size.width))

    def show(self, values: Sequence[float]) -> None:
        if not self.size.width:  # not laid out yet: draw whatever comes when it is
            self.data = list(values)
            return
        drawn = bars(values, self.size.width)
        if drawn != self.shown_bars:
            self.shown_bars = drawn
            self.data = list(values)


def mb_text(mb: float) -> str:
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.0f} MB"


class MemoryGauge(Vertical):
    def __init__(self, machine_mb: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.machine_mb = machine_mb
        self.history: deque[float] = deque(maxlen=HISTORY)
        self.checkpoints: list[tuple[str, float]] = []

    def compose(self) -> ComposeResult:
        yield Line("", id="mem-now")
        yield QuietSparkline(id="mem-spark")
        yield Line("", id="mem-range")
        yield Line("", id="mem-checks")

    def on_mount(self) -> None:
        self.border_title = "Memory"

    def add_sample(self, mb: float, draw: bool = True) -> None:
        self.history.append(float(round(mb)))  # whole MB: a wobble of kBs redraws nothing
        if draw:
            self.draw()

    def draw(self) -> None:
        if not self.history:
            return
        try:
            self._draw()
        except NoMatches:
            # The app's quarter-second timer can fire while the screen is being taken down
            # (or before the gauge's lines are composed): nothing to draw on, and the samples
            # are kept for the next draw.
            pass

    def _draw(self) -> None:
        mb = self.history[-1]
        share = 100 * mb / self.machine_mb if self.machine_mb else 0.0
        self.query_one("#mem-now", Line).say(
            f"{mb_text(mb)} of {mb_text(self.machine_mb)} · {share:.0f}%")
        # The sparkline spans the lowest to the highest sample it shows; this gives the scale.
        spark = self.query_one(QuietSparkline)
        window = list(self.history)[-max(1, spark.size.width):]
        span = f"{len(window) / 60:.0f} min" if len(window) >= 60 else f"{len(window)} s"
        self.query_one("#mem-range", Line).say(
            f"{span}: {mb_text(min(window))} – {mb_text(max(window))}")
        spark.show(self.history)

    def show_checkpoints(self, checkpoints: list[tuple[str, float]]) -> None:
        if checkpoints == self.checkpoints:
            return
        self.checkpoints = list(checkpoints)
        width = max(20, self.query_one("#mem-checks").size.width)
        parts: list[str] = []
        for label, mb in reversed(checkpoints):  # the newest must show; old ones drop off
            part = f"{label} {mb:.0f}"
            if sum(len(p) + 3 for p in parts) + len(part) > width:
                break
            parts.insert(0, part)
        self.query_one("#mem-checks", Line).say(" · ".join(parts) if parts else "")
