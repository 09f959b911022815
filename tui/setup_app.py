"""The first-run screen: shown by `talks` when there is no config yet.

The same questions as `talks setup` (pipeline/config/first_run.py does the checking and writing),
as fields checked while you type: how many recordings each input folder holds, who is in the
speaker library, whether the answers make a valid config. Ctrl+S writes the commented config
(and installs the schedule when asked); then the app opens on it. Escape leaves without
writing anything.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Label

from common.names import counted
from pipeline.api.config_files import (
    Answers,
    build,
    describe_folder,
    engine_choices,
    model_choices,
    save,
)
from pipeline.api.configuration import ConfigError, InputConfig, resolve_path
from pipeline.api.voices import SpeakerLibrary
from tui.widgets.line import Line, short_path

FIELDS = [  # id, label, what it is
    ("folders", "input folders", "folders with recordings, separated by commas"),
    ("output", "output root", "talks/, transcripts/, raw/ and the ledger go here"),
    ("speakers", "speaker library", "clips NAME.mp3, NAME_1.mp3 … or a folder NAME/ per person"),
    ("engine", "engine", "auto, or: " + ", ".join(engine_choices())),
    ("model", "model", " · ".join(f"{n}: {c}" for n, c in model_choices())),
    ("schedule", "schedule", "yes: run talks --batch every day by itself; no"),
    ("time", "at (HH:MM)", "when the scheduled run starts"),
]


class SetupScreen(Screen):
    BINDINGS = [Binding("ctrl+s", "create", "Write config"),
                Binding("escape", "leave", "Quit"),
                Binding("down", "app.focus_next", "Next", show=False),
                Binding("up", "app.focus_previous", "Previous", show=False)]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.base = path.resolve().parent
        self.config = None

    def compose(self) -> ComposeResult:
        start = {"folders": "recordings", "output": "output", "speakers": "speaker-library",
                 "engine": "auto", "model": "tiny.en", "schedule": "no", "time": "02:00"}
        yield Line(f"Welcome to talks · a new config: {short_path(self.path)}",
                   id="screen-title")
        with VerticalScroll(id="settings"):
            for key, label, help_text in FIELDS:
                box = Input(start[key], id=f"setup-{key}", classes="setting-input")
                box.cursor_blink = False
                with Horizontal(classes="setting-row"):
                    yield Label(label, classes="setting-key")
                    yield box
                yield Line(help_text, id=f"setup-help-{key}", classes="setting-help")
        yield Line("", id="settings-status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#setup-folders", Input).focus()  # typing goes straight in
        self.check()

    def value(self, key: str) -> str:
        return self.query_one(f"#setup-{key}", Input).value.strip()

    def note(self, key: str, text: str, problem: bool = False) -> None:
        line = self.query_one(f"#setup-help-{key}", Line)
        line.set_class(problem, "-problem")
        line.say(text)

    def answers(self) -> Answers:
        return Answers(folders=[f.strip() for f in self.value("folders").split(",")
                                if f.strip()],
                       output=self.value("output"), speakers=self.value("speakers"),
                       engine=self.value("engine"), model=self.value("model"),
                       schedule=self.value("schedule").lower() in ("yes", "y", "true"),
                       time=self.value("time"))

    def check(self) -> bool:
        answers = self.answers()
        lines, missing = [], []
        for folder in answers.folders:
            ok, line = describe_folder(resolve_path(folder, self.base), InputConfig().extensions)
            lines.append(line.replace(str(self.base) + "/", ""))
            if not ok:
                missing.append(folder)
        self.note("folders", "; ".join(lines) or "at least one folder, please",
                  bool(missing) or not answers.folders)
        library = resolve_path(answers.speakers or ".", self.base)
        people = SpeakerLibrary(library).people() if library.is_dir() else []
        self.note("speakers", f"{counted(len(people), 'person', 'people')} enrolled" if people else
                  "nobody enrolled yet (talks speakers add NAME CLIP… later)")
        status = self.query_one("#settings-status", Line)
        self.config = None
        try:
            self.config = build(answers, self.path)
        except ConfigError as exc:
            status.say("; ".join(f"{p.key}: {p.message}" for p in exc.problems))
            return False
        if missing:
            status.say(f"Create {', '.join(missing)} first (or fix the folder names).")
            return False
        status.say("Ctrl+S writes the config and opens the app.")
        return True

    def on_input_changed(self, _event: Input.Changed) -> None:
        self.check()

    def action_create(self) -> None:
        if not self.check() or self.config is None:
            self.notify("Not written: fix what the last line says first.", severity="warning")
            return
        try:
            config = save(self.config, self.path)
        except (OSError, ConfigError) as exc:
            self.notify(f"Could not write {short_path(self.path)} ({exc}).", severity="error")
            return
        if self.answers().schedule:
            from pipeline.api.config_files import ScheduleError, install

            try:
                install(config)
            except ScheduleError as exc:
                self.notify(str(exc), severity="warning")
        self.app.exit(True)

    def action_leave(self) -> None:
        self.app.exit(False)


class SetupApp(App):
    CSS_PATH = "talks.tcss"
    TITLE = "talks setup"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def get_default_screen(self) -> SetupScreen:
        return SetupScreen(self.path)


def run_setup_app(path: Path) -> bool:
    """True when a config was written (the main app opens on it next)."""
    return bool(SetupApp(path).run())
