"""The rotating log file: what happened, and the memory checkpoints.

The log is for looking back; it is never worth stopping a run for. A log file that cannot be
opened is said at once (one sentence, before any work); one that stops taking writes later (a
full disk) is said once on stderr and the run goes on without it.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys

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
        # Its own folder only: a log folder on an unmounted disk is not made on the system disk.
        config.file.parent.mkdir(exist_ok=True)
        handler = _QuietRotatingHandler(config.file, maxBytes=config.max_bytes,
                                        backupCount=config.backups, encoding="utf-8")
    except OSError as exc:
        raise fault(exc, "the log file", config.file) from None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.addFilter(_Redacted())
    logger.addHandler(handler)
    logger.propagate = False
    return logger


def get_logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)
