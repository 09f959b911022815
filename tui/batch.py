"""`talks --batch`: the pipeline headless, for cron and launchd.

Progress goes to stderr — with colour and a chunk bar when stderr is a terminal, plain lines
otherwise (a log file, cron mail) — and a summary ends the run. `--json` prints the summary
as JSON on stdout for scripts.
"""

from __future__ import annotations

import json
import sys
from typing import TextIO

from pipeline.config import Config
from pipeline.events import (
    BatchFinished,
    ChunkDone,
    ChunkPlanned,
    Event,
    FileFailed,
    FileFiled,
    FileQueued,
    FileSkipped,
    SpeakerDecided,
    StageStarted,
)
from pipeline.runner import BatchSummary, BusyError, missing_input_folders, run_batch


def _short(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


class PlainPrinter:
    """One line per thing that happened."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.positions: dict[str, str] = {}

    def line(self, text: str, style: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def __call__(self, event: Event) -> None:
        tag = self.positions.get(getattr(event, "file", ""), "")
        if isinstance(event, FileQueued):
            self.positions[event.file] = f"[{event.position}/{event.total}]"
        elif isinstance(event, StageStarted):
            self.line(f"{tag} {event.file}: {event.stage}")
        elif isinstance(event, ChunkPlanned):
            resumed = f", {event.already_done} done before" if event.already_done else ""
            self.line(f"{tag} {event.file}: {event.total} chunk(s) over "
                      f"{event.duration:.0f} s{resumed}")
        elif isinstance(event, ChunkDone):
            self.line(f"{tag} {event.file}: chunk {event.index + 1}/{event.total} "
                      f"({event.start:.0f}–{event.end:.0f} s, {event.seconds:.1f} s): "
                      f"{_short(event.text)!r}")
        elif isinstance(event, SpeakerDecided):
            scores = ", ".join(f"{n} {v:.2f}" for n, v in event.candidates[:3])
            detail = f" ({scores})" if scores else ""
            self.line(f"{tag} {event.file}: speaker {event.speaker} [{event.decision}]{detail}")
        elif isinstance(event, FileFiled):
            self.line(f"{tag} {event.file}: filed as {event.destination}", "green")
        elif isinstance(event, FileSkipped):
            self.line(f"{tag} {event.file}: skipped, {event.reason}", "yellow")
        elif isinstance(event, FileFailed):
            self.line(f"{tag} {event.file}: FAILED at {event.stage}: {event.reason}", "red")
        elif isinstance(event, BatchFinished):
            pass  # the summary says it


class RichPrinter(PlainPrinter):
    """The same lines, coloured, with a transient bar for the chunks of the current file."""

    def __init__(self, stream: TextIO):
        super().__init__(stream)
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.console = Console(file=stream)
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                 TextColumn("{task.completed}/{task.total}"),
                                 TimeRemainingColumn(), console=self.console, transient=True)
        self.task = None

    def line(self, text: str, style: str = "") -> None:
        self.console.print(text, style=style or None, markup=False, highlight=False)

    def __call__(self, event: Event) -> None:
        if isinstance(event, ChunkPlanned):
            self.progress.start()
            self.task = self.progress.add_task(_short(event.file, 30), total=event.total,
                                               completed=event.already_done)
        elif isinstance(event, ChunkDone) and self.task is not None:
            self.progress.advance(self.task)
        elif isinstance(event, FileFiled | FileFailed | BatchFinished) and self.task is not None:
            self.progress.remove_task(self.task)
            self.progress.stop()
            self.task = None
        super().__call__(event)


def print_summary(summary: BatchSummary, stream: TextIO) -> None:
    d = summary.as_dict()
    print(f"Done in {d['seconds']:.1f} s: {d['filed']} filed, {d['failed']} failed, "
          f"{d['skipped']} skipped, {d['unchanged']} already filed before.", file=stream)
    for o in summary.outcomes:
        if o.status == "filed":
            print(f"  filed    {o.file} -> {o.destination}", file=stream)
        elif o.status == "failed":
            print(f"  failed   {o.file} ({o.stage}): {o.reason}", file=stream)
        elif o.status == "skipped":
            print(f"  skipped  {o.file}: {o.reason}", file=stream)
    if not summary.outcomes:
        print("  No recordings found in the input folders.", file=stream)


def run(config: Config, full_scan: bool, as_json: bool) -> int:
    err = sys.stderr
    for folder in missing_input_folders(config):
        print(f"Input folder {folder} does not exist: create it or fix input.folders in "
              f"{config.source}.", file=err)
    printer = RichPrinter(err) if err.isatty() else PlainPrinter(err)
    try:
        summary = run_batch(config, printer, full_scan=full_scan)
    except BusyError as exc:
        print(str(exc), file=err)
        return 1
    except KeyboardInterrupt:
        print("Stopped. Run again to resume where it stopped.", file=err)
        return 130
    print_summary(summary, err)
    if as_json:
        json.dump(summary.as_dict(), sys.stdout, ensure_ascii=False, indent=2)
        print()
    return summary.exit_code
