"""A talk's transcript, read-only: as its text file (or the chunks transcribed so far) from the
main screen's `t`, or, from the search, cue by cue with their times, the words searched for
marked and the talk's moments stepped through (`n`, `N`) and cut out as clips (`c`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, OptionList, TextArea
from textual.widgets.option_list import Option

from common.errors import TalksError, unexpected
from pipeline.api.archive import language_name
from pipeline.api.configuration import get_logger
from pipeline.api.search import clock, hits_in_talk, marked_transcript
from tui.playback import clip_moment
from tui.widgets.line import Line
from tui.widgets.marked import Timed, marked_text

if TYPE_CHECKING:
    from pipeline.api.search import Cue, Hit, TalkHits


class TranscriptScreen(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, title: str, text: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.body_text = text

    def compose(self) -> ComposeResult:
        yield Line(self.title_text, id="screen-title")
        yield from self.body()
        yield Footer(compact=True)

    def body(self) -> ComposeResult:
        area = TextArea(self.body_text, read_only=True, soft_wrap=True, id="transcript")
        area.cursor_blink = False  # a blinking cursor is a redraw twice a second
        yield area


def talk_heading(talk: TalkHits) -> str:
    """year · speaker · title (· language), as a talk is shown above its hits."""
    title = talk.title or (talk.talk.rsplit("/", 1)[-1] if talk.talk else f"talk {talk.file_id}")
    return f"{talk.year or '?'} · {talk.speaker or '?'} · {title}{in_language(talk.language)}"


def in_language(code: str | None) -> str:
    """" · French" after a talk's name, when the language it is in is known."""
    return f" · {language_name(code)}" if code else ""


def clip_in_thread(screen: Screen, talk: TalkHits, hit: Hit) -> None:
    """`c`: the clip of a moment written (and played, with a player) in a thread; a
    notification says where it is, or in one sentence why there is none."""
    app = screen.app
    config, playback = app.config, app.playback
    screen.notify(f"Writing a clip of {clock(hit.at)}…", timeout=3)

    def job() -> None:
        try:
            app.call_from_thread(app.notify, clip_moment(config, playback, talk, hit),
                                 timeout=12)
        except (TalksError, OSError) as exc:  # ffmpeg could not, the talk is not there …
            app.call_from_thread(app.notify, str(exc), severity="error", timeout=12)
        except Exception as exc:  # noqa: BLE001 - said on the screen, detailed in the log
            get_logger().exception("writing a clip of a search hit")
            app.call_from_thread(app.notify, unexpected(exc), severity="error", timeout=12)

    screen.run_worker(job, thread=True, group="clip", exit_on_error=False)


class TranscriptRead(Message):
    def __init__(self, cues: list[tuple[Cue, str]] | None, hits: list[Hit],
                 problem: str | None) -> None:
        super().__init__()
        self.cues = cues
        self.hits = hits
        self.problem = problem


class TranscriptAtHit(TranscriptScreen):
    """The transcript of a talk found by the search, opened at one of its moments."""

    BINDINGS = [
        Binding("n", "step(1)", "Next hit"),
        Binding("N", "step(-1)", "Previous", key_display="N"),
        Binding("c", "clip", "Clip"),
    ]

    def __init__(self, talk: TalkHits, words: str, hit: Hit) -> None:
        super().__init__(f"{talk_heading(talk)} · “{words}”")
        self.talk = talk
        self.words = words
        self.hits: list[Hit] = [hit]  # until the talk's every moment is read
        self.current = 0
        self.cues: list[Cue] = []

    def body(self) -> ComposeResult:
        yield OptionList(id="transcript-cues", compact=True)
        yield Line("Reading the transcript…", id="transcript-status")

    @property
    def cue_list(self) -> OptionList:
        return self.query_one("#transcript-cues", OptionList)

    def _say(self, text: str) -> None:
        self.query_one("#transcript-status", Line).say(text)

    def on_mount(self) -> None:
        self.cue_list.focus()
        config, file_id, words = self.app.config, self.talk.file_id, self.words

        def job() -> None:
            try:
                cues = marked_transcript(config, file_id, words)
                hits = hits_in_talk(config, file_id, words)
                self.post_message(TranscriptRead(cues, hits, None))
            except TalksError as exc:
                self.post_message(TranscriptRead(None, [], str(exc)))
            except Exception as exc:  # noqa: BLE001 - said on the screen, detailed in the log
                get_logger().exception("reading a transcript for the search")
                self.post_message(TranscriptRead(None, [], unexpected(exc)))

        self.run_worker(job, thread=True, group="transcript", exit_on_error=False)

    def on_transcript_read(self, message: TranscriptRead) -> None:
        if message.cues is None:
            self._say(message.problem or "")
            return
        if not message.cues:
            self._say("This talk's words are not in the search index any more (a run may "
                      "have filed it again): search again.")
            return
        self.cues = [cue for cue, _ in message.cues]
        self.cue_list.set_options(self._row(cue, marked) for cue, marked in message.cues)
        if message.hits:
            opened = self.hits[self.current].at  # the moment chosen in the search
            self.hits = message.hits
            self.current = min(range(len(self.hits)),
                               key=lambda i: abs(self.hits[i].at - opened))
        self._show_hit()

    @staticmethod
    def _row(cue: Cue, marked: str) -> Option:
        return Option(Timed(clock(cue.start), marked_text(marked.strip())))

    def cue_at(self, seconds: float) -> int:
        """The cue being said at `seconds` (the last that starts by then)."""
        index = 0
        for i, cue in enumerate(self.cues):
            if cue.start > seconds + 0.01:
                break
            index = i
        return index

    def _show_hit(self) -> None:
        hit = self.hits[self.current]
        if self.cues:
            cues = self.cue_list
            cues.highlighted = self.cue_at(hit.at)
            # The moment a third of the way down: what leads to it above, what follows below.
            cues.scroll_to_highlight(top=True)
            cues.scroll_relative(y=-(cues.scrollable_content_region.height // 3),
                                 animate=False, immediate=True)
        self._say(f"hit {self.current + 1} of {len(self.hits)} at {clock(hit.at)} · "
                  "n next · N previous · c clip")

    def action_step(self, by: int) -> None:
        if not self.cues:
            return
        self.current = (self.current + by) % len(self.hits)
        self._show_hit()

    def action_clip(self) -> None:
        clip_in_thread(self, self.talk, self.hits[self.current])

