"""The `talks` command: the TUI by default, `--batch` for headless runs, and subcommands.

Heavy modules (models, Textual) are imported only by the path that needs them, so
`talks --help` and `talks --batch` start fast.
"""

from __future__ import annotations

import argparse
import sys

from pipeline.config import CONFIG_ENV, ConfigError, load_config
from tui import speakers_cli

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="talks",
        description="Transcribe, title and file recorded talks as "
                    "talks/YEAR/SPEAKER/SPEAKER - TITLE.ext with their transcripts.",
        epilog=f"The config is --config PATH, else ${CONFIG_ENV}, else ./config.toml. "
               "Exit codes: 0 all went well, 1 some files failed, 2 config or usage error.")
    parser.add_argument("--config", metavar="PATH", help="the config.toml to use")
    parser.add_argument("--batch", action="store_true",
                        help="run headless: process every new recording, print progress")
    parser.add_argument("--full-scan", action="store_true",
                        help="redo every recording, even those already filed")
    parser.add_argument("--start", action="store_true",
                        help="in the app: start the queue as soon as it opens")
    parser.add_argument("--json", action="store_true",
                        help="with --batch: print a JSON summary on stdout")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    config_cmd = sub.add_parser("config", help="check the configuration")
    config_sub = config_cmd.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    config_sub.add_parser("validate", help="load the config and list every problem in it")
    speakers_cli.add_commands(sub)
    return parser


def _load(path: str | None):
    from pipeline.logs import setup_logging

    config = load_config(path)
    setup_logging(config.logging)
    return config


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = _load(args.config)
    except ConfigError as exc:
        print(f"talks: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "config":
        print(f"{config.source}: OK")
        return EXIT_OK
    if args.command in ("speakers", "review", "relabel"):
        return speakers_cli.run(config, args)
    if args.batch:
        from tui import batch

        return batch.run(config, args.full_scan, args.json)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("talks: the app needs a terminal; run `talks --batch` to file talks without one "
              "(cron, launchd, scripts).", file=sys.stderr)
        return EXIT_USAGE
    from tui.app import run_app

    return run_app(config, start=args.start, full_scan=args.full_scan)


if __name__ == "__main__":
    sys.exit(main())
