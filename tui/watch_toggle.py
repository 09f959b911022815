"""The app's watch toggle (`w`): while on, a recording that arrives in an input folder and
settles starts the queue by itself (or is taken when the running queue ends). What is already
waiting when it is turned on the app starts itself (TalksApp.action_watch)."""

from __future__ import annotations

from pathlib import Path

from pipeline.api.runs import InboxWatcher


class WatchToggle:
    def __init__(self, app) -> None:
        self.app = app
        self.watcher: InboxWatcher | None = None
        self.due = False  # something arrived while the queue was running

    @property
    def on(self) -> bool:
        return self.watcher is not None

    def start(self) -> str:
        """Watch the input folders; what to tell the person."""
        if self.watcher is not None:
            return "Already watching the input folders."
        self.watcher = InboxWatcher(self.app.config, self._arrived)
        watched = self.watcher.start()
        if not watched:
            self.stop()
            return "None of the input folders exist: nothing to watch."
        return (f"Watching {len(watched)} folder(s): a new recording is filed once it has "
                f"been unchanged for {self.app.config.input.settle_seconds:g} s. w stops.")

    def _arrived(self, paths: list[Path]) -> None:
        # On the watcher's thread: the app decides on its own.
        self.app.call_from_thread(self._start_or_remember)

    def _start_or_remember(self) -> None:
        if self.app.queue_running or self.app.leaving:
            self.due = True
        else:
            self.app.action_start()

    def queue_ended(self) -> None:
        if self.on and self.due and not self.app.leaving:
            self.due = False
            self.app.action_start()

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
