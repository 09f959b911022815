"""The config, its secrets and folders, and the log: what every face reads first."""

from __future__ import annotations

from pipeline.config import roots, secrets
from pipeline.config.secrets import ENV_FOR, redact, secret_keys
from pipeline.config.settings import (
    CONFIG_ENV,
    DEFAULT_CONFIG_NAME,
    SECTIONS,
    Config,
    ConfigError,
    InputConfig,
    decision_values,
    find_config_path,
    from_dict,
    load_config,
    resolve_path,
    to_dict,
)
from pipeline.run.logs import get_logger, setup_logging

__all__ = [
    "CONFIG_ENV", "DEFAULT_CONFIG_NAME", "ENV_FOR", "SECTIONS", "Config", "ConfigError",
    "InputConfig", "decision_values", "find_config_path", "from_dict", "get_logger",
    "load_config", "redact", "resolve_path", "roots", "secret_keys", "secrets",
    "setup_logging", "to_dict", "what_a_run_lacks",
]


def what_a_run_lacks(config: Config) -> list[str]:
    """The sentences a run of `config` would stop on (ffmpeg, the folders, the models),
    found by the run's own checks. Imported here, when asked: `talks --help` stays quick."""
    from pipeline.run.housekeeping import what_a_run_lacks as lacks

    return lacks(config)
