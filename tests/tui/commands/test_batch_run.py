"""What `talks --batch` prints: on a terminal one live line (file n/m, chunk n/m with a bar,
time on it, time left) with what matters scrolling above it; without one, plain lines —
worker warnings and requests included. The real printers, fed the events a run emits; the
tmux test (tests/tui/test_tui_tmux.py) watches the same line on a real terminal."""

from __future__ import annotations

import io

from rich.console import Console

from pipeline.run.events import (
    BatchFinished,
    ChunkDone,
    ChunkPlanned,
    FileFiled,
    FileQueued,
    LanguageHeard,
    LogLine,
    RunRequested,
    StageStarted,
)
from tui.commands.batch_run import PlainPrinter, RichPrinter

RUN = [
    FileQueued("first talk.mp3", 1, 2),
    FileQueued("second.mp3", 2, 2),
    StageStarted("first talk.mp3", "transcribe"),
    LanguageHeard("first talk.mp3", "fr", 0.968, "detected"),
    ChunkPlanned("first talk.mp3", 6, 0, 180.0),
    ChunkDone("first talk.mp3", 0, 6, 0.0, 30.0, "Good evening.", 20.0),
    ChunkDone("first talk.mp3", 1, 6, 30.0, 60.0, "Tonight: bees.", 20.0),
    LogLine("first talk.mp3", "WARNING", "chunk 3 had no speech the VAD could find"),
    LogLine("first talk.mp3", "INFO", "loaded tiny.en"),
    RunRequested("stop"),
]


def rendered(printer: RichPrinter, width: int = 100) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(printer.render())
    return console.file.getvalue()


def test_the_live_line_says_file_chunk_and_time_left():
    printer = RichPrinter(io.StringIO())
    try:
        for event in RUN:
            printer(event)
        line = rendered(printer)
    finally:
        printer.close()
    assert "[1/2] first talk.mp3" in line
    assert "chunk 2/6" in line
    # Four chunks to go at 20 s each, counted down from the last one: about 1:20 left.
    assert "left" in line and ("1:20" in line or "1:19" in line), line
    assert "━" in line  # the bar of the chunks


def test_on_a_terminal_only_what_matters_scrolls_by():
    out = io.StringIO()
    printer = RichPrinter(out)
    try:
        for event in RUN:
            printer(event)
        printer(FileFiled("first talk.mp3", "/out/talks/2020/A/A - Bees.mp3", (), "Bees", "A"))
        printer(BatchFinished(1, 0, 0, 0, 50.0))
        assert not printer.display.is_started  # the end takes the live line away
    finally:
        printer.close()
    text = out.getvalue()
    assert "note: chunk 3 had no speech" in text  # a worker's warning is said
    assert "loaded tiny.en" not in text  # its chatter is only in the log
    assert "Asked to stop after the current chunk." in text
    assert "first talk.mp3: language French (fr, 97 %, detected)" in text
    assert "filed as /out/talks/2020/A/A - Bees.mp3" in text
    assert "chunk 1/6 (" not in text  # chunks are the live line's, not lines of their own


def test_without_a_terminal_every_step_is_a_plain_line():
    out = io.StringIO()
    printer = PlainPrinter(out)
    for event in RUN:
        printer(event)
    lines = out.getvalue().splitlines()
    assert lines == [
        "[1/2] first talk.mp3: transcribe",
        "[1/2] first talk.mp3: language French (fr, 97 %, detected)",
        "[1/2] first talk.mp3: 6 chunk(s) over 180 s",
        "[1/2] first talk.mp3: chunk 1/6 (0–30 s, 20.0 s): 'Good evening.'",
        "[1/2] first talk.mp3: chunk 2/6 (30–60 s, 20.0 s): 'Tonight: bees.'",
        "[1/2] first talk.mp3: note: chunk 3 had no speech the VAD could find",
        "Asked to stop after the current chunk.",
    ]
    assert "\x1b[" not in out.getvalue()  # no colour, no cursor moves
