"""The rotating log file: what happened, and the memory checkpoints.

The log is for looking back; it is never worth stopping a run for. A log file that cannot be
opened is said at once (one sentence, before any work); one that stops taking writes later (a
full disk) is said once on stderr and the run goes on without it.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from common.errors import fault
from pipeline.config.secrets import redact
from pipeline.config.settings import LoggingConfig

LOGGER_NAME = "talks"


class _Redacted(logging.Filter):
    """No secret value reaches the log file, whatever message carries it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = redact(message), None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class _QuietRotatingHandler(logging.handlers.RotatingFileHandler):
    """On a failed write: one line on stderr, then no more file logging (the default handler
    prints a traceback for every record)."""

    def _open(self):  # type: ignore[no-untyped-def]
        # Its own folder only: a log folder on an unmounted disk is not made on the system
        # disk (where the folder above it is missing, opening fails and is said).
        folder = Path(self.baseFilename).parent
        if not folder.is_dir() and folder.parent.is_dir():
            folder.mkdir(exist_ok=True)
        return super()._open()

    def handleError(self, record: logging.LogRecord) -> None:
        exc = sys.exc_info()[1]
        logger = logging.getLogger(LOGGER_NAME)
        logger.removeHandler(self)
        try:
            self.close()
        except OSError:
            pass
        reason = str(fault(exc, "the log file", self.baseFilename)) if exc else "unknown"
        try:
            print(f"talks: the log stopped: {reason} The run goes on without it.",
                  file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass


def setup_logging(config: LoggingConfig) -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(config.level)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    try:
        # A log whose folder is there is opened now, so one that cannot be is said before
        # any work. One whose folder is not there yet (an output root nothing was filed
        # into) is made with the first line logged: a command that only looks (status,
        # review, speakers list) makes no output root.
        waits = not config.file.parent.is_dir()
        handler = _QuietRotatingHandler(config.file, maxBytes=config.max_bytes,
                                        backupCount=config.backups, encoding="utf-8",
                                        delay=waits)
    except OSError as exc:
        raise fault(exc, "the log file", config.file) from None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.addFilter(_Redacted())
    logger.addHandler(handler)
    logger.propagate = False
    return logger


def get_logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)
