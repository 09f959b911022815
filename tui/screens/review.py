"""Review: the talks whose speaker was uncertain, one at a time.

A choice re-files the talk with `pipeline.filing.relabel.relabel` (the function behind
`talks relabel`), in a thread, and can enroll a voice sample of the talk for that person.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from common.errors import Fault
from pipeline.api.archive import FileRow, Ledger, RelabelError, relabel_talk
from pipeline.api.configuration import Config
from pipeline.api.voices import LibraryError, SpeakerLibrary
from tui.screens.dialogs import AskDialog, Field
from tui.widgets.file_table import duration_text
from tui.widgets.line import Line
from tui.widgets.speaker_panel import speech_text

EXCERPT_CHARS = 700
BAR = 24


class Decided(Message):
    def __init__(self, news: str | None, problem: str | None) -> None:
        super().__init__()
        self.news = news
        self.problem = problem


def candidates_text(row: FileRow, seconds: dict[str, float] | None = None) -> str:
    """The candidates, best first, with their score and (when `seconds` is given) how much
    speech each has enrolled: a close score from a person with little speech is weak."""
    candidates = (row.speaker_evidence or {}).get("candidates", [])[:9]
    if not candidates:
        return "No enrolled person to compare with: n names a new one."
    width = max(len(name) for name, _ in candidates)
    lines = []
    for number, (name, score) in enumerate(candidates, start=1):
        filled = round(max(0.0, min(1.0, float(score))) * BAR)
        line = (f"{number}  {name.ljust(width)}  {float(score):.3f}  "
                f"{'█' * filled}{'░' * (BAR - filled)}")
        if seconds is not None:
            line += f"  {speech_text(seconds.get(name, 0.0))} enrolled"
        lines.append(line)
    return "\n".join(lines)


def excerpt_of(ledger: Ledger, row: FileRow) -> str:
    text = " ".join(c.text or "" for c in ledger.chunks(row.id))
    text = " ".join(text.split())
    return text[:EXCERPT_CHARS] + ("…" if len(text) > EXCERPT_CHARS else "") or "(no words)"


def _relabel_in_thread(screen: ReviewScreen, config: Config, file_id: int, name: str,
                       enroll: bool) -> None:
    try:
        # Takes the run lock: while a batch files into the same root, it is refused (Busy).
        done = relabel_talk(config, str(file_id), name, enroll)
    except (RelabelError, LibraryError, Fault, OSError) as exc:
        screen.post_message(Decided(None, str(exc)))
        return
    news = f"Filed as {done.talk.name}"
    if done.enrolled:
        news += f"; added {len(done.enrolled)} clip(s) of its speech to {name}"
    screen.post_message(Decided(news + ".", None))


class ReviewScreen(Screen):
    BINDINGS = [
        Binding("1", "pick(1)", "Pick", key_display="1-9"),
        *(Binding(str(n), f"pick({n})", show=False) for n in range(2, 10)),
        Binding("n", "new_person", "New"),
        Binding("m", "misc", "Misc"),
        Binding("s", "skip", "Skip"),
        Binding("e", "toggle_enroll", "Enroll"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[FileRow] = []
        self.seconds: dict[str, float] | None = None  # enrolled speech per person
        self.skipped: set[int] = set()
        self.enroll = False
        self.busy = False
        self.excerpt = ""

    def compose(self) -> ComposeResult:
        yield Line("Review", id="screen-title")
        yield Line("", id="review-file")
        yield Line("", id="review-why")
        yield Static("", id="candidates", markup=False)
        yield Static("", id="excerpt", markup=False)
        yield Line("", id="review-enroll")
        yield Line("", id="review-status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#candidates").border_title = "Who is speaking?"
        self.query_one("#excerpt").border_title = "Excerpt"
        self.reload()

    @property
    def current(self) -> FileRow | None:
        return next((r for r in self.rows if r.id not in self.skipped), None)

    def reload(self) -> None:
        config = self.app.config
        self.rows, self.excerpt = [], ""
        if config.output.ledger_path.exists():
            with Ledger(config.output.ledger_path) as ledger:
                self.rows = ledger.needing_review()
                row = self.current
                self.excerpt = excerpt_of(ledger, row) if row else ""
        self.show_talk()
        library = SpeakerLibrary(config.speakers.folder)

        def measure() -> None:  # clip lengths: ffprobe for anything but wav
            seconds = library.seconds()
            self.app.call_from_thread(self._got_seconds, seconds)

        self.run_worker(measure, thread=True, group="seconds", exit_on_error=False)

    def _got_seconds(self, seconds: dict[str, float]) -> None:
        self.seconds = seconds
        if self.is_mounted and self.current is not None:
            self.query_one("#candidates", Static).update(candidates_text(self.current,
                                                                         seconds))

    def show_talk(self) -> None:
        row = self.current
        waiting = [r for r in self.rows if r.id not in self.skipped]
        title = self.query_one("#screen-title", Line)
        parts = ("#review-file", "#review-why", "#candidates", "#excerpt", "#review-enroll")
        if row is None:
            more = f" ({len(self.skipped)} skipped)" if self.skipped else ""
            title.say(f"Review · no talks need review{more}. Esc goes back.")
            for part in parts:
                self.query_one(part).display = False
            return
        for part in parts:
            self.query_one(part).display = True
        number = len(self.rows) - len(waiting) + 1
        title.say(f"Review · talk {number} of {len(self.rows)} · {row.name} "
                  f"({row.year or '?'}, {duration_text(row.duration)})")
        self.query_one("#review-file", Line).say(
            f"Filed as: {Path(row.destination or '').name}")
        reason = (row.speaker_evidence or {}).get("reason", "")
        self.query_one("#review-why", Line).say(f"Why: {reason}" if reason else "")
        self.query_one("#candidates", Static).update(candidates_text(row, self.seconds))
        self.query_one("#excerpt", Static).update(self.excerpt)
        self._show_enroll()

    def _show_enroll(self) -> None:
        box = "[x]" if self.enroll else "[ ]"
        self.query_one("#review-enroll", Line).say(
            f"{box} e: with the choice, add this talk's speech to that person's clips")

    def _say(self, text: str) -> None:
        self.query_one("#review-status", Line).say(text)

    # --- the choices -----------------------------------------------------------------------
    def decide(self, name: str) -> None:
        row = self.current
        if row is None or self.busy:
            return
        self.busy = True
        self._say(f"Filing {row.name} under {name}…")
        config, enroll = self.app.config, self.enroll
        self.run_worker(lambda: _relabel_in_thread(self, config, row.id, name, enroll),
                        thread=True, group="relabel", exit_on_error=False)

    def on_decided(self, message: Decided) -> None:
        self.busy = False
        if message.problem:
            self._say(message.problem)
            return
        self._say(message.news or "")
        self.enroll = False  # a choice for one talk: the next talk's voice is not enrolled
        self.app.request_scan()
        self.reload()

    def action_pick(self, number: int) -> None:
        row = self.current
        if row is None:
            return
        candidates = (row.speaker_evidence or {}).get("candidates", [])
        if number > len(candidates):
            self._say(f"There is no candidate {number}.")
            return
        self.decide(candidates[number - 1][0])

    def action_misc(self) -> None:
        self.decide(self.app.config.speakers.default_speaker)

    def action_new_person(self) -> None:
        if self.current is None:
            return

        def named(answer: dict[str, str] | None) -> None:
            if answer and answer.get("name"):
                self.decide(answer["name"])

        self.app.push_screen(AskDialog("Who is speaking?", [Field("name", "Name")],
                                       "Enter files the talk under this new person."), named)

    def action_skip(self) -> None:
        row = self.current
        if row is None:
            return
        self.skipped.add(row.id)
        self._say(f"Skipped {row.name}: it stays listed for review.")
        self.enroll = False
        self.reload()

    def action_toggle_enroll(self) -> None:
        self.enroll = not self.enroll
        self._show_enroll()
