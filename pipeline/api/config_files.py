"""First-run answers, the schedule that runs `talks --batch`, and config.toml written with
the user's comments kept."""

from __future__ import annotations

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
from pipeline.config.schedule import ScheduleError, install, remove, status
from pipeline.config.toml_file import write_changes

__all__ = [
    "Answers", "ScheduleError", "answers_from", "build", "describe_folder", "engine_choices",
    "existing", "install", "model_choices", "remove", "save", "status", "write_changes",
]
