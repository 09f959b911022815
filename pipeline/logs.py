"""The rotating log file: what happened, and the memory checkpoints."""

from __future__ import annotations

import logging
import logging.handlers

from pipeline.config import LoggingConfig

LOGGER_NAME = "talks"


def setup_logging(config: LoggingConfig) -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(config.level)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    config.file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        config.file, maxBytes=config.max_bytes, backupCount=config.backups, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    return logger


def get_logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)
