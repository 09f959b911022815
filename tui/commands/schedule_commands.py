"""`talks schedule install | remove | status`: run `talks --batch` at the [schedule] time."""

from __future__ import annotations

import argparse

from common.errors import ExitCode
from pipeline.api.configuration import Config


def add_commands(sub: argparse._SubParsersAction) -> None:
    schedule = sub.add_parser(
        "schedule", help="run talks --batch on a schedule (cron or launchd), from [schedule] "
                         "in the config",
        description="Run `talks --batch` by itself at the time [schedule] in the config says: "
                    "a crontab entry on Linux, a launchd agent on macOS, one for each config "
                    "file.")
    actions = schedule.add_subparsers(dest="schedule_command", metavar="ACTION")
    actions.add_parser(
        "install", help="install or update the entry for this config",
        description="Install the schedule of this config, or replace it after [schedule] "
                    "changed; other entries are left alone.",
        epilog="Example: talks schedule install --config ~/talks/config.toml")
    actions.add_parser(
        "remove", help="remove the entry for this config",
        description="Remove the schedule of this config; other entries are left alone.")
    actions.add_parser(
        "status", help="when it runs next, and how the last run ended",
        description="Say when the scheduled run comes next, whether [schedule] changed since "
                    "it was installed, and how the last run into this output root ended.")


def run(config: Config, args: argparse.Namespace) -> int:
    from pipeline.api.config_files import install, remove, status
    # A ScheduleError is told by tui/cli.py, as any TalksError: `talks: {sentence}`, exit 1.
    if args.schedule_command == "install":
        print(install(config))
    elif args.schedule_command == "remove":
        print(remove(config))
    else:
        print("\n".join(status(config)))
    return ExitCode.OK
