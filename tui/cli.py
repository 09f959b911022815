"""The `talks` command: the TUI by default, `--batch` for headless runs, and subcommands.

Heavy modules (models, Textual) are imported only by the path that needs them, so
`talks --help` and `talks --batch` start fast. Whatever happens, the user reads one sentence
and gets an exit code: a traceback goes to the log file, never to the terminal.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

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
from tui.commands import (
    language_command,
    schedule_commands,
    search_command,
    setup_prompts,
    speaker_commands,
    status,
    voice_commands,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="talks",
        description="Transcribe, title and file recorded talks as "
                    "talks/YEAR/SPEAKER/SPEAKER - TITLE.ext with their transcripts.",
        epilog=f"The config is --config PATH (before or after the command), else "
               f"${CONFIG_ENV}, else ./config.toml. `talks COMMAND --help` says what a "
               "command does. Exit codes: 0 all went well, 1 some files failed (or talks "
               "search found nothing), 2 config or "
               "usage error, 3 the machine stopped the run (disk full or read-only, no "
               "permission, a disk not mounted, ffmpeg or a model missing), 4 another run is "
               "busy, 5 stopped before the end when asked (c, p or q in the app), 70 a bug "
               "in talks (the log has the details), 130/143 stopped by Ctrl-C/SIGTERM (run "
               "again to resume).")
    parser.add_argument("--version", action="version",
                        version=f"talks {installed('talks') or '(version unknown)'}")
    parser.add_argument("--config", metavar="PATH", help="the config.toml to use")
    parser.add_argument("--batch", action="store_true",
                        help="run headless: process every new recording, print progress")
    parser.add_argument("--full-scan", action="store_true",
                        help="redo every recording, even those already filed")
    # Not `start`: that is `speakers add --start SECONDS`, which would override it unseen.
    parser.add_argument("--start", action="store_true", dest="start_queue",
                        help="in the app: start the queue as soon as it opens")
    parser.add_argument("--json", action="store_true",
                        help="with --batch: print a JSON summary on stdout (with "
                             "status: the status as JSON)")
    parser.add_argument("--new-output-root", action="store_true",
                        help="the output root's library was moved or removed on purpose: "
                             "start a new one there")
    parser.add_argument("--watch", action="store_true",
                        help="headless: file new recordings as they arrive in the input "
                             "folders (Ctrl+C stops)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    config_cmd = sub.add_parser(
        "config", help="check the configuration",
        description="The config file: `talks config validate` checks it.")
    config_sub = config_cmd.add_subparsers(dest="config_command", metavar="ACTION")
    config_sub.add_parser(
        "validate", help="load the config and list every problem in it",
        description=f"Load the config (--config PATH, else ${CONFIG_ENV}, else ./config.toml) "
                    "and list every problem in it at once (exit 2), or say it is OK; warn "
                    "of a secret written into a config file inside a git repository.",
        epilog="Example: talks config validate --config ~/talks/config.toml")
    speaker_commands.add_commands(sub)
    voice_commands.add_commands(sub)
    language_command.add_command(sub)
    status.add_command(sub)
    search_command.add_command(sub)
    schedule_commands.add_commands(sub)
    setup_prompts.add_command(sub)
    for words, command, _help in commands(parser):
        _take_options_after(command, words)
    return parser


# --- the tree of commands -----------------------------------------------------------------------
# argparse has no public way to walk its subcommands; these read its `_actions` and
# `_choices_actions`, which every Python 3 since 3.2 has kept.

def _actions_of(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    """The subcommands (or actions) under `parser`, if it has any."""
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)),
                None)


def children(parser: argparse.ArgumentParser) -> list[
        tuple[str, argparse.ArgumentParser, str | None]]:
    """The commands (or actions) right under `parser`: name, parser, one-line help."""
    actions = _actions_of(parser)
    if actions is None:
        return []
    helps = {a.dest: a.help for a in actions._choices_actions}
    return [(name, command, helps.get(name)) for name, command in actions.choices.items()]


def commands(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()) -> Iterator[
        tuple[tuple[str, ...], argparse.ArgumentParser, str | None]]:
    """Every command and action under `parser`, depth first: its words (`("speakers",
    "add")`), its parser, and its one-line help as the `--help` above it lists it."""
    for name, command, help_ in children(parser):
        yield (*words, name), command, help_
        yield from commands(command, (*words, name))


def takes(parser: argparse.ArgumentParser, dest: str) -> bool:
    """Whether `parser` itself has an option stored under `dest`."""
    return any(a.dest == dest for a in parser._actions)


# --- talks' own options, before or after the command --------------------------------------------

class CommandLineError(TalksError):
    """Options that contradict each other or do not go with the command: nothing was run."""

    exit_code = ExitCode.USAGE


def _take_options_after(command: argparse.ArgumentParser, words: tuple[str, ...]) -> None:
    """`talks status --config X` means `talks --config X status`. --config is kept under a
    name of its own for each depth (`config_1`, `config_2`), so one given in two places with
    different values can be told, not silently overridden; a flag given in two places means
    the same, so it shares its name and is only set when given (SUPPRESS)."""
    command.add_argument("--config", metavar="PATH", dest=f"config_{len(words)}",
                         default=argparse.SUPPRESS,
                         help="the config.toml to use (as before the command)")
    if words[0] != "setup":  # setup writes the config: it never opens the output root
        command.add_argument("--new-output-root", action="store_true",
                             default=argparse.SUPPRESS,
                             help="the output root's library was moved or removed on "
                                  "purpose: start a new one there")


def _chosen(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[
        tuple[str, ...], argparse.ArgumentParser]:
    """The words of the command asked for (empty for the app or a run), and its parser."""
    words: tuple[str, ...] = ()
    while (actions := _actions_of(parser)) is not None:
        name = getattr(args, actions.dest, None)
        if name is None:
            break
        words, parser = (*words, name), actions.choices[name]
    return words, parser


def _one_config(args: argparse.Namespace) -> str | None:
    """The --config given, wherever it was; two different ones are refused."""
    given = [args.config] + [value for key, value in vars(args).items()
                             if key.startswith("config_") and key[7:].isdigit()]
    files: dict[Path, str] = {}  # the same file spelled two ways is one config
    for value in given:
        if value is not None:
            files.setdefault(Path(value).expanduser().resolve(), value)
    if len(files) > 1:
        first, second = list(files.values())[:2]
        raise CommandLineError(f"--config is given twice, as {first} and {second}: give it "
                               "once, before or after the command. Nothing was run.")
    return next(iter(files.values()), None)


def _refuse_misplaced(top: argparse.ArgumentParser, command: argparse.ArgumentParser,
                      words: tuple[str, ...], args: argparse.Namespace) -> None:
    """An option of talks itself that the command does not take (`talks --batch status`)
    would be ignored without a word: it is refused, as after the command argparse does."""
    for action in top._actions:
        if not action.option_strings or action.dest in ("help", "version", "config"):
            continue
        if getattr(args, action.dest) != top.get_default(action.dest) \
                and not takes(command, action.dest):
            raise CommandLineError(
                f"{action.option_strings[0]} does not go with `talks {' '.join(words)}` "
                f"(see talks {' '.join(words)} --help). Nothing was run.")


def _list_actions(words: tuple[str, ...], parser: argparse.ArgumentParser) -> int:
    """`talks speakers` alone: its actions, one line each (`--help` says more)."""
    rows = children(parser)
    width = max(len(name) for name, _command, _help in rows)
    said = " ".join(words)
    print(f"talks {said} ACTION, where ACTION is one of:")
    for name, _command, help_ in rows:
        print(f"  {name:<{width}}  {help_}")
    print(f"`talks {said} ACTION --help` says more about one.")
    return ExitCode.OK


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
    try:
        return _main(argv)
    except BrokenPipeError:  # `talks … | head`: the reader left, and nothing is lost
        import os

        try:  # the interpreter's last flush would fail again and print a traceback
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return ExitCode.OK


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    argv = search_command.words_kept(sys.argv[1:] if argv is None else argv)
    args, extra = parser.parse_known_args(argv)
    if extra:  # said by the command they were given to, with its usage, not talks' own
        _chosen(parser, args)[1].error(f"unrecognized arguments: {' '.join(extra)}")
    if args.json and not args.batch and args.command is None:  # (`status --json` is its own)
        # Without --batch talks would open the app, and the JSON asked for would never come.
        _say("--json goes with --batch (talks --batch --json): nothing was run.")
        return ExitCode.USAGE
    try:
        words, command = _chosen(parser, args)
        args.config = _one_config(args)
        if words:
            _refuse_misplaced(parser, command, words, args)
            if _actions_of(command) is not None and not getattr(args, "bare_is_a_listing",
                                                                False):
                return _list_actions(words, command)  # `talks speakers` without an action
        if args.command == "setup":
            return setup_prompts.run(find_config_path(args.config))
        if args.command == "language" and args.list_codes:  # needs no config
            return language_command.list_codes(args)
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
    except BrokenPipeError:
        raise  # the reader of a pipe left (`talks speakers list | head`): main ends quietly
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
    if args.command == "search":  # it only looks: it checks the output root itself
        return search_command.run(config, args)
    if args.command == "status" and status.output_root_missing(config,
                                                               getattr(args, "json", False)):
        return ExitCode.OK
    roots.check_output_root(config.output.ledger_path, config.output.root)
    setup_logging(config.logging)
    if args.command in ("speakers", "review", "relabel"):
        return speaker_commands.run(config, args)
    if args.command == "status":
        return status.run(config, args)
    if args.command == "voices":
        return voice_commands.run(config, args)
    if args.command == "language":
        return language_command.run(config, args)
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

    return run_app(config, start=args.start_queue, full_scan=args.full_scan)


if __name__ == "__main__":
    sys.exit(main())
