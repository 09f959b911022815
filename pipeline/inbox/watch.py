"""Watching the input folders: new recordings are filed as they arrive.

watchdog tells us when something in an input folder is created, written or moved in
(FSEvents on macOS, inotify on Linux; or a polling observer for network shares that send no
events, `[watch] polling`). A file the system told us about is only handed on once it has
settled — its size and times unchanged for `[input] settle_seconds` (pipeline/inbox/settle.py) — so
a recording still being copied in, piece by piece, is never taken half-written.

`InboxWatcher` only says which recordings are ready; what runs them decides how. `talks
--watch` runs a batch for them (one run per output root: while a scheduled run holds the
lock it waits and tries again), and the app's watch toggle starts its queue.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from pipeline.config.settings import Config
from pipeline.inbox.settle import SettleWatch


class InboxWatcher:
    def __init__(self, config: Config, on_ready: Callable[[list[Path]], None],
                 check_every: float | None = None):
        self.config = config
        self.on_ready = on_ready
        self.exts = {e.lower() for e in config.input.extensions}
        self.out_root = config.output.root.resolve()
        self.settle = SettleWatch(config.input.settle_seconds)
        self.check_every = check_every or max(0.2, min(1.0, config.input.settle_seconds / 4))
        self._pending: set[Path] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._observer = None
        self._thread: threading.Thread | None = None

    # --- what the observer tells us ---------------------------------------------------------
    def wanted(self, path: Path) -> bool:
        if path.name.startswith(".") or path.suffix.lower() not in self.exts:
            return False
        resolved = path.resolve()
        return resolved != self.out_root and self.out_root not in resolved.parents

    def noticed(self, path: Path) -> None:
        if self.wanted(path):
            with self._lock:
                self._pending.add(path)

    def pending(self) -> list[Path]:
        with self._lock:
            return sorted(self._pending)

    # --- life -----------------------------------------------------------------------------
    def start(self) -> list[Path]:
        """Start watching; returns the input folders watched (missing ones are skipped)."""
        from watchdog.events import FileSystemEvent, FileSystemEventHandler

        if self.config.watch.polling:
            from watchdog.observers.polling import PollingObserver as ObserverClass
        else:
            from watchdog.observers import Observer as ObserverClass

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.is_directory or event.event_type in ("deleted", "opened",
                                                              "closed_no_write"):
                    return
                target = getattr(event, "dest_path", "") or event.src_path
                watcher.noticed(Path(str(target)))

        observer = ObserverClass(timeout=self.check_every) if self.config.watch.polling \
            else ObserverClass()
        watched = []
        for folder in self.config.input.folders:
            if folder.is_dir():
                observer.schedule(Handler(), str(folder), recursive=self.config.input.recursive)
                watched.append(folder)
        observer.start()
        self._observer = observer
        self._thread = threading.Thread(target=self._settle_loop, name="talks-watch",
                                        daemon=True)
        self._thread.start()
        return watched

    def stop(self) -> None:
        self._stop.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _settle_loop(self) -> None:
        while not self._stop.wait(self.check_every):
            ready = []
            for path in self.pending():
                if not path.exists():
                    self._drop(path)
                elif self.settle.is_settled(path):
                    ready.append(path)
            if ready:
                for path in ready:
                    self._drop(path)
                self.on_ready(ready)

    def _drop(self, path: Path) -> None:
        with self._lock:
            self._pending.discard(path)
        self.settle.forget(path)
