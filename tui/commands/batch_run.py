"""`talks --batch`: the pipeline headless, for cron and launchd.

Progress goes to stderr — with colour and a chunk bar when stderr is a terminal, plain lines
otherwise (a log file, cron mail) — and a summary ends the run. `--json` prints the summary
as JSON on stdout for scripts.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from common.errors import ExitCode, Fault
from common.names import counted
from pipeline.api.configuration import Config, get_logger, redact
from pipeline.api.runs import (
    ArchiveFollowed,
    BatchFinished,
    BatchSummary,
    ChunkDone,
    ChunkPlanned,
    CompactMade,
    Event,
    FileFailed,
    FileFiled,
    FileQueued,
    FileSkipped,
    LanguageHeard,
    LogLine,
    OutcomeStatus,
    RunRequest,
    RunRequested,
    SpeakerDecided,
    Stage,
    StageStarted,
    TalkIndexed,
    TalkReidentified,
    VoiceHeard,
    run_batch,
)
from tui.progress_model import LiveState, duration_text, followed_text, language_text
from tui.terminal_loss import TerminalStream, carry_on_after_hangup

if TYPE_CHECKING:
    from rich.console import RenderableType


def _short(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


ASKED = {RunRequest.STOP: "stop after the current chunk", RunRequest.STOP_NOW: "stop at once",
         RunRequest.PAUSE: "pause after the current recording",
         RunRequest.GO_ON: "go on (no pause)",
         RunRequest.MORE: "look for new recordings when the queue is done"}


class PlainPrinter:
    """One line per thing that happened."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.positions: dict[str, str] = {}

    def line(self, text: str, style: str = "") -> None:
        print(redact(text), file=self.stream, flush=True)

    def close(self) -> None:
        pass

    def __call__(self, event: Event) -> None:
        # "[3/12] " before a file's lines; nothing before a file that was never queued.
        tag = self.positions.get(getattr(event, "file", ""), "")
        tag = f"{tag} " if tag else ""
        if isinstance(event, FileQueued):
            self.positions[event.file] = f"[{event.position}/{event.total}]"
        elif isinstance(event, StageStarted):
            self.line(f"{tag}{event.file}: {event.stage}")
        elif isinstance(event, ChunkPlanned):
            resumed = f", {event.already_done} done before" if event.already_done else ""
            self.line(f"{tag}{event.file}: {event.total} chunk(s) over "
                      f"{event.duration:.0f} s{resumed}")
        elif isinstance(event, ChunkDone):
            self.line(f"{tag}{event.file}: chunk {event.index + 1}/{event.total} "
                      f"({event.start:.0f}–{event.end:.0f} s, {event.seconds:.1f} s): "
                      f"{_short(event.text)!r}")
        elif isinstance(event, LanguageHeard):
            self.line(f"{tag}{event.file}: language {language_text(event)}")
        elif isinstance(event, SpeakerDecided):
            scores = ", ".join(f"{n} {v:.2f}" for n, v in event.candidates[:3])
            detail = f" ({scores})" if scores else ""
            self.line(f"{tag}{event.file}: speaker {event.speaker} [{event.decision}]{detail}")
        elif isinstance(event, CompactMade):
            self.line(f"{tag}{event.file}: compact copy {event.original_seconds:.0f} s → "
                      f"{event.compact_seconds:.0f} s ({event.seconds_saved:.0f} s and "
                      f"{event.bytes_saved / 1e6:.1f} MB saved)")
        elif isinstance(event, FileFiled):
            self.line(f"{tag}{event.file}: filed as {event.destination}", "green")
        elif isinstance(event, FileSkipped):
            self.line(f"{tag}{event.file}: skipped, {event.reason}", "yellow")
        elif isinstance(event, FileFailed):
            self.line(f"{tag}{event.file}: FAILED at {event.stage}: {event.reason}", "red")
        elif isinstance(event, LogLine) and event.level in ("WARNING", "ERROR"):
            self.line(f"{tag}{event.file}: note: {event.message}", "yellow")
        elif isinstance(event, TalkReidentified):
            self.line(f"[{event.position}/{event.total}] {event.file}: identified again, "
                      f"{event.speaker} [{event.decision}]")
        elif isinstance(event, TalkIndexed):
            if event.position == event.total or event.position % 50 == 1:
                self.line(f"[{event.position}/{event.total}] indexed for search (talks "
                          "filed before the index)")
        elif isinstance(event, VoiceHeard):
            self.line(f"[{event.position}/{event.total}] {event.file}: voice kept")
        elif isinstance(event, ArchiveFollowed):
            self.line(followed_text(event), "green" if event.moved else "")
        elif isinstance(event, RunRequested):
            self.line(f"Asked to {ASKED[event.request]}.", "yellow")
        elif isinstance(event, BatchFinished):
            pass  # the summary says it


class RichPrinter(PlainPrinter):
    """On a terminal: the lines that matter (filed, failed, skipped, speakers, requests)
    scroll by, and below them one live line says where the run is — file n of m, its stage,
    a bar of its chunks, chunk n/m, time on it and time left — redrawn twice a second from the
    run's events folded as the app folds them (tui/progress_model.py)."""

    QUIET = (StageStarted, ChunkDone)  # the live line says these

    def __init__(self, stream: TextIO):
        super().__init__(stream)
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=stream)
        self.state = LiveState()
        self.display = Live(console=self.console, get_renderable=self.render,
                            refresh_per_second=2, transient=True, redirect_stdout=False,
                            redirect_stderr=False)

    def line(self, text: str, style: str = "") -> None:
        self.console.print(redact(text), style=style or None, markup=False, highlight=False)

    def __call__(self, event: Event) -> None:
        self.state.apply(event, time.time())
        if not self.display.is_started and not isinstance(event, BatchFinished):
            self.display.start()
        if not isinstance(event, self.QUIET):
            super().__call__(event)
        if isinstance(event, BatchFinished):
            self.close()

    def close(self) -> None:
        if self.display.is_started:
            self.display.stop()

    def render(self) -> RenderableType:
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        cur, now = self.state.current, time.time()
        if cur is None:
            return Text("")
        total = self.state.total
        where = f"[{cur.position}/{total}] " if cur.position and total else ""
        left = cur.seconds_left(now)
        times = f"{duration_text(max(0.0, now - cur.started))} on it" + (
            f" · about {duration_text(left)} left" if left is not None else "")
        grid = Table.grid(padding=(0, 1), expand=True)
        cells: list[RenderableType] = [Text(f"{where}{_short(cur.name, 30)}", style="bold")]
        if cur.stage == Stage.TRANSCRIBE and cur.chunks_total:
            cells.append(Text(f"chunk {cur.chunks_done}/{cur.chunks_total}", style="cyan"))
        else:
            cells.append(Text(cur.state_text, style="cyan"))
        cells.append(Text(times, style="dim"))
        for _cell in cells:
            grid.add_column(no_wrap=True)
        if cur.stage == Stage.TRANSCRIBE and cur.chunks_total:  # the bar takes the room left
            grid.add_column(ratio=1)
            cells.append(ProgressBar(total=cur.chunks_total, completed=cur.chunks_done))
        grid.add_row(*cells)
        return grid


def print_summary(summary: BatchSummary, stream: TextIO) -> None:
    d = summary.as_dict()
    print(f"Done in {d['seconds']:.1f} s: {d['filed']} filed, {d['failed']} failed, "
          f"{d['skipped']} skipped, {d['unchanged']} already filed before.", file=stream)
    for o in summary.outcomes:
        if o.status == OutcomeStatus.FILED:
            print(f"  filed    {o.file} -> {o.destination}", file=stream)
        elif o.status == OutcomeStatus.FAILED:
            print(f"  failed   {o.file} ({o.stage}): {redact(o.reason or '')}", file=stream)
        elif o.status in (OutcomeStatus.SKIPPED, OutcomeStatus.DUPLICATE,
                          OutcomeStatus.WAITING):
            print(f"  {o.status:<8} {o.file}: {o.reason}", file=stream)
    for r in summary.refiled:
        print(f"  moved    {r.file} -> {r.destination} (now known as {r.speaker})", file=stream)
    if summary.to_review:
        print(f"  {summary.to_review} talk(s) filed before now wait for `talks review`.",
              file=stream)
    if not summary.outcomes:
        print("  No recordings found in the input folders.", file=stream)
    if summary.voice_groups:
        print(f"Voices heard in two or more talks wait for a name: "
              f"{counted(summary.voice_groups, 'voice')} in "
              f"{counted(summary.voice_group_talks, 'talk')} under the default speaker "
              "(`talks voices` lists them).", file=stream)
    if d["cancelled"]:
        print(f"Stopped before the end: {d['cancelled']} recording(s) not finished; run "
              "again to resume where it stopped.", file=stream)


def _terminal_gone() -> None:
    get_logger().warning("the terminal went away: the batch goes on without printing")


class StopNow(BaseException):
    """A second SIGINT/SIGTERM: stop at once (raised wherever the main thread is; every
    write on the way is atomic or swept by the next run)."""


class StopSignals:
    """SIGINT and SIGTERM: the first stops the run after the current chunk; a second one
    stops it at once. `is_set` is the run's stop flag."""

    def __init__(self, say: Callable[[str], None]):
        self.say = say  # the printer's line: above a live display, not through it
        self.received: int | None = None

    def install(self) -> None:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, signum: int, _frame: object) -> None:
        if self.received is not None:
            raise StopNow
        self.received = signum
        with contextlib.suppress(OSError, ValueError):
            self.say(f"{signal.Signals(signum).name}: stopping after the current chunk "
                     "(send it again to stop at once) …")

    def is_set(self) -> bool:
        return self.received is not None

    @property
    def exit_code(self) -> int:
        return ExitCode.SIGTERM if self.received == signal.SIGTERM else ExitCode.SIGINT


def run(config: Config, full_scan: bool, as_json: bool) -> int:
    # A terminal that goes away (SSH dropped) ends nothing: the run goes on, printing nowhere.
    with carry_on_after_hangup(_terminal_gone):
        return _run(config, full_scan, as_json, TerminalStream(sys.stderr, _terminal_gone))


def _run(config: Config, full_scan: bool, as_json: bool, err: TextIO) -> int:
    printer = RichPrinter(err) if err.isatty() else PlainPrinter(err)
    stop = StopSignals(printer.line)
    stop.install()
    try:
        try:
            summary = run_batch(config, printer, stop, full_scan=full_scan)
        finally:
            printer.close()  # the live line goes before anything is said below it
    except StopNow:
        print("Stopped at once. Finished chunks are kept: run again to resume.", file=err)
        return stop.exit_code
    except Fault as exc:
        if isinstance(exc.summary, BatchSummary) and exc.summary.outcomes:
            print_summary(exc.summary, err)
        print(f"Stopped: {redact(str(exc))}", file=err)
        if as_json:
            _json_out({"stopped": redact(str(exc)), "exit_code": exc.exit_code,
                       **(exc.summary.as_dict() if isinstance(exc.summary, BatchSummary)
                          else {})})
        return exc.exit_code
    print_summary(summary, err)
    if stop.is_set() and not summary.count(OutcomeStatus.CANCELLED):
        print("Stopped. Finished chunks are kept: run again to resume.", file=err)
    if as_json:
        _json_out(summary.as_dict())
    return stop.exit_code if stop.is_set() else summary.exit_code


def _json_out(data: dict) -> None:
    text = redact(json.dumps(data, ensure_ascii=False, indent=2))
    try:
        print(text, flush=True)
    except BrokenPipeError:  # `talks --batch --json | head`: the reader left, nothing lost
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - quiets the exit flush
