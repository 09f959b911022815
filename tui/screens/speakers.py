"""The speaker library: people, their clips and enrolled speech; add, rename, merge, remove;
v opens the voices waiting for a name (tui/screens/voices.py).

The same functions as `talks speakers …` (speakers.library; renaming and merging through
pipeline.filing.person_rename, which re-files their talks too), run in a thread: adding a clip
runs ffmpeg, and a rename moves files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from common.errors import Fault
from common.names import counted, same_name
from pipeline.api.archive import (
    RelabelError,
    filed_talk,
    finish_person_move,
    move_person_everywhere,
    pending,
)
from pipeline.api.configuration import Config
from pipeline.api.voices import LibraryError, LibraryMissing, SpeakerLibrary, open_library
from tui.screens.dialogs import AskDialog, ChooseDialog, ConfirmDialog, Field
from tui.screens.voices import VoicesScreen
from tui.widgets.line import Line, short_path
from tui.widgets.speaker_panel import SpeakerPanel, update_seconds


class LibraryChanged(Message):
    def __init__(self, news: str | None, problem: str | None, select: str | None) -> None:
        super().__init__()
        self.news = news
        self.problem = problem
        self.select = select


@dataclass(frozen=True)
class ClipSource:
    path: Path
    filed_under: str | None = None  # a filed talk's speaker, and its number
    number: int | None = None


def clip_source(config: Config, text: str) -> ClipSource:
    """A clip's source: an audio file, or a filed talk by number, a piece of its name or its
    path (then with the speaker it is filed under)."""
    path = Path(text).expanduser()
    filed = config.output.ledger_path.exists()
    if path.is_file() and not (filed and config.output.talks_dir.resolve()
                               in path.resolve().parents):
        return ClipSource(path)
    if not filed:
        raise LibraryError(f"{text} is not a file, and no talk has been filed yet.")
    try:
        row = filed_talk(config, text)
    except RelabelError:
        if path.is_file():  # in the talks folder, but not a talk the ledger filed
            return ClipSource(path)
        raise
    return ClipSource(Path(row.destination or ""), row.speaker, row.id)


def seconds(text: str, what: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise LibraryError(f"{what} must be a number of seconds, not {text!r}.") from None
    if value < 0:
        raise LibraryError(f"{what} cannot be negative.")
    return value


class SpeakersScreen(Screen):
    BINDINGS = [
        Binding("a", "add", "Add clips"),
        Binding("r", "rename", "Rename"),
        Binding("m", "merge", "Merge"),
        Binding("d", "remove", "Remove"),
        Binding("v", "voices", "Voices"),
        Binding("escape", "app.pop_screen", "Back"),
    ]
    missing: str | None = None  # the sentence for a library that is not there (not mounted)

    def compose(self) -> ComposeResult:
        yield Line("Speaker library", id="screen-title")
        yield SpeakerPanel(id="people")
        yield Static("", id="clips", markup=False)
        yield Line("", id="speakers-status")
        yield Footer(compact=True)

    @property
    def library(self) -> SpeakerLibrary:
        """The library through the guard: LibraryMissing when it is not there but was."""
        return open_library(self.app.config)

    @property
    def panel(self) -> SpeakerPanel:
        return self.query_one(SpeakerPanel)

    def on_mount(self) -> None:
        self.show_people()
        config = self.app.config
        if pending(config) is not None:  # a rename or merge was killed half-way: finish it
            def finish() -> str:
                done = finish_person_move(config)  # takes the run lock
                return f"Finished: {done.summary()}" if done else ""

            self._in_thread("Finishing an interrupted rename or merge…", finish)

    def show_people(self, select: str | None = None) -> None:
        folder = self.app.config.speakers.folder
        try:
            library = self.library
        except LibraryMissing as exc:
            self._show_missing(str(exc))
            return
        self.missing = None
        people = library.people()
        clips = sum(len(p.clips) for p in people)
        self.query_one("#screen-title", Line).say(
            f"Speaker library · {short_path(folder)}/ · "
            f"{counted(len(people), 'person', 'people')}, {counted(clips, 'clip')}")
        self.panel.show(people, select)
        self._show_clips()

        def measure() -> None:  # clip lengths: ffprobe for anything but wav
            seconds = library.seconds()
            self.app.call_from_thread(update_seconds, self.panel, seconds)

        self.run_worker(measure, thread=True, group="seconds", exit_on_error=False)

    def _show_missing(self, sentence: str) -> None:
        """A library that was used and is not there: said where its people would be, never
        taken for a library with nobody in it."""
        self.missing = sentence
        self.query_one("#screen-title", Line).say(
            f"Speaker library · {short_path(self.app.config.speakers.folder)}/ · missing")
        self.panel.show([])
        box = self.query_one("#clips", Static)
        box.border_title = "Clips"
        box.update(sentence)

    def _show_clips(self) -> None:
        person = self.panel.selected
        box = self.query_one("#clips", Static)
        box.border_title = f"Clips of {person.name}" if person else "Clips"
        folder = self.app.config.speakers.folder
        box.update("\n".join(str(c.relative_to(folder)) for c in person.clips) if person
                   else "Nobody yet: a adds a person's first clips.")

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_clips()

    def _say(self, text: str) -> None:
        self.query_one("#speakers-status", Line).say(text)

    def _in_thread(self, busy: str, work: Callable[[], str], select: str | None = None) -> None:
        self._say(busy)

        def job() -> None:
            try:
                news, problem = work(), None
            except (LibraryError, RelabelError, Fault, OSError) as exc:
                news, problem = None, str(exc)
            self.post_message(LibraryChanged(news, problem, select))

        self.run_worker(job, thread=True, group="library", exit_on_error=False)

    def on_library_changed(self, message: LibraryChanged) -> None:
        self._say(message.problem or message.news or "")
        self.show_people(message.select)

    def _selected_or_say(self) -> str | None:
        person = self.panel.selected
        if person is None:
            self._say(self.missing or "Nobody is enrolled yet: a adds a person's first clips.")
            return None
        return person.name

    # --- actions ---------------------------------------------------------------------------
    def action_add(self) -> None:
        person = self.panel.selected
        fields = [Field("name", "Person", person.name if person else ""),
                  Field("source", "Clip file, or a filed talk (number or part of its name)"),
                  Field("start", "From second (optional)", placeholder="0"),
                  Field("duration", "Seconds long (optional; needed for a whole talk)",
                        placeholder="to the end")]
        self.app.push_screen(AskDialog("Add clips", fields), self._add)

    def _add(self, answer: dict[str, str] | None) -> None:
        if not answer or not answer["name"] or not answer["source"]:
            return
        config, name = self.app.config, answer["name"].strip()
        try:
            span = seconds(answer["start"], "The start"), seconds(answer["duration"], "The length")
            source = clip_source(config, answer["source"])
        except (LibraryError, RelabelError, Fault) as exc:
            self._say(str(exc))
            return
        owner = source.filed_under
        if owner is None or same_name(owner, name) \
                or same_name(owner, config.speakers.default_speaker):
            self._add_clip(name, source.path, *span)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._add_clip(name, source.path, *span)
            else:
                self._say(f"Nothing added: {source.path.name} stays {owner}'s.")

        # The talk was filed (or confirmed) as someone else's: a part of it may be another
        # voice (a co-speaker, the questions), but a whole talk is a relabel, not a clip.
        self.app.push_screen(ConfirmDialog(
            f"{source.path.name} is filed under {owner}. Add its voice to {name} anyway? If "
            f"the whole talk is {name}'s, relabel it instead (talks relabel {source.number} "
            f"{name!r} --enroll). y / n"), confirmed)

    def _add_clip(self, name: str, source: Path, start: float | None,
                  duration: float | None) -> None:
        config = self.app.config

        def work() -> str:
            library = open_library(config, create=True)  # the first clips make the library
            added = library.add(name, [source], start, duration)
            return f"Added {', '.join(p.name for p in added)} for {name}."

        self._in_thread(f"Adding a clip for {name}…", work, name)

    def action_rename(self) -> None:
        name = self._selected_or_say()
        if name is None:
            return

        def renamed(answer: dict[str, str] | None) -> None:
            new = (answer or {}).get("name", "")
            if not new or new == name:
                return

            config = self.app.config

            def work() -> str:
                # It moves filed talks: it takes the run lock, so not during a run.
                return move_person_everywhere(config, name, new, merge=False).summary()

            self._in_thread(f"Renaming {name}…", work, new)

        self.app.push_screen(AskDialog(f"Rename {name}", [Field("name", "New name", name)]),
                             renamed)

    def action_merge(self) -> None:
        name = self._selected_or_say()
        if name is None:
            return
        others = [p.name for p in self.panel.people if p.name != name]
        if not others:
            self._say("There is nobody else to merge with.")
            return

        def chosen(target: str | None) -> None:
            if not target:
                return

            config = self.app.config

            def confirmed(yes: bool | None) -> None:
                if not yes:
                    self._say(f"Nothing merged: {name} and {target} stay apart.")
                    return

                def work() -> str:
                    # It moves filed talks: it takes the run lock, so not during a run.
                    return move_person_everywhere(config, name, target, merge=True).summary()

                self._in_thread(f"Merging {name} into {target}…", work, target)

            # A merge re-files every talk of one person under the other: asked once more.
            self.app.push_screen(ConfirmDialog(f"Merge {name} into {target}? Their clips and "
                                               f"filed talks become {target}'s. y / n"),
                                 confirmed)

        self.app.push_screen(ChooseDialog(f"Merge {name} (clips and talks) into…", others),
                             chosen)

    def action_remove(self) -> None:
        name = self._selected_or_say()
        if name is None:
            return

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return

            def work() -> str:
                kept = self.library.remove(name)
                return f"Removed {name}; the clips are kept in {short_path(kept)}."

            self._in_thread(f"Removing {name}…", work)

        self.app.push_screen(ConfirmDialog(f"Remove {name}? Their clips are moved to "
                                           ".removed/ in the library, not deleted."), confirmed)

    def action_voices(self) -> None:
        def back(named: bool | None) -> None:
            if named:  # someone was enrolled from a voice there: they are listed here now
                self.show_people()

        self.app.push_screen(VoicesScreen(), back)
