"""Settings: every key of config.toml as a field, checked as you type, saved with Ctrl+S.

The fields come from the config dataclasses (their help, choices, min and max), so a new key
in pipeline/config/settings.py shows up here by itself. Validation is `from_dict`, the same as at
start-up; each problem is shown under its field, and nothing is saved while there are any.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, get_type_hints

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.suggester import SuggestFromList
from textual.widgets import Footer, Input, Label

from pipeline.api.config_files import write_changes
from pipeline.api.configuration import (
    SECTIONS,
    Config,
    ConfigError,
    from_dict,
    setup_logging,
    to_dict,
)
from tui.screens.dialogs import ConfirmDialog
from tui.widgets.line import Line, short_path

TRUE = {"true", "yes", "on", "1"}
FALSE = {"false", "no", "off", "0"}


def shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} = {v}" for k, v in value.items())
    return str(value)


# `spanish-mass = es, guest lectures/fr = fr`: a table as a line. A value is one word (a
# language code), so a folder's name may hold commas, spaces and even " = ".
_PAIR = re.compile(r"\s*(?P<key>.+?)\s*=\s*(?P<value>[^\s,=]+)\s*(?:,|$)")


def table_from(text: str) -> dict[str, str] | str:
    """A line of `name = value, …` as a table; text that is not one is passed on as it is
    (the validator then says what a table must be)."""
    text = text.strip().rstrip(",")  # a comma left after the last pair is no harm
    table: dict[str, str] = {}
    at = 0
    while at < len(text):
        pair = _PAIR.match(text, at)
        if pair is None or pair.end() == at:
            return text
        table[pair["key"].strip("\"'")] = pair["value"].strip("\"'")
        at = pair.end()
    return table


def parsed(text: str, kind: Any) -> Any:
    """The typed text as a TOML value; what cannot be read is passed on as text, so the
    validator names the key and what it wanted."""
    text = text.strip()
    if kind is bool:
        low = text.lower()
        return True if low in TRUE else False if low in FALSE else text
    if kind is int:
        try:
            return int(text)
        except ValueError:
            return text
    if kind is float:
        try:
            return float(text)
        except ValueError:
            return text
    if kind in (list[str], list[Path]):
        return [part.strip() for part in text.split(",") if part.strip()]
    if kind == dict[str, str]:
        return table_from(text)
    return text


def help_of(field: dataclasses.Field) -> str:
    meta = field.metadata
    text = meta.get("help", "")
    if "choices" in meta:
        text += " · one of: " + ", ".join(str(c) for c in meta["choices"])
    if "min" in meta and "max" in meta:
        text += f" · {meta['min']} to {meta['max']}"
    elif "min" in meta:
        text += f" · at least {meta['min']}"
    return text


class SettingsScreen(Screen):
    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "leave", "Back"),
        Binding("down", "app.focus_next", "Next", show=False),
        Binding("up", "app.focus_previous", "Previous", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.kinds: dict[str, Any] = {}
        self.helps: dict[str, str] = {}
        self.problems: dict[str, str] = {}
        self.candidate: Config | None = None

    def compose(self) -> ComposeResult:
        values = to_dict(self.app.config)
        yield Line(f"Settings · {short_path(self.app.config_path)}", id="screen-title")
        with VerticalScroll(id="settings"):
            for section, cls in SECTIONS.items():
                yield Label(f"[{section}]", classes="settings-section", markup=False)
                hints = get_type_hints(cls)
                for field in dataclasses.fields(cls):
                    key = f"{section}.{field.name}"
                    self.kinds[key] = hints[field.name]
                    self.helps[key] = help_of(field)
                    choices = field.metadata.get("choices")
                    if hints[field.name] is bool:
                        choices = ["true", "false"]
                    box = Input(shown(values[section][field.name]), id=_id("set", key),
                                classes="setting-input",
                                suggester=SuggestFromList(choices) if choices else None)
                    box.cursor_blink = False  # a blinking cursor redraws twice a second
                    with Horizontal(classes="setting-row"):
                        yield Label(field.name, classes="setting-key")
                        yield box
                    yield Line(self.helps[key], id=_id("help", key), classes="setting-help")
        yield Line("", id="settings-status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.check()

    def data(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for key, kind in self.kinds.items():
            section, name = key.split(".", 1)
            text = self.query_one(f"#{_id('set', key)}", Input).value
            out.setdefault(section, {})[name] = parsed(text, kind)
        return out

    def check(self) -> Config | None:
        """Validate the form; show each problem at its field. Returns the config if valid."""
        path = Path(self.app.config_path)
        problems: dict[str, str] = {}
        config = None
        try:
            config = from_dict(self.data(), path.resolve().parent, source=path.resolve())
        except ConfigError as exc:
            for problem in exc.problems:
                problems.setdefault(problem.key, problem.message)
        for key in set(self.problems) | set(problems):
            if key not in self.kinds:
                continue
            help_line = self.query_one(f"#{_id('help', key)}", Line)
            help_line.set_class(key in problems, "-problem")
            help_line.say(f"⚠ {problems[key]}" if key in problems else self.helps[key])
        self.problems = problems
        loose = [f"{k}: {m}" for k, m in problems.items() if k not in self.kinds]
        status = self.query_one("#settings-status", Line)
        if problems:
            count = f"{len(problems)} problem(s) — fix them to save"
            status.say("; ".join([count, *loose]))
        else:
            status.say("Ctrl+S saves to the file (its comments are kept).")
        self.candidate = config
        return config

    def on_input_changed(self, _event: Input.Changed) -> None:
        self.check()

    @property
    def dirty(self) -> bool:
        return self.candidate is None or to_dict(self.candidate) != to_dict(self.app.config)

    def action_save(self) -> None:
        config = self.check()
        if config is None:
            first = next((k for k in self.problems if k in self.kinds), None)
            if first:
                self.query_one(f"#{_id('set', first)}", Input).focus()
            self.notify("Not saved: fix the fields marked ⚠ first.", severity="warning")
            return
        old = self.app.config
        try:
            # tomlkit: only the changed values are rewritten; every comment stays.
            write_changes(Path(self.app.config_path), old, config)
        except (OSError, ConfigError) as exc:
            self.notify(f"Could not write {short_path(self.app.config_path)} ({exc}).",
                        severity="error")
            return
        self.app.config = config
        if to_dict(old)["logging"] != to_dict(config)["logging"]:
            setup_logging(config.logging)
        self.app.request_scan()
        later = " A running queue uses it from its next start." if self.app.live.running else ""
        self.query_one("#settings-status", Line).say(f"Saved.{later}")
        self.notify("Settings saved.")

    def action_leave(self) -> None:
        if not self.dirty:
            self.app.pop_screen()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.pop_screen()

        self.app.push_screen(ConfirmDialog("Leave without saving your changes?"), answered)


def _id(prefix: str, key: str) -> str:
    return f"{prefix}-{key.replace('.', '--')}"
