"""When the terminal goes away, the faces carry on without it.

A terminal that is gone (SSH dropped, tmux killed) fails every write with EIO and reads as
end-of-file; SIGHUP follows, usually a moment later. Both paths lead here: stdin, stdout and
stderr are pointed at /dev/null, so that nothing — Textual's writer thread, rich's refresh
thread, a warning on stderr — fails or blocks on the dead terminal again, and the face is
told once. The app then closes its screen and lets its queue finish headless (tui/app.py);
`talks --batch` simply goes on without printing. The log file has everything either way.
"""

from __future__ import annotations

import errno
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

# What writing to a terminal that is gone fails with.
GONE = {errno.EIO, errno.EPIPE, errno.ENXIO, errno.EBADF, errno.ENOTTY}
_detached = threading.Event()


def detach_from_terminal() -> None:
    """Point fds 0, 1 and 2 at /dev/null (once)."""
    if _detached.is_set():
        return
    _detached.set()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        try:
            os.dup2(null, fd)
        except OSError:
            pass
    os.close(null)


class TerminalStream:
    """A text stream to the terminal that outlives it: the first write that fails because
    the terminal is gone detaches the process from it and calls `on_gone` (from the thread
    that wrote); that write and every later one are dropped."""

    def __init__(self, stream: TextIO, on_gone: Callable[[], None]) -> None:
        self.stream = stream
        self.on_gone = on_gone
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return self.stream.write(text)
            except OSError as exc:
                self._lost(exc)
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self.stream.flush()
            except OSError as exc:
                self._lost(exc)

    def _lost(self, exc: OSError) -> None:
        if exc.errno not in GONE:
            raise exc
        self.gone = True
        detach_from_terminal()
        self.on_gone()

    def isatty(self) -> bool:
        return not self.gone and self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


@contextmanager
def carry_on_after_hangup(on_hangup: Callable[[], None]) -> Iterator[None]:
    """While inside, SIGHUP detaches the process from its terminal and calls `on_hangup`
    (in the main thread, as a signal handler: keep it to a flag or a call_soon_threadsafe)
    instead of ending the process."""
    def hung_up(_signum: int, _frame: object) -> None:
        detach_from_terminal()
        on_hangup()

    before = signal.signal(signal.SIGHUP, hung_up)
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, before)
