"""One run at a time per output root: a batch, the app's queue, and every command that moves
filed talks (relabel, a person's rename or merge) take the same lock, so cron and the app
never file or move the same talk at once."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

from common.errors import Busy, fault
from pipeline.config.settings import Config
from pipeline.ledger import Ledger


@contextmanager
def exclusive_run(config: Config) -> Iterator[None]:
    lock_path = config.output.ledger_path.with_name("run.lock")
    try:
        # Opening the ledger first checks the root (an unmounted disk is refused, never made).
        Ledger(config.output.ledger_path).close()
        handle = open(lock_path, "a")  # noqa: SIM115 - held for the whole run
    except OSError as exc:
        raise fault(exc, "the output folder", config.output.root) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(f"Another talks run is filing into {config.output.root}: wait for "
                       "it to finish, then run again.") from None
        yield
