"""First-run answers, the schedule that runs `talks --batch`, and config.toml written with
the user's comments kept."""

from __future__ import annotations

import importlib
from typing import Any

from pipeline.config.first_run import (
    Answers,
    answers_from,
    build,
    describe_folder,
    engine_choices,
    existing,
    model_choices,
    save,
)
from pipeline.config.toml_file import write_changes


def __getattr__(name: str) -> Any:
    # The schedule (crontab, launchd) only for the commands that use it: `talks --help` and
    # `talks setup` import this room before anyone asks for a schedule.
    if name in ("ScheduleError", "install", "remove", "status"):
        return getattr(importlib.import_module("pipeline.config.schedule"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "Answers", "answers_from", "build", "describe_folder", "engine_choices",
    "existing", "model_choices", "save", "write_changes",
]
