"""The talks terminal app: the queue in a thread worker, its events as messages, the screens.

The pipeline runs in a Textual thread worker (its models in a child process of their own), so
the UI never waits on a model. Each pipeline event is posted as a `PipelineEvent` message
(`post_message` is thread-safe and never blocks the worker); the app folds it into a
`LiveState` at once and the widgets redraw from that state at most four times a second, so
a burst of events costs one redraw.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from multiprocessing import resource_tracker
from pathlib import Path

from textual.app import App
from textual.binding import Binding

from pipeline.config import Config
from pipeline.events import (
    BatchFinished,
    ChunkPlanned,
    Event,
    FileFailed,
    FileFiled,
    FileSkipped,
    StageStarted,
)
from pipeline.logs import get_logger
from pipeline.media import MediaError
from pipeline.memory import machine_total_mb, tree_rss_mb
from pipeline.runner import BusyError, missing_input_folders, run_batch
from tui.screens.help import HelpScreen
from tui.screens.main import MainScreen
from tui.widgets.file_table import lengths_pending, scan_files
from tui.widgets.line import short_path
from tui.widgets.live import LiveState
from tui.widgets.messages import FilesScanned, PipelineEvent, QueueEnded

BatchRunner = Callable[..., object]  # run_batch(config, on_event, cancel)
RESCAN_SECONDS = 10.0  # new recordings dropped into an input folder show up this soon
# Events after which the ledger has news for the file table.
LEDGER_NEWS = (StageStarted, ChunkPlanned, FileFiled, FileFailed, FileSkipped, BatchFinished)


class QueueControl:
    """The `cancel` the queue hands to run_batch.

    cancel: stop between chunks (the ledger keeps every finished chunk; the next start
    resumes). pause: let the file in progress finish, then take no other. run_batch asks
    `is_set()` between chunks, stages and files; during a file only a cancel answers yes.
    """

    def __init__(self) -> None:
        self.cancel = threading.Event()
        self.pause = threading.Event()
        self._in_file = False

    def observe(self, event: Event) -> None:
        # Called on the worker thread, before run_batch asks is_set() again.
        if isinstance(event, StageStarted):
            self._in_file = True
        elif isinstance(event, FileFiled | FileFailed | FileSkipped):
            self._in_file = False

    def is_set(self) -> bool:
        return self.cancel.is_set() or (self.pause.is_set() and not self._in_file)


class TalksApp(App):
    CSS_PATH = "talks.tcss"
    TITLE = "talks"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, config: Config, config_path: Path | None = None, *,
                 runner: BatchRunner = run_batch,
                 sampler: Callable[[], float] | None = None,
                 machine_mb: float | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 ticking: bool = True, start: bool = False, full_scan: bool = False) -> None:
        """`runner`, `sampler`, `machine_mb`, `clock` and `ticking` are for tests: a fake
        pipeline, fixed memory readings, and no timers (a still picture for snapshots)."""
        super().__init__()
        self.start_at_once = start  # `talks --start`: the queue starts with the app
        self.full_scan = full_scan  # `talks --full-scan`: the first start redoes every file
        # multiprocessing starts its resource tracker on first use and hands it our stderr;
        # while the app runs, sys.stderr is Textual's capture (no file number), so the
        # worker process of the first file could not start. Start the tracker now, with
        # its stderr away from the screen (after a quit-at-once it would warn there).
        with open(os.devnull, "w") as quiet, contextlib.redirect_stderr(quiet):
            resource_tracker.ensure_running()
        self.config = config
        self.config_path = config_path or config.source or Path("config.toml")
        self.runner = runner
        self.sampler = sampler or (lambda: tree_rss_mb(os.getpid()))
        self.machine_mb = machine_mb if machine_mb is not None else machine_total_mb()
        self.clock = clock
        self.ticking = ticking
        self.live = LiveState()
        self.control: QueueControl | None = None
        self.main_screen = MainScreen()
        self.quit_requested = False  # q while the queue runs: quit when it has stopped
        self.quit_at_once = False  # q again: quit while a chunk is still being transcribed
        self.leaving = False
        self._shown_version = -1
        self._scan_wanted = True
        self._scanning = False
        self._last_scan = 0.0
        self._scans = 0

    # --- life ----------------------------------------------------------------------------
    def get_default_screen(self) -> MainScreen:
        return self.main_screen

    def main_screen_ready(self) -> None:
        """The main screen is composed: fill it, then keep it fresh."""
        self.main_screen.add_memory_sample(self.sampler())
        for folder in missing_input_folders(self.config):
            self.notify(f"Input folder {short_path(folder)} does not exist: create it, or fix "
                        "input.folders in the settings (o).", severity="warning", timeout=15)
        if self.ticking:
            self.set_interval(1.0, self._every_second)
            self.set_interval(0.25, self._every_quarter)
            self._every_quarter()
        else:
            self.main_screen.show_entries(scan_files(self.config))
            self._show_live()
        if self.start_at_once:
            self.action_start()

    def _every_second(self) -> None:
        self.main_screen.add_memory_sample(self.sampler())
        if self.live.current is not None:
            self.main_screen.show_clock(self.live, self.clock())
        if self.clock() - self._last_scan > RESCAN_SECONDS:
            self._scan_wanted = True

    def _every_quarter(self) -> None:
        if self.live.version != self._shown_version:
            self._show_live()
        if self._scan_wanted and not self._scanning:
            self._scan_wanted, self._scanning = False, True
            self._last_scan = self.clock()
            self.run_worker(self._scan, thread=True, group="scan", exit_on_error=False)

    def _show_live(self) -> None:
        self._shown_version = self.live.version
        self.main_screen.show_live(self.live, self.clock())

    def request_scan(self) -> None:
        """Read the folders and the ledger again soon (after a relabel, a new config …)."""
        self._scan_wanted = True
        if not self.ticking:
            self.main_screen.show_entries(scan_files(self.config))

    def _scan(self) -> None:
        # The first scan lists the files at once; lengths of new ones follow from the next.
        first = self._scans == 0
        self._scans += 1
        try:
            self.post_message(FilesScanned(scan_files(self.config, 0.0 if first else None)))
            if lengths_pending():
                self._scan_wanted = True
        except Exception as exc:  # noqa: BLE001 - a scan that fails must not end the app
            get_logger().exception("scanning the input folders failed")
            self.post_message(FilesScanned(None, f"Could not read the folders or the ledger "
                                                 f"({exc}); the log has the details."))

    def on_files_scanned(self, message: FilesScanned) -> None:
        self._scanning = False
        if message.entries is not None:
            self.main_screen.show_entries(message.entries)
        elif message.problem:
            self.notify(message.problem, severity="error")

    # --- the queue -----------------------------------------------------------------------
    @property
    def queue_running(self) -> bool:
        return self.live.running

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start":
            return not self.live.running
        if action in ("pause", "cancel"):
            return self.live.running
        return True

    def action_start(self) -> None:
        if self.live.running or self.leaving:
            return
        self.control = QueueControl()
        self.live.begin()
        self.refresh_bindings()
        self.run_worker(self._run_queue, thread=True, group="queue", exit_on_error=False)

    def _run_queue(self) -> None:
        control = self.control
        assert control is not None
        config = self.config  # a settings change applies from the next start
        full_scan, self.full_scan = self.full_scan, False

        def on_event(event: Event) -> None:
            control.observe(event)
            self.post_message(PipelineEvent(event))

        problem = None
        try:
            if full_scan:
                self.runner(config, on_event, control, full_scan=True)
            else:
                self.runner(config, on_event, control)
        except (BusyError, MediaError) as exc:
            problem = str(exc)
        except Exception as exc:  # noqa: BLE001 - said in the UI, detailed in the log
            get_logger().exception("the queue stopped")
            problem = (f"The queue stopped ({type(exc).__name__}: {exc}); the log has the "
                       "details.")
        self.post_message(QueueEnded(problem))

    def on_pipeline_event(self, message: PipelineEvent) -> None:
        self.live.apply(message.event, self.clock())
        if isinstance(message.event, LEDGER_NEWS):
            self._scan_wanted = True

    def on_queue_ended(self, message: QueueEnded) -> None:
        control = self.control
        ended = ""
        if control is not None and control.cancel.is_set():
            ended = "Stopped. Finished chunks are kept: s resumes where it stopped."
        elif control is not None and control.pause.is_set():
            ended = "Paused after the file in progress: s goes on with the next one."
        self.control = None
        self.live.end(message.problem, ended)
        self.refresh_bindings()
        self._scan_wanted = True
        if message.problem:
            self.notify(message.problem, severity="error", timeout=10)
        if self.quit_requested:
            self.leaving = True
            self.exit()

    def action_pause(self) -> None:
        if self.control is None:
            return
        if self.control.pause.is_set():
            self.control.pause.clear()
            self.notify("Going on: the queue takes the next file as usual.")
        else:
            self.control.pause.set()
            self.notify("Pausing: the file in progress finishes, then the queue waits.")
        self.live.pausing = self.control.pause.is_set()
        self.live.changed()

    def action_cancel(self) -> None:
        if self._stop():
            self.notify("Stopping after the current chunk; finished chunks are kept.")

    def _stop(self) -> bool:
        if self.control is None:
            return False
        self.control.cancel.set()
        self.live.stopping = True
        self.live.changed()
        return True

    async def action_quit(self) -> None:
        if not self.live.running:
            self.leaving = True  # keys typed after q must not start anything
            self.exit()
            return
        if self.quit_requested:
            self.leaving = self.quit_at_once = True
            self.exit()
            return
        self.quit_requested = True
        self._stop()
        self.notify("Quitting after the current chunk. Press q again to quit at once: the "
                    "next start resumes at that chunk.", timeout=15)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())


def run_app(config: Config, *, start: bool = False, full_scan: bool = False) -> int:
    """Run the app in the terminal; what `talks` with no flags does."""
    app = TalksApp(config, start=start, full_scan=full_scan)
    loop = asyncio.new_event_loop()
    app.run(loop=loop)
    code = app.return_code or 0
    if app.quit_at_once and app.queue_running:
        # The queue thread is waiting on a chunk; leave without it. Its worker process dies
        # with us, the ledger has every finished chunk, and the next start resumes there.
        logging.shutdown()
        os._exit(code)
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()
    return code
