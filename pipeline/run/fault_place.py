"""Which place of a run an error came from: the ledger, the log, the model cache, the speaker
library or the output folder, named in the fault's sentence (see common/errors.py)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from common.errors import Fault, describe
from pipeline.config.settings import Config


def places(config: Config) -> list[tuple[str, Path]]:
    """The places talks writes, most specific first, to name the one an error came from."""
    return [("the ledger", config.output.ledger_path),
            ("the log file", config.logging.file),
            ("the model cache", Path(os.path.expanduser(str(config.transcription.model_cache)))),
            ("the speaker library", config.speakers.folder),
            ("the output folder", config.output.root)]


def locate(exc: BaseException, config: Config) -> Fault:
    """The Fault for a machine error met somewhere in a run, naming the place it came from
    (by the file name the error carries; SQLite errors come from the ledger)."""
    if isinstance(exc, Fault):
        return exc
    known = places(config)
    if isinstance(exc, sqlite3.Error):
        return Fault(describe(exc, *known[0]))
    filename = getattr(exc, "filename", None)
    if filename:
        target = os.path.abspath(str(filename))
        for what, where in known:
            base = os.path.abspath(str(where))
            if target == base or target.startswith(base.rstrip(os.sep) + os.sep):
                return Fault(describe(exc, what, where))
        return Fault(describe(exc, "a file", filename))
    return Fault(describe(exc, "the output folder", config.output.root))
