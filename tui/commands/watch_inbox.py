"""`talks --watch`: file what is in the input folders, then each new recording as it arrives.

Headless like --batch (the same progress lines on stderr), for a terminal left open, a tmux
pane or a service. Each arrival runs a batch, which takes only what is new. One run at a time
per output root still holds: while another run (the schedule's, the app's) is filing, the
watcher waits and tries again, and nothing that arrived meanwhile is forgotten. Ctrl+C or
SIGTERM stops it after the chunk in progress (exit 130 / 143, as a batch). When its terminal
goes away (SSH dropped), the batch in progress is not lost: it goes on to its end, printing
nowhere, and then the watch ends (nobody is left to see it, nor to stop it with Ctrl+C).
"""

from __future__ import annotations

import queue
import signal
import sys
import threading
from pathlib import Path
from typing import TextIO

from common.errors import Busy, ExitCode
from common.names import readable
from pipeline.api.configuration import Config, get_logger
from pipeline.api.runs import InboxWatcher, OutcomeStatus, missing_input_folders, run_batch
from tui.commands.batch_run import PlainPrinter, RichPrinter, print_summary
from tui.terminal_loss import TerminalStream, carry_on_after_hangup

BUSY_RETRY_S = 15.0  # how often to look again while another run holds the output root


def run(config: Config, max_batches: int | None = None) -> int:
    """`max_batches` ends the watch after that many batches (for tests)."""
    hung_up = threading.Event()

    def terminal_gone() -> None:
        if not hung_up.is_set():
            hung_up.set()
            get_logger().warning("the terminal went away: the batch in progress goes on, "
                                 "then watching ends")

    with carry_on_after_hangup(terminal_gone):
        return _watch(config, max_batches, TerminalStream(sys.stderr, terminal_gone), hung_up)


def _watch(config: Config, max_batches: int | None, err: TextIO,
           hung_up: threading.Event) -> int:
    for folder in missing_input_folders(config):
        print(f"Input folder {folder} does not exist: create it or fix input.folders in "
              f"{config.source}; it is not watched.", file=err)
    arrived: queue.Queue[list[Path]] = queue.Queue()
    watcher = InboxWatcher(config, arrived.put)
    watched = watcher.start()
    if not watched:
        watcher.stop()
        print("None of the input folders exist: nothing to watch.", file=err)
        return ExitCode.USAGE
    stop = threading.Event()
    terminated = threading.Event()  # SIGTERM ends the watch as it ends a batch: exit 143

    def on_sigterm(*_: object) -> None:
        terminated.set()
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    printer = RichPrinter(err) if err.isatty() else PlainPrinter(err)
    print(f"Watching {', '.join(str(f) for f in watched)} for new recordings "
          f"(taken once unchanged for {config.input.settle_seconds:g} s); Ctrl+C stops.",
          file=err, flush=True)
    due, batches, said_busy = True, 0, False  # first, whatever is there already
    try:
        while not (stop.is_set() or hung_up.is_set()):
            if due:
                try:
                    summary = run_batch(config, printer, stop, face="watch")
                    due, said_busy, batches = False, False, batches + 1
                    if any(o.status != OutcomeStatus.UNCHANGED for o in summary.outcomes):
                        print_summary(summary, err)
                    if stop.is_set():
                        break
                    print("Up to date; waiting for new recordings.", file=err, flush=True)
                    if max_batches is not None and batches >= max_batches:
                        break
                except Busy as exc:
                    if not said_busy:
                        print(f"{exc} Watching goes on; the new recordings are filed after "
                              "it.", file=err, flush=True)
                        said_busy = True
                    stop.wait(BUSY_RETRY_S)
                    continue
            try:
                paths = arrived.get(timeout=0.5)
            except queue.Empty:
                continue
            print(f"New: {', '.join(readable(p.name) for p in paths)}", file=err, flush=True)
            due = True
    except KeyboardInterrupt:
        print("Stopped watching. Run again to resume where it stopped.", file=err)
        return ExitCode.SIGINT
    finally:
        printer.close()
        watcher.stop()
        signal.signal(signal.SIGTERM, previous)
    if terminated.is_set():
        print("Stopped watching (SIGTERM). Run again to resume where it stopped.", file=err)
        return ExitCode.SIGTERM
    return ExitCode.OK
