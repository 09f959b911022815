"""`/`: the archive's words searched as you type (pipeline/search/ through the api).

A search runs in a thread, 0.3 s after the last key, one at a time: keys typed meanwhile only
change what is wanted, and when a search ends the one wanted now runs if it is another, so
results never arrive out of order and a slow search never stalls the screen. A search first
brings the index up to date (an archive filed before it existed); the screen starts that as it
opens, saying how far it is, and stops it when it is closed (the next search resumes it).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, OptionList
from textual.widgets.option_list import Option

from common.errors import TalksError, unexpected
from common.names import counted
from pipeline.api.configuration import get_logger
from pipeline.api.search import (
    archive_filed,
    clock,
    index_archive,
    search_archive,
    talks_to_index,
)
from tui.screens.transcript import TranscriptAtHit, clip_in_thread, talk_heading
from tui.widgets.line import Line, short_path
from tui.widgets.marked import Timed, marked_text

if TYPE_CHECKING:
    from pipeline.api.search import Hit, TalkHits

DEBOUNCE_S = 0.3  # a search starts this long after the last key
LIMIT = 30  # moments shown at most, the best first
PROGRESS_S = 0.1  # the indexing's progress is said at most this often
HINT = ('Type words to find in every filed talk: "a phrase", bridg* for words so begun, '
        "-word to leave out, a OR b.")


class Indexing(Message):
    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done = done
        self.total = total


class Found(Message):
    """A search's end (words None: only the index brought up to date)."""

    def __init__(self, words: str | None, talks: list[TalkHits] | None,
                 problem: str | None) -> None:
        super().__init__()
        self.words = words
        self.talks = talks
        self.problem = problem


class HitList(OptionList):
    """The moments found, under a heading for each talk; Enter opens one."""

    BINDINGS = [
        Binding("enter", "select", "Open"),
        Binding("c", "screen.clip", "Clip"),
        Binding("slash", "screen.words", "Words", key_display="/"),
    ]


class SearchScreen(Screen):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("down", "results", "Results", show=False),  # from the words to the list
    ]

    def __init__(self) -> None:
        super().__init__()
        self.wanted = ""  # what the words ask now (stripped)
        self.running: str | None = None  # the search under way ("" : the index catching up)
        self.shown = ""  # the words whose results are listed
        self.shown_status = ""  # what the status line says of them
        self.rows: list[tuple[TalkHits, Hit] | None] = []  # by option: None for a heading
        self.closing = False
        self._timer: Timer | None = None
        self._said_progress = 0.0

    def compose(self) -> ComposeResult:
        yield Line("Search the archive", id="screen-title")
        yield Input(placeholder='words, a "phrase", bridg*, -leave out', id="search-words")
        yield Line(HINT, id="search-status")
        yield HitList(id="search-results", compact=True)
        yield Footer(compact=True)

    @property
    def words_input(self) -> Input:
        return self.query_one("#search-words", Input)

    @property
    def hit_list(self) -> HitList:
        return self.query_one("#search-results", HitList)

    def _say(self, text: str) -> None:
        self.query_one("#search-status", Line).say(text)

    def on_mount(self) -> None:
        self.words_input.focus()
        self._run(None)  # the index brought up to date while the person types

    def on_unmount(self) -> None:
        self.closing = True  # an indexing under way stops after its talk

    def action_back(self) -> None:
        self.closing = True
        self.app.pop_screen()

    # --- the words -------------------------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if not event.value.strip():
            self.wanted = self.shown = ""
            self._fill([])
            self._say(HINT)
            return
        self._timer = self.set_timer(DEBOUNCE_S, lambda: self._want(event.value))

    def _want(self, words: str) -> None:
        self._timer = None
        self.wanted = words.strip()
        if self.wanted and self.running is None and self.wanted != self.shown:
            self._run(self.wanted)

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self._open(self.hit_list.highlighted)

    def action_results(self) -> None:
        if self.hit_list.option_count:
            self.hit_list.focus()

    def action_words(self) -> None:
        self.words_input.focus()

    # --- searching, in a thread ------------------------------------------------------------------
    def _run(self, words: str | None) -> None:
        """Search for `words` in a thread (None: only bring the index up to date)."""
        self.running = words if words is not None else ""
        config = self.app.config
        if words is not None:
            self._say(f"Searching for “{words}”…")

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if done == 0 or done == total or now - self._said_progress >= PROGRESS_S:
                self._said_progress = now
                self.post_message(Indexing(done, total))

        def job() -> None:
            talks, problem = None, None
            try:
                if words is None:
                    if talks_to_index(config):
                        index_archive(config, progress, lambda: self.closing)
                elif not archive_filed(config):
                    problem = (f"Nothing is filed in {short_path(config.output.root)} yet: "
                               "the talks a run files can be searched.")
                else:
                    talks = search_archive(config, words, limit=LIMIT, on_progress=progress)
            except TalksError as exc:  # QueryError: what to type instead, in one sentence
                problem = str(exc)
            except Exception as exc:  # noqa: BLE001 - said on the screen, detailed in the log
                get_logger().exception("searching the archive")
                problem = unexpected(exc)
            self.post_message(Found(words, talks, problem))

        self.run_worker(job, thread=True, group="search", exit_on_error=False)

    def on_indexing(self, message: Indexing) -> None:
        if message.done < message.total:
            self._say(f"Indexing {message.done}/{message.total} talks…")

    def on_found(self, message: Found) -> None:
        self.running = None
        if message.words != self.wanted or message.words is None:
            # The index caught up, or the words changed meanwhile (these results are stale):
            # what is wanted now runs, unless its key's pause is still going.
            if self.wanted and self.wanted != self.shown and self._timer is None:
                self._run(self.wanted)
            elif message.words is None and message.problem is not None:
                self._say(message.problem)
            elif self.wanted and self.wanted == self.shown:
                self._say(self.shown_status)  # back to the words listed
            elif not self.wanted:
                self._say(HINT)
            return
        self.shown = message.words
        talks = message.talks or []
        self._fill(talks)
        moments = sum(len(t.hits) for t in talks)
        if message.problem is not None:
            self.shown_status = message.problem
        elif not moments:
            self.shown_status = f"Nothing found for “{message.words}”."
        else:
            self.shown_status = (f"{counted(moments, 'moment')} in "
                                 f"{counted(len(talks), 'talk')} · ↓ the list · Enter opens "
                                 "one · c writes a clip")
        self._say(self.shown_status)

    def _fill(self, talks: list[TalkHits]) -> None:
        rows: list[tuple[TalkHits, Hit] | None] = []
        options: list[Option] = []
        for talk in talks:
            rows.append(None)
            options.append(Option(Text(talk_heading(talk), style="bold"), disabled=True))
            for hit in talk.hits:
                rows.append((talk, hit))
                options.append(Option(Timed(clock(hit.at), marked_text(hit.snippet), 2)))
        self.rows = rows
        results = self.hit_list
        results.set_options(options)
        first = next((i for i, row in enumerate(rows) if row is not None), None)
        results.highlighted = first
        if first is None and results.has_focus:
            self.words_input.focus()

    # --- a moment ----------------------------------------------------------------------------
    def _row(self, index: int | None) -> tuple[TalkHits, Hit] | None:
        return self.rows[index] if index is not None and 0 <= index < len(self.rows) else None

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._open(event.option_index)

    def _open(self, index: int | None) -> None:
        row = self._row(index)
        if row is None:
            return
        talk, hit = row
        self.app.push_screen(TranscriptAtHit(talk, self.shown, hit))

    def action_clip(self) -> None:
        row = self._row(self.hit_list.highlighted)
        if row is not None:
            clip_in_thread(self, *row)
