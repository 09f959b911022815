"""Voices heard in two or more talks that nobody has named: the groups, largest first, a
group's talks, and naming a group (its person enrolled from its speech, every talk of it
re-filed under the name), merging two, taking a talk out, and hearing a clip of a voice.

The same functions as `talks voices` (pipeline/filing/voice_names.py through the api), each
in a thread: reading the groups orders their talks with numpy (imported then, not when the
app starts), naming cuts clips with ffmpeg and moves files, and every change takes the run
lock, so while a run files into the same root it is refused in one sentence, said here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from common.errors import TalksError, unexpected
from common.names import counted
from pipeline.api.archive import (
    merge_voice_groups,
    name_voice_group,
    take_out_of_voice_group,
    voice_groups,
    voice_sample,
)
from pipeline.api.configuration import Config, get_logger
from tui.screens.dialogs import AskDialog, ChooseDialog, ConfirmDialog, Field
from tui.widgets.line import Line

if TYPE_CHECKING:
    from pipeline.api.archive import FileRow, VoiceGroup

T = TypeVar("T")
TITLES_SHOWN = 3


def minutes_text(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def years_text(years: list[int]) -> str:
    if not years:
        return "?"
    return f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0])


def titles_text(group: VoiceGroup, room: int) -> str:
    """The first titles of a group (its most typical talks first), cut to `room` columns."""
    text = "; ".join(r.title or Path(r.path).stem for r in group.talks[:TITLES_SHOWN])
    if len(group.talks) > TITLES_SHOWN:
        text += f"; … {len(group.talks) - TITLES_SHOWN} more"
    return text if len(text) <= room else text[:room - 1] + "…"


def filed_text(config: Config, row: FileRow) -> str:
    """Where a talk is filed, below the talks folder when it is there."""
    path = Path(row.destination or "")
    try:
        return str(path.relative_to(config.output.talks_dir))
    except ValueError:
        return str(path)


def read_groups(config: Config) -> list[VoiceGroup]:
    if not config.output.ledger_path.is_file():
        return []  # nothing filed here yet (or its disk is away): no ledger is made for it
    return voice_groups(config)


def attempt(what: str, work: Callable[[], T]) -> tuple[T | None, str | None]:
    """(what `work` gave, None), or (None, the sentence for what went wrong): never a
    traceback on the screen."""
    try:
        return work(), None
    except (TalksError, OSError) as exc:  # Busy while a run files, a group not there …
        return None, str(exc)
    except Exception as exc:  # noqa: BLE001 - said on the screen, detailed in the log
        get_logger().exception("the voices view: %s", what)
        return None, unexpected(exc)


class VoicesRead(Message):
    """The groups read again (None when they could not be), after a change or not."""

    def __init__(self, groups: list[VoiceGroup] | None, news: str | None,
                 problem: str | None, select: int | None, talks_of: int | None) -> None:
        super().__init__()
        self.groups = groups
        self.news = news
        self.problem = problem
        self.select = select
        self.talks_of = talks_of


class Said(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class VoicesScreen(Screen[bool]):
    """Dismissed with True when someone was named here (the speaker library changed)."""

    BINDINGS = [
        Binding("t", "talks", "Talks"),
        Binding("n", "name", "Name"),
        Binding("m", "merge", "Merge"),
        Binding("x", "take_out", "Take out"),
        Binding("p", "listen", "Listen"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.groups: list[VoiceGroup] = []
        self.shown: int | None = None  # the group whose talks are shown
        self.busy = False  # a change (or the first read) is under way
        self.read = False  # the groups were read once
        self.named = False

    def compose(self) -> ComposeResult:
        yield Line("Voices waiting for a name", id="screen-title")
        yield DataTable(cursor_type="row", id="voice-groups")
        yield DataTable(cursor_type="row", id="voice-talks")
        yield Line("", id="voice-talk")  # the highlighted talk's whole path
        yield Line("", id="voices-status")
        yield Footer(compact=True)

    @property
    def group_table(self) -> DataTable:
        return self.query_one("#voice-groups", DataTable)

    @property
    def talk_table(self) -> DataTable:
        return self.query_one("#voice-talks", DataTable)

    def on_mount(self) -> None:
        table = self.group_table
        for label, key in (("Voice", "id"), ("Talks", "talks"), ("Speech", "speech"),
                           ("Years", "years"), ("Titles", "titles")):
            table.add_column(label, key=key)
        talks = self.talk_table
        for label, key in (("Talk", "number"), ("From", "source"), ("Filed as", "filed")):
            talks.add_column(label, key=key)
        talks.display = self.query_one("#voice-talk").display = False
        self._in_thread("Reading the voices…", None)

    # --- reading and changing, in a thread -----------------------------------------------------
    def _say(self, text: str) -> None:
        self.query_one("#voices-status", Line).say(text)

    def _in_thread(self, busy: str, work: Callable[[], str] | None, select: int | None = None,
                   talks_of: int | None = None) -> None:
        """`work` (a change through the api) then the groups read again, in a thread."""
        self.busy = True
        self._say(busy)
        config = self.app.config

        def job() -> None:
            news, problem = attempt(busy, work) if work is not None else (None, None)
            groups, unread = attempt("reading the groups", lambda: read_groups(config))
            self.post_message(VoicesRead(groups, news, problem or unread, select, talks_of))

        self.run_worker(job, thread=True, group="voices", exit_on_error=False)

    def on_voices_read(self, message: VoicesRead) -> None:
        self.busy, self.read = False, True
        if message.news:
            self.app.request_scan()  # the main screen's table and status line
        if message.groups is not None:
            keep = message.select
            if keep is None and self.group is not None:
                keep = self.group.id  # the voice highlighted before stays highlighted
            self.groups = message.groups
            self._fill_groups(keep)
        talks_of = message.talks_of if message.talks_of is not None else self.shown
        self._show_talks(talks_of if self._by_id(talks_of) is not None else None)
        self._say(message.problem or message.news or self._hint())

    def _hint(self) -> str:
        if not self.read:
            return "Reading the voices…"
        if self.groups:
            return "Enter: a voice's talks · n: name it · p: hear it · m: merge it into another"
        return (f"No voice waits for a name: no two talks under "
                f"{self.app.config.speakers.default_speaker} share a voice (a voice heard "
                "once waits for its second talk). A run groups the voices after it files.")

    def _by_id(self, gid: int | None) -> VoiceGroup | None:
        return next((g for g in self.groups if g.id == gid), None)

    def _fill_groups(self, keep: int | None) -> None:
        table = self.group_table
        talks = sum(len(g.talks) for g in self.groups)
        self.query_one("#screen-title", Line).say(
            f"Voices waiting for a name · {counted(len(self.groups), 'voice')} in "
            f"{counted(talks, 'talk')}" if self.groups else "Voices waiting for a name · none")
        room = max(20, self.size.width - 36)
        table.clear()
        for g in self.groups:
            table.add_row(str(g.id).rjust(5), str(len(g.talks)).rjust(5),
                          minutes_text(g.seconds).rjust(6), years_text(g.years),
                          titles_text(g, room), key=str(g.id))
        ids = [g.id for g in self.groups]
        if keep in ids:
            table.move_cursor(row=ids.index(keep))

    def _show_talks(self, gid: int | None) -> None:
        """A group's talks under the groups (None: hidden, and the groups have the keys)."""
        group = self._by_id(gid)
        table = self.talk_table
        was = self.shown
        self.shown = group.id if group else None
        if group is None:
            table.display = self.query_one("#voice-talk").display = False
            self.group_table.focus()
        else:
            keep = table.cursor_row if was == group.id else 0
            table.clear()
            config = self.app.config
            for row in group.talks:
                table.add_row(f"#{row.id}", Path(row.path).name, filed_text(config, row),
                              key=str(row.id))
            table.border_title = (f"Voice {group.id}'s talks, the most typical first · x "
                                  "takes one out")
            table.display = self.query_one("#voice-talk").display = True
            table.move_cursor(row=min(keep, len(group.talks) - 1))
            self._show_path()
            table.focus()
            self.group_table.move_cursor(row=self.groups.index(group))
        if was != self.shown:
            self.refresh_bindings()

    @property
    def group(self) -> VoiceGroup | None:
        """The group the keys act on: the one whose talks are shown, else the highlighted."""
        if self.shown is not None:
            return self._by_id(self.shown)
        row = self.group_table.cursor_row
        return self.groups[row] if self.groups and 0 <= row < len(self.groups) else None

    @property
    def talk(self) -> FileRow | None:
        group = self.group
        row = self.talk_table.cursor_row
        if self.shown is None or group is None or not 0 <= row < len(group.talks):
            return None
        return group.talks[row]

    def _ready(self) -> VoiceGroup | None:
        """The group to change, or None (said) while a change is under way or there is none."""
        if self.busy:
            self._say("One thing at a time: the last change is still being made."
                      if self.read else self._hint())
            return None
        group = self.group
        if group is None:
            self._say(self._hint())
        return group

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "take_out":
            return self.shown is not None  # a talk is picked among the shown ones
        return True

    # --- the keys ------------------------------------------------------------------------------
    def _show_path(self) -> None:
        talk = self.talk
        self.query_one("#voice-talk", Line).say(
            f"#{talk.id} is filed as {talk.destination}" if talk else "")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "voice-talks":
            self._show_path()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "voice-groups":
            self.action_talks()

    def action_talks(self) -> None:
        group = self.group
        if group is None:
            self._say(self._hint())
            return
        self._show_talks(group.id)
        self._say(f"Voice {group.id}: {counted(len(group.talks), 'talk')}, "
                  f"{minutes_text(group.seconds)} of speech. n names it, p plays a clip.")

    def action_back(self) -> None:
        if self.shown is not None:
            self._show_talks(None)
            self._say(self._hint())
            return
        self.dismiss(self.named)

    def action_name(self) -> None:
        group = self._ready()
        if group is None:
            return
        config = self.app.config

        def named(answer: dict[str, str] | None) -> None:
            name = (answer or {}).get("name", "")
            if not name:
                return

            def work() -> str:
                # Takes the run lock: while a run files into this root it is refused (Busy).
                done = name_voice_group(config, group.id, name)
                self.named = True
                news = (f"Filed {counted(len(done.moved), 'talk')} of voice {group.id} under "
                        f"{done.name}")
                if done.enrolled:
                    return (f"{news}; enrolled {counted(len(done.enrolled), 'clip')} of their "
                            "speech: the next run recognises them.")
                return news + "."

            self._in_thread(f"Naming voice {group.id}: enrolling {name} from its speech and "
                            "filing its talks under the name…", work)

        self.app.push_screen(AskDialog(
            f"Name voice {group.id} ({counted(len(group.talks), 'talk')})",
            [Field("name", "The person's full name, as their talks will be filed under")],
            "Enter enrolls the person from this voice's speech and files every talk of it "
            "under the name (a name already enrolled adds to that person)."), named)

    def action_merge(self) -> None:
        group = self._ready()
        if group is None:
            return
        others = {f"voice {g.id} · {counted(len(g.talks), 'talk')} · "
                  f"{titles_text(g, 40)}": g.id for g in self.groups if g.id != group.id}
        if not others:
            self._say("There is no other voice to merge with.")
            return
        config, showing = self.app.config, self.shown is not None

        def chosen(label: str | None) -> None:
            if not label:
                return
            target = others[label]

            def confirmed(yes: bool | None) -> None:
                if not yes:
                    self._say(f"Nothing merged: voices {group.id} and {target} stay apart.")
                    return

                def work() -> str:
                    # Takes the run lock: while a run files into this root it is refused.
                    kept = merge_voice_groups(config, target, group.id)
                    return (f"Merged voice {group.id} into voice {target}: it now holds "
                            f"{counted(len(kept.talks), 'talk')}.")

                self._in_thread(f"Merging voice {group.id} into voice {target}…", work,
                                select=target, talks_of=target if showing else None)

            # A merge is kept for good (a regroup never parts them): asked once more.
            self.app.push_screen(ConfirmDialog(
                f"Merge voice {group.id} into voice {target}? Its "
                f"{counted(len(group.talks), 'talk')} join voice {target}, and stay with it "
                "when the voices are grouped again. y / n"), confirmed)

        self.app.push_screen(ChooseDialog(f"Merge voice {group.id} "
                                          f"({counted(len(group.talks), 'talk')}) into…",
                                          list(others)), chosen)

    def action_take_out(self) -> None:
        group = self._ready()
        talk = self.talk
        if group is None or talk is None:
            return
        config = self.app.config
        name = Path(talk.destination or talk.path).name
        last = len(group.talks) == 2

        def confirmed(yes: bool | None) -> None:
            if not yes:
                self._say(f"Nothing changed: {name} stays in voice {group.id}.")
                return

            def work() -> str:
                # Takes the run lock: while a run files into this root it is refused.
                take_out_of_voice_group(config, group.id, str(talk.id))
                left = (f" Voice {group.id} had one talk left: it waits for a second talk "
                        "of its voice." if last else "")
                return f"Took {name} out of voice {group.id}.{left}"

            self._in_thread(f"Taking {name} out of voice {group.id}…", work,
                            talks_of=group.id)

        self.app.push_screen(ConfirmDialog(
            f"Take {name} out of voice {group.id}? It never joins this voice again (it may "
            "still group with other talks of its own voice). y / n"), confirmed)

    def action_listen(self) -> None:
        group = self.group
        if group is None:
            self._say(self._hint())
            return
        config = self.app.config
        self._say(f"Cutting a clip of voice {group.id}…")

        def job() -> None:
            def listen() -> str:
                clip = voice_sample(config, group)  # cut once with ffmpeg, then kept
                if clip is None:
                    return (f"No clip of voice {group.id} could be cut: its talks' audio is "
                            "not where the ledger says (the log may say more).")
                player = self.app.playback.play(clip)  # the clip playing before stops
                if player is None:
                    return f"No audio player here: the clip is at {clip}"
                return (f"Playing voice {group.id} on this machine's speakers "
                        f"({player}); the clip is at {clip}")

            news, problem = attempt("playing a clip", listen)
            self.post_message(Said(problem or news or ""))

        self.run_worker(job, thread=True, group="listen", exit_on_error=False)

    def on_said(self, message: Said) -> None:
        self._say(message.text)
