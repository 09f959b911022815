"""Small modal dialogs: ask for a few values, confirm, choose one of several."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, OptionList


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    value: str = ""
    placeholder: str = ""


class AskDialog(ModalScreen[dict[str, str] | None]):
    """Fields one under the other; Enter in the last one (or Ctrl+S) answers, Esc cancels."""

    BINDINGS = [
        Binding("ctrl+s", "submit", "OK"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, title: str, fields: list[Field], note: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            for field in self.fields:
                yield Label(field.label)
                # The cursor after the value, nothing selected: typing extends the old name
                # (a rename of "Sarah Lane" to "Sarah Lane-Jones") instead of replacing it.
                box = Input(field.value, placeholder=field.placeholder, id=f"ask-{field.key}",
                            select_on_focus=False)
                box.cursor_blink = False
                yield box
            yield Label(self.note or "Enter goes to the next field; in the last one it is OK.",
                        classes="dialog-note")
        yield Footer(compact=True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        if event.input is inputs[-1]:
            self.action_submit()
        else:
            self.focus_next()

    def action_submit(self) -> None:
        self.dismiss({f.key: self.query_one(f"#ask-{f.key}", Input).value.strip()
                      for f in self.fields})

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question)
        yield Footer(compact=True)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class ChooseDialog(ModalScreen[str | None]):
    """One of a list: arrows and Enter, Esc cancels."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, title: str, options: list[str]) -> None:
        super().__init__()
        self.title_text = title
        self.options = options

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield OptionList(*self.options, id="choices")
            yield Label("↑ ↓ and Enter to choose", classes="dialog-note")
        yield Footer(compact=True)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.options[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
