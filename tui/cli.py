"""The `talks` command: the TUI by default, `--batch` for headless runs, and subcommands.

Heavy modules (models, Textual) are imported only by the path that needs them, so
`talks --help` and `talks --batch` start fast. Whatever happens, the user reads one sentence
and gets an exit code: a traceback goes to the log file, never to the terminal.
"""

from __future__ import annotations

import argparse
import sys

from common.errors import (
    ExitCode,
    TalksError,
    describe,
    is_machine_fault,
)
from common.supported import installed
from pipeline.api.configuration import (
    CONFIG_ENV,
    find_config_path,
    load_config,
    redact,
    roots,
    secrets,
)
from tui.commands import schedule_commands, setup_prompts, speaker_commands, status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="talks",
        description="Transcribe, title and file recorded talks as "
                    "talks/YEAR/SPEAKER/SPEAKER - TITLE.ext with their transcripts.",
        epilog=f"The config is --config PATH, else ${CONFIG_ENV}, else ./config.toml. "
               "Exit codes: 0 all went well, 1 some files failed, 2 config or usage error, "
               "3 the machine stopped the run (disk full or read-only, no permission, "
               "a disk not mounted, ffmpeg or a model missing), 4 another run is busy, "
               "5 stopped before the end when asked (c, p or q in the app), "
               "130/143 stopped by Ctrl-C/SIGTERM (run again to resume).")
    parser.add_argument("--version", action="version",
                        version=f"talks {installed('talks') or '(version unknown)'}")
    parser.add_argument("--config", metavar="PATH", help="the config.toml to use")
    parser.add_argument("--batch", action="store_true",
                        help="run headless: process every new recording, print progress")
    parser.add_argument("--full-scan", action="store_true",
                        help="redo every recording, even those already filed")
    parser.add_argument("--start", action="store_true",
                        help="in the app: start the queue as soon as it opens")
    parser.add_argument("--json", action="store_true",
                        help="with --batch: print a JSON summary on stdout")
    parser.add_argument("--new-output-root", action="store_true",
                        help="the output root's library was moved or removed on purpose: "
                             "start a new one there")
    parser.add_argument("--watch", action="store_true",
                        help="headless: file new recordings as they arrive in the input "
                             "folders (Ctrl+C stops)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    config_cmd = sub.add_parser("config", help="check the configuration")
    config_sub = config_cmd.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    config_sub.add_parser("validate", help="load the config and list every problem in it")
    speaker_commands.add_commands(sub)
    status.add_command(sub)
    schedule_commands.add_commands(sub)
    setup_prompts.add_command(sub)
    return parser


def _say(text: str) -> None:
    try:
        print(f"talks: {redact(text)}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass  # no terminal left to tell


def _wants_first_run(args: argparse.Namespace) -> bool:
    """The app was asked for, in a terminal, and there is no config yet: set one up first."""
    return (args.command is None and not args.batch and not args.watch
            and not find_config_path(args.config).exists()
            and sys.stdin.isatty() and sys.stdout.isatty())


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.json and not args.batch and args.command is None:  # (`status --json` is its own)
        # Without --batch talks would open the app, and the JSON asked for would never come.
        _say("--json goes with --batch (talks --batch --json): nothing was run.")
        return ExitCode.USAGE
    try:
        if args.command == "setup":
            return setup_prompts.run(find_config_path(args.config))
        if _wants_first_run(args):
            from tui.setup_app import run_setup_app

            if not run_setup_app(find_config_path(args.config)):
                return ExitCode.USAGE
        return _run(args)
    except TalksError as exc:  # foreseen: its sentence, and its exit code
        _say(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _say("stopped. Run again to resume where it stopped.")
        return ExitCode.SIGINT
    except Exception as exc:  # noqa: BLE001 - never a traceback on the terminal
        if is_machine_fault(exc):
            _say(describe(exc, "a file", getattr(exc, "filename", None) or "?"))
            return ExitCode.MACHINE
        from pipeline.api.configuration import get_logger

        try:
            get_logger().exception("talks stopped on an unexpected error")
        except Exception:  # noqa: BLE001 - the log itself may be what failed
            pass
        _say(f"stopped on an unexpected error ({type(exc).__name__}: {exc}); the log file "
             "has the details. Please report it.")
        return ExitCode.BUG


def _run(args: argparse.Namespace) -> int:
    from pipeline.api.configuration import setup_logging

    config = load_config(args.config)  # a ConfigError: said by main, exit 2
    secrets.register(config)
    if args.new_output_root:
        roots.forget_ledger(config.output.ledger_path)
    if args.command == "config":
        from tui.commands.config_check import validate

        return validate(config)
    if args.command == "status":
        status.require_output_root(config)
    roots.check_output_root(config.output.ledger_path, config.output.root)
    setup_logging(config.logging)
    if args.command in ("speakers", "review", "relabel"):
        return speaker_commands.run(config, args)
    if args.command == "status":
        return status.run(config, args)
    if args.command == "schedule":
        return schedule_commands.run(config, args)
    if args.watch:
        from tui.commands import watch_inbox

        return watch_inbox.run(config)
    if args.batch:
        from tui.commands import batch_run

        return batch_run.run(config, args.full_scan, args.json)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        _say("the app needs a terminal; run `talks --batch` to file talks without one "
             "(cron, launchd, scripts).")
        return ExitCode.USAGE
    from tui.app import run_app

    return run_app(config, start=args.start, full_scan=args.full_scan)


if __name__ == "__main__":
    sys.exit(main())
