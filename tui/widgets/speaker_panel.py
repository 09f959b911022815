"""The speaker library as a table: each person with their clip count and how they are stored."""

from __future__ import annotations

from textual.widgets import DataTable

from speakers.library import Person


class SpeakerPanel(DataTable):
    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self.people: list[Person] = []

    def on_mount(self) -> None:
        self.add_column("Name", key="name")
        self.add_column("Clips", key="clips")
        self.add_column("Stored as", key="layout")

    @property
    def selected(self) -> Person | None:
        if not self.people or not 0 <= self.cursor_row < len(self.people):
            return None
        return self.people[self.cursor_row]

    def show(self, people: list[Person], select: str | None = None) -> None:
        keep = select or (self.selected.name if self.selected else None)
        self.people = people
        self.clear()
        for person in people:
            layout = f"folder {person.name}/" if person.has_folder else "files beside the others"
            self.add_row(person.name, str(len(person.clips)).rjust(5), layout, key=person.name)
        names = [p.name for p in people]
        if keep in names:
            self.move_cursor(row=names.index(keep))
