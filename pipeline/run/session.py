"""What every run has around its files, whoever starts it: the one-run lock, hang-ups kept
from the processes it starts, its status and events beside the ledger for any other `talks`
to follow, the requests it takes from them, and the log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pipeline.config.settings import Config
from pipeline.run.control import RunControl
from pipeline.run.events import Event, FileFailed, LogLine, MemoryCheckpoint, OnEvent
from pipeline.run.hangup_mask import hangups_deferred
from pipeline.run.lock import exclusive_run
from pipeline.run.logs import get_logger
from pipeline.run.publish import RunPublisher, RunStatus
from pipeline.run.worker import StopFlag


class LoggedEvents:
    """Passes events on, and writes the ones worth keeping to the log file."""

    def __init__(self, config: Config, on_event: OnEvent):
        self.on_event = on_event
        self.memory = config.logging.memory
        self.log = get_logger()

    def __call__(self, event: Event) -> None:
        if isinstance(event, MemoryCheckpoint):
            if self.memory:
                extra = "".join(f", {name} {mb:.1f} MB" for name, mb in event.device_mb)
                if event.footprint_mb is not None:
                    extra = f", footprint {event.footprint_mb:.1f} MB{extra}"
                self.log.info("memory %s: rss %.1f MB, tree %.1f MB, process peak %.1f MB%s",
                              event.label, event.rss_mb, event.tree_rss_mb, event.peak_mb,
                              extra)
        elif isinstance(event, FileFailed):
            self.log.warning("failed %s at %s: %s", event.file, event.stage, event.reason)
        elif isinstance(event, LogLine):
            self.log.log(logging.getLevelName(event.level), "%s: %s", event.file, event.message)
        else:
            self.log.info("%s", event)
        self.on_event(event)


@dataclass(frozen=True)
class RunSession:
    emit: OnEvent  # every event of the run goes through here
    control: RunControl
    status: RunStatus


@contextmanager
def run_session(config: Config, on_event: OnEvent, control: StopFlag | None = None,
                face: str = "batch") -> Iterator[RunSession]:
    run_control = RunControl.of(control)
    with exclusive_run(config), hangups_deferred(), \
            RunPublisher(config.output.ledger_path.parent, face, config.source) as publisher:
        def fan_out(event: Event) -> None:
            run_control.observe(event)
            publisher.emit(event)
            on_event(event)

        emit = LoggedEvents(config, fan_out)
        run_control.attach(publisher.requests, emit, publisher.went_headless)
        yield RunSession(emit, run_control, publisher.status)
