"""Following a run of another process through the files it writes beside the ledger.

The app polls a `RunWatch` from a thread a few times a second while it runs no queue of its
own: the first poll that finds a run going hands over that run's events from its start, the
next ones what it wrote since, and the last says it is over (finished, stopped, or its
process gone without a word). No Textual here: `talks status` reads the same files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.api.runs import Event, EventTail, RunStatus, read_status


@dataclass
class WatchNews:
    began: RunStatus | None = None  # a run to follow was found; its events so far come along
    events: list[tuple[float, Event]] = field(default_factory=list)  # (when, event)
    over: bool = False  # the followed run is over; nothing more comes from it
    died: bool = False  # … and it ended without a word (killed, or the machine stopped)
    stopped: str | None = None  # … or it said why it ended early (a fault, a second Ctrl-C)


def describe_run(status: RunStatus) -> str:
    """Who runs it, as the status line says it: "batch, pid 4242"."""
    text = f"{status.face}, pid {status.pid}"
    if status.face == "app" and (status.headless or status.terminal() is None):
        text += ", headless"  # the app that started it lost its terminal and carries on
    return text


class RunWatch:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.tail: EventTail | None = None

    def poll(self) -> WatchNews | None:
        """What is new, or None when nothing is."""
        if self.tail is None:
            status = read_status(self.folder)
            if status is None or not status.going:
                return None
            tail = EventTail(self.folder, status.run)
            events = tail.read()
            if events is None:
                return None
            self.tail = tail
            return WatchNews(began=status, events=events)
        run = self.tail.run
        events = self.tail.read()
        status = read_status(self.folder)
        if events is not None and status is not None and status.run == run and status.going:
            return WatchNews(events=events) if events else None
        if events is not None:  # it ended as we looked: what it wrote last is wanted too
            events += self.tail.read() or []
        self.tail = None
        ours = status is not None and status.run == run
        return WatchNews(events=events or [], over=True, died=ours and status.died,
                         stopped=status.stopped if ours else None)
