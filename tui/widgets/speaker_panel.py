"""The speaker library as a table: each person with their clip count, how much speech they
have enrolled, and how they are stored."""

from __future__ import annotations

from textual.widgets import DataTable

from pipeline.api.voices import MIN_SPEECH_S, Person


class SpeakerPanel(DataTable):
    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self.people: list[Person] = []

    def on_mount(self) -> None:
        self.add_column("Name", key="name")
        self.add_column("Clips", key="clips")
        self.add_column("Speech", key="speech")
        self.add_column("Stored as", key="layout")

    @property
    def selected(self) -> Person | None:
        if not self.people or not 0 <= self.cursor_row < len(self.people):
            return None
        return self.people[self.cursor_row]

    def show(self, people: list[Person], select: str | None = None,
             seconds: dict[str, float] | None = None) -> None:
        """`seconds`: each person's enrolled speech, when known (it is measured in a thread
        and filled in by `show_seconds`)."""
        keep = select or (self.selected.name if self.selected else None)
        self.people = people
        self.clear()
        for person in people:
            layout = f"folder {person.name}/" if person.has_folder else "files beside the others"
            self.add_row(person.name, str(len(person.clips)).rjust(5),
                         speech_text((seconds or {}).get(person.name)), layout,
                         key=person.name)
        names = [p.name for p in people]
        if keep in names:
            self.move_cursor(row=names.index(keep))


def speech_text(seconds: float | None) -> str:
    """How much speech a person has enrolled, with a warning under MIN_SPEECH_S."""
    if seconds is None:
        return "…"
    text = f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"
    return f"{text} (too little)" if seconds < MIN_SPEECH_S else text


def update_seconds(panel: SpeakerPanel, seconds: dict[str, float]) -> None:
    """Fill in the speech column (the screen may have changed or gone meanwhile)."""
    if not panel.is_mounted:
        return
    rows = {str(key.value) for key in panel.rows}
    for person in panel.people:
        if person.name in seconds and person.name in rows:
            panel.update_cell(person.name, "speech", speech_text(seconds[person.name]),
                              update_width=True)
