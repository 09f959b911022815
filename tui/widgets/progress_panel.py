"""Live progress of the file being worked on: stage, chunk n of m with a bar, elapsed and
remaining time, and the latest transcribed line.

Each line is its own small widget and is updated only when its text changes, so the
once-a-second clock redraws one short line, not the panel.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import ProgressBar

from tui.progress_model import LiveState, duration_text
from tui.widgets.line import Line


class ProgressPanel(Vertical):
    def compose(self) -> ComposeResult:
        yield Line("Idle.", id="now-file")
        with Horizontal(id="now-chunks"):
            yield Line("", id="now-chunk-label")
            yield ProgressBar(total=1, show_eta=False, id="now-bar")
        yield Line("", id="now-times")
        yield Line("", id="now-line")

    def on_mount(self) -> None:
        self.border_title = "Now"
        self.query_one("#now-chunks").display = False

    def show(self, live: LiveState, now: float) -> None:
        cur = live.current
        file_line = self.query_one("#now-file", Line)
        chunks = self.query_one("#now-chunks")
        times = self.query_one("#now-times", Line)
        latest = self.query_one("#now-line", Line)
        # Idle, the first line is a sentence (how the run ended, what a key does next): it may
        # wrap over the lines the times would use, not be cut mid-word (talks.tcss).
        self.set_class(cur is None, "-idle")
        times.display = cur is not None
        if cur is None:
            chunks.display = False
            file_line.say(_idle_text(live))
            times.say("")
            latest.say(live.last_news)
            return
        where = f"[{cur.position}/{live.total}] " if cur.position and live.total else ""
        spoken = f" · {cur.language_text}" if cur.language else ""
        file_line.say(f"{where}{cur.name} — {cur.state_text}{spoken}")
        if cur.chunks_total:
            chunks.display = True
            self.query_one("#now-chunk-label", Line).say(
                f"chunk {cur.chunks_done}/{cur.chunks_total} ")
            bar = self.query_one("#now-bar", ProgressBar)
            if (bar.total, bar.progress) != (cur.chunks_total, cur.chunks_done):
                bar.update(total=cur.chunks_total, progress=cur.chunks_done)
        else:
            chunks.display = False
        left = cur.seconds_left(now)
        left_text = f" · about {duration_text(left)} left" if left is not None else ""
        resumed = f" · {cur.resumed_chunks} chunk(s) resumed" if cur.resumed_chunks else ""
        times.say(f"elapsed {duration_text(max(0.0, now - cur.started))}{left_text}{resumed}")
        if cur.last_line:
            # The newest words matter: keep the end of the line, not its start.
            room = max(10, latest.size.width - 2)
            line = cur.last_line
            tail = line if len(line) <= room else "…" + line[-(room - 1):]
            latest.say(f"“{tail}”")
        else:
            latest.say(cur.decision)


def _idle_text(live: LiveState) -> str:
    if live.problem:
        return live.problem
    if live.running:
        return "Looking for recordings…"
    if live.ended:
        return live.ended
    if live.finished is not None:
        f = live.finished
        return (f"Done in {duration_text(f.seconds)}: {f.filed} filed, {f.failed} failed, "
                f"{f.skipped} skipped, {f.unchanged} filed before.")
    return "Idle. s starts the queue."
