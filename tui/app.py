"""The talks terminal app: the queue in a thread worker, its events as messages, the screens.

The pipeline runs in a Textual thread worker (its models in a child process of their own), so
the UI never waits on a model. Each pipeline event is posted as a `PipelineEvent` message
(`post_message` is thread-safe and never blocks the worker); the app folds it into a
`LiveState` at once and the widgets redraw from that state at most four times a second, so
a burst of events costs one redraw.

One view of whatever run is going. When this app runs no queue of its own, it watches the
run files beside the ledger (pipeline/run/publish.py): a run started by another app, by an app
whose terminal is gone, or by cron's `talks --batch` is shown on the same screen, folded from
the events it writes, and `s`, `p`, `c` are sent to it as requests. No second run is started
while one is going.

Runs are not owned by the terminal. When the terminal goes away (SIGHUP, or a write that
fails with EIO), the app closes its screen and its queue goes on headless in the same thread
until it is done, logging as always; then the process exits (see run_app and tui/terminal_loss.py).
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from textual.app import App
from textual.binding import Binding
from textual.driver import Driver

from common.errors import Busy, ExitCode, TalksError
from common.supported import require
from pipeline.api.archive import lengths_pending, scan_files, voices_waiting
from pipeline.api.configuration import Config, get_logger
from pipeline.api.runs import (
    ArchiveFollowed,
    BatchFinished,
    ChunkPlanned,
    Event,
    FileFailed,
    FileFiled,
    FileSkipped,
    RunControl,
    RunRequest,
    RunRequested,
    RunStatus,
    StageStarted,
    ask_run,
    machine_total_mb,
    missing_input_folders,
    read_status,
    run_batch,
    tree_rss_mb,
)
from tui.follow_run import RunWatch, describe_run
from tui.playback import Playback
from tui.progress_model import LiveState
from tui.screens.help import HelpScreen
from tui.screens.main import MainScreen
from tui.terminal_loss import TerminalStream, carry_on_after_hangup
from tui.watch_toggle import WatchToggle
from tui.widgets.line import short_path
from tui.widgets.messages import FilesScanned, PipelineEvent, QueueEnded, RunNews

# The terminal driver's private stream is wrapped below (get_driver_class): a Textual outside
# the tested range is said at once, in one sentence, not met as an AttributeError later.
require("textual")

BatchRunner = Callable[..., object]  # run_batch(config, on_event, control, full_scan=, face=)
RESCAN_SECONDS = 10.0  # new recordings dropped into an input folder show up this soon
MEMORY_SECONDS = 1.0  # one memory reading this often
LOOK_SECONDS = 1.0  # with no run shown, a look for one this often
# Events after which the ledger has news for the file table.
LEDGER_NEWS = (StageStarted, ChunkPlanned, FileFiled, FileFailed, FileSkipped, ArchiveFollowed,
               BatchFinished)


class OwnRun:
    """The queue this app started: what it is asked, and whether its thread has ended."""

    def __init__(self) -> None:
        self.control = RunControl()
        self.ended = threading.Event()


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
                 sampler: Callable[[int], float] | None = None,
                 machine_mb: float | None = None,
                 clock: Callable[[], float] = time.time,
                 start: bool = False, full_scan: bool = False) -> None:
        """`runner`, `sampler` (the memory of a process tree, by its root's pid),
        `machine_mb` and `clock` (wall time: a followed run's events carry theirs) can be
        replaced: a pipeline without models, fixed readings, a clock that stands still."""
        super().__init__()
        self.start_at_once = start  # `talks --start`: the queue starts with the app
        self.full_scan = full_scan  # `talks --full-scan`: the first start redoes every file
        self.config = config
        self.config_path = config_path or config.source or Path("config.toml")
        self.runner = runner
        self.sampler = sampler or tree_rss_mb
        self.machine_mb = machine_mb if machine_mb is not None else machine_total_mb()
        self.clock = clock
        self.live = LiveState()
        self.own: OwnRun | None = None
        self.last_own: OwnRun | None = None  # the last queue it started: the exit code's
        self.followed: RunStatus | None = None  # a run of another process, shown here
        self.run_watch = RunWatch(config.output.ledger_path.parent)
        self.main_screen = MainScreen()
        self.quit_requested = False  # q while the queue runs: quit when it has stopped
        self.leaving = False
        self.headless = False  # the terminal went away: the screen is closed, the queue goes on
        self.watching = WatchToggle(self)  # w: new recordings start the queue themselves
        self.playback = Playback()  # the clip playing (a voice, a moment found by search)
        self._shown_version = -1
        self._scan_wanted = True
        self._scanning = False
        self._looking = False
        self._last_scan = 0.0
        self._last_sample = 0.0
        self._last_look = 0.0
        self._scans = 0

    def get_driver_class(self) -> type[Driver]:
        driver = super().get_driver_class()
        if sys.platform == "win32":
            return driver
        app = self

        class OutlivesTerminal(driver):  # type: ignore[misc, valid-type]
            """Textual's terminal driver, whose writes do not fail (or block its writer
            thread) once the terminal is gone: they tell the app instead."""

            def __init__(self, *args, **kwargs) -> None:
                super().__init__(*args, **kwargs)
                loop = asyncio.get_running_loop()
                if hasattr(self, "_file"):  # the stream its writer thread writes to
                    self._file = TerminalStream(
                        self._file, lambda: loop.call_soon_threadsafe(app.terminal_gone))

        return OutlivesTerminal

    # --- life ----------------------------------------------------------------------------
    def get_default_screen(self) -> MainScreen:
        return self.main_screen

    def main_screen_ready(self) -> None:
        """The main screen is composed: fill it, then keep it fresh."""
        self._sample_memory()
        for folder in missing_input_folders(self.config):
            self.notify(f"Input folder {short_path(folder)} does not exist: create it, or fix "
                        "input.folders in the settings (o).", severity="warning", timeout=15)
        self.set_interval(0.25, self._every_quarter)
        self.set_interval(1.0, self._every_second)
        self._every_quarter()
        if self.start_at_once:
            self.action_start()

    def _every_second(self) -> None:
        if self.live.current is not None:
            self.main_screen.show_clock(self.live, self.clock())

    def _every_quarter(self) -> None:
        now = self.clock()
        if now - self._last_sample >= MEMORY_SECONDS:
            self._sample_memory()
        if now - self._last_scan > RESCAN_SECONDS:
            self._scan_wanted = True
        if self.live.version != self._shown_version:
            self._show_live()
        if self._scan_wanted and not self._scanning:
            self._scan_wanted, self._scanning = False, True
            self._last_scan = now
            self.run_worker(self._scan, thread=True, group="scan", exit_on_error=False)
        # A followed run is read four times a second; a run to follow is looked for once.
        if self.own is None and not self._looking and not self.leaving and (
                self.followed is not None or now - self._last_look >= LOOK_SECONDS):
            self._looking, self._last_look = True, now
            self.run_worker(self._look_for_run, thread=True, group="look", exit_on_error=False)

    def _sample_memory(self) -> None:
        """The tree of the process that runs the queue: this app's, or the followed run's."""
        self._last_sample = self.clock()
        pid = self.followed.pid if self.followed is not None else os.getpid()
        self.main_screen.add_memory_sample(self.sampler(pid))

    def _show_live(self) -> None:
        self._shown_version = self.live.version
        self.main_screen.show_live(self.live, self.clock())

    def request_scan(self) -> None:
        """Read the folders and the ledger again soon (after a relabel, a new config …)."""
        self._scan_wanted = True

    def _scan(self) -> None:
        # The first scan lists the files at once; lengths of new ones follow from the next.
        first = self._scans == 0
        self._scans += 1
        try:
            entries = scan_files(self.config, 0.0 if first else None)
            self.post_message(FilesScanned(entries, voices=self._voices_waiting()))
            if lengths_pending():
                self._scan_wanted = True
        except Exception as exc:  # noqa: BLE001 - a scan that fails must not end the app
            get_logger().exception("scanning the input folders failed")
            self.post_message(FilesScanned(None, f"Could not read the folders or the ledger "
                                                 f"({exc}); the log has the details."))

    def _voices_waiting(self) -> int | None:
        """Groups of voices waiting for a name, for the status line (None: not known now;
        the count is news, never a reason for the scan to fail)."""
        try:
            return voices_waiting(self.config)
        except Exception:  # noqa: BLE001 - the list of recordings matters more
            get_logger().exception("counting the voices waiting for a name failed")
            return None

    def on_files_scanned(self, message: FilesScanned) -> None:
        self._scanning = False
        if message.entries is not None:
            self.main_screen.show_entries(message.entries, message.voices)
        elif message.problem:
            self.notify(message.problem, severity="error")

    # --- a run of another process ----------------------------------------------------------
    def _look_for_run(self) -> None:
        try:
            news = self.run_watch.poll()
            if news is not None:
                self.post_message(RunNews(news))
        except Exception:  # noqa: BLE001 - a look that fails must not end the app
            get_logger().exception("reading the run files failed")
        finally:
            self._looking = False

    def on_run_news(self, message: RunNews) -> None:
        news = message.news
        if self.own is not None:
            return  # our own queue started meanwhile; its events say it all
        if news.began is not None:
            self.followed = news.began
            self.live.begin(describe_run(news.began))
            self._scan_wanted = True
            self._sample_memory()
            self.refresh_bindings()
        for when, event in news.events:
            self.live.apply(event, when)
            if isinstance(event, LEDGER_NEWS):
                self._scan_wanted = True
            if isinstance(event, RunRequested):
                self.refresh_bindings()  # p: Pause or Go on, as the run now is
        if news.over and self.followed is not None:
            who = describe_run(self.followed)
            self.followed = None
            problem = f"The run ({who}) stopped: {news.stopped}" if news.stopped else None
            self.live.end(problem, self._how_it_ended(f" ({who})", news.died))
            self._scan_wanted = True
            self._sample_memory()
            self.refresh_bindings()
            self.watching.queue_ended()  # w: what arrived meanwhile is taken now
        if self.live.version != self._shown_version:
            self._show_live()  # now, not at the next tick: it was read a moment ago already

    def _how_it_ended(self, who: str, died: bool = False) -> str:
        if died:
            return (f"The run{who} ended without finishing (killed?). Finished chunks are "
                    "kept: s resumes where it stopped.")
        if self.live.stopping:
            return f"Stopped{who}. Finished chunks are kept: s resumes where it stopped."
        if self.live.pausing:
            return f"Paused{who} after the file in progress: p goes on with the next one."
        return ""

    # --- the queue -----------------------------------------------------------------------
    @property
    def queue_running(self) -> bool:
        return self.live.running

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start":
            return not self.live.running
        if action in ("more", "cancel"):
            return self.live.running
        # p is one key with two faces: Pause while the queue takes files, Go on while it is
        # pausing or has paused; the footer shows the one p does now.
        if action == "pause":
            return self.live.running and not self.live.pausing
        if action == "go_on":
            return self.live.pausing or self.live.paused
        if action == "watch":
            return not self.watching.on
        if action == "stop_watching":
            return self.watching.on
        return True

    def action_start(self) -> None:
        if self.leaving:
            return
        if self.live.running:
            self.action_more()
            return
        self.own = self.last_own = OwnRun()
        self.live.begin()
        self.refresh_bindings()
        self.run_worker(self._run_queue, thread=True, group="queue", exit_on_error=False)

    def _run_queue(self) -> None:
        own = self.own
        assert own is not None
        config = self.config  # a settings change applies from the next start
        full_scan, self.full_scan = self.full_scan, False

        def on_event(event: Event) -> None:
            self.post_message(PipelineEvent(event))

        problem, busy = None, False
        try:
            self.runner(config, on_event, own.control, full_scan=full_scan, face="app")
        except Busy as exc:
            problem, busy = str(exc), True
        except TalksError as exc:  # foreseen (the machine's fault…): one sentence, app goes on
            problem = str(exc)
        except Exception as exc:  # noqa: BLE001 - said in the UI, detailed in the log
            get_logger().exception("the queue stopped")
            problem = (f"The queue stopped ({type(exc).__name__}: {exc}); the log has the "
                       "details.")
        finally:
            own.ended.set()
        self.post_message(QueueEnded(problem, busy))

    def on_pipeline_event(self, message: PipelineEvent) -> None:
        self.live.apply(message.event, self.clock())
        if isinstance(message.event, LEDGER_NEWS):
            self._scan_wanted = True
        if isinstance(message.event, RunRequested):
            self.refresh_bindings()  # a pause asked elsewhere turns p into Go on here too

    def action_watch(self) -> None:
        said = self.watching.start()
        self.notify(said, timeout=8)
        if not self.watching.on:
            return
        get_logger().info("watching the input folders (w in the app): %s", said)
        # As `talks --watch` does: what already waits is filed now, not at the next arrival.
        if not self.live.running and not self.leaving and self.main_screen.to_do:
            self.action_start()
        self._watch_changed()

    def action_stop_watching(self) -> None:
        self.watching.stop()
        get_logger().info("stopped watching the input folders (w in the app)")
        self.notify("Watching stopped: new recordings wait for s (or the schedule).", timeout=8)
        self._watch_changed()

    def _watch_changed(self) -> None:
        """The footer's w and the status line say whether watching is on."""
        self.refresh_bindings()
        self._show_live()

    def on_unmount(self) -> None:
        self.watching.stop()

    def on_queue_ended(self, message: QueueEnded) -> None:
        self.own = None
        problem = message.problem
        if message.busy:
            # Another process took the run lock first: show its run rather than a refusal.
            self._last_look = 0.0  # and look for it at once
            status = read_status(self.run_watch.folder)
            if status is not None and status.going:
                problem = None
                self.notify(f"Another talks run ({describe_run(status)}) is filing into "
                            f"{short_path(self.config.output.root)}: it is shown here, and s "
                            "asks it to take new recordings too.", timeout=10)
        self.live.end(problem, self._how_it_ended(""))
        self.refresh_bindings()
        self._scan_wanted = True
        if problem:
            self.notify(problem, severity="error", timeout=10)
        if self.quit_requested:
            self.leaving = True
            self.exit()
            return
        self.watching.queue_ended()

    def _ask(self, request: RunRequest) -> bool:
        """Send a request to the run that is going (ours or another's)."""
        if self.own is not None:
            self.own.control.ask(request)
        elif self.followed is not None:
            try:
                ask_run(self.run_watch.folder, self.followed, request)
            except OSError as exc:
                self.notify(f"Could not ask the run ({exc.strerror or exc}): check that "
                            f"{short_path(self.run_watch.folder)} is writable.",
                            severity="error")
                return False
        else:
            return False
        self.live.asked(request)  # shown now; the run confirms it in its events
        return True

    def action_more(self) -> None:
        if self._ask(RunRequest.MORE):
            self.notify("The run will look in the input folders again when its queue is done, "
                        "and take what is new.")

    def action_pause(self) -> None:
        if self._ask(RunRequest.PAUSE):
            self.notify("Pausing: the file in progress finishes, then the queue waits "
                        "(p again: go on).")
            self.refresh_bindings()

    def action_go_on(self) -> None:
        """p while pausing or paused: a run still going forgets its pause; a run that has
        paused is followed by a new one, which resumes with the next file."""
        if self.live.running:
            if self._ask(RunRequest.GO_ON):
                self.notify("Going on: the queue takes the next file as usual.")
                self.refresh_bindings()
            return
        self.notify("Going on with the next file.")
        self.action_start()

    def action_cancel(self) -> None:
        if self.live.stopping:
            if self._ask(RunRequest.STOP_NOW):
                self.notify("Stopping at once: the chunk in progress is given up; finished "
                            "chunks are kept.")
        elif self._ask(RunRequest.STOP):
            self.notify("Stopping after the current chunk (c again: at once); finished "
                        "chunks are kept.")

    async def action_quit(self) -> None:
        if self.own is None:
            self.leaving = True  # keys typed after q must not start anything
            self.exit()  # a run this app only follows goes on
            return
        if self.quit_requested:
            self._ask(RunRequest.STOP_NOW)  # run_app waits the moment it takes the worker to end
            self.leaving = True
            self.exit()
            return
        self.quit_requested = True
        self._ask(RunRequest.STOP)
        self.notify("Quitting after the current chunk. Press q again to quit at once: the "
                    "next start resumes at that chunk.", timeout=15)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def exit_code(self) -> int:
        """An error's code, else 5 when the last queue it started was stopped (c, q) or
        paused (p) before its end, as a batch asked to stop exits; else 0."""
        if self.return_code:
            return self.return_code
        control = self.last_own.control if self.last_own is not None else None
        if control is not None and (control.stopping or control.pausing):
            return ExitCode.STOPPED
        return ExitCode.OK

    # --- the terminal went away --------------------------------------------------------------
    def terminal_gone(self) -> None:
        """SIGHUP, or a write to the terminal failed: close the screen; a queue of ours goes
        on headless (run_app waits for it), a followed one was never ours to stop."""
        if self.headless:
            return
        self.headless = self.leaving = True
        if self.own is not None:
            self.own.control.went_headless()  # `talks status` and other apps say so
            get_logger().warning("the terminal went away: the queue goes on headless and the "
                                 "process exits when it is done (`talks status` or the app "
                                 "shows it)")
        else:
            get_logger().info("the terminal went away; no queue of this app was running")
        if self.is_running:  # (it may come as the app is already leaving)
            self.exit()


def run_app(config: Config, *, start: bool = False, full_scan: bool = False) -> int:
    """Run the app in the terminal; what `talks` with no flags does."""
    app = TalksApp(config, start=start, full_scan=full_scan)
    loop = asyncio.new_event_loop()
    with carry_on_after_hangup(lambda: loop.call_soon_threadsafe(app.terminal_gone)):
        app.run(loop=loop)
        own = app.own
        if own is not None:
            # After a hang-up the queue goes on to its end; after q q it is stopping at once.
            own.ended.wait()
            if app.headless:
                get_logger().info("the queue of the app whose terminal went away is done")
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
    return app.exit_code()
