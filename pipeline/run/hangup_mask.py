"""A run is not owned by the terminal it was started from.

When a terminal goes away (an SSH connection drops, a tmux server is killed) the kernel sends
SIGHUP to the whole foreground process group: not only to `talks`, which decides what a
hang-up means for it (the app carries on headless, see tui/terminal_loss.py), but also to its
transcription worker and the ffmpeg and ffprobe it runs, whose default is to die, taking the
chunk in progress with them. So a run keeps SIGHUP blocked on its own thread while it goes:
every process it starts is born with the signal blocked (a blocked signal mask is inherited
through fork and exec, and neither Python nor ffmpeg unblocks it), and a hang-up stays
pending in them, harmless, until they exit.

Only the run's thread is blocked. In the app the main thread still takes the signal; in
`talks --batch`, whose run is its main thread, the signal waits until the run is over.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def hangups_deferred() -> Iterator[None]:
    if not hasattr(signal, "pthread_sigmask"):  # not POSIX: no SIGHUP to keep away
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
