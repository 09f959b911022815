"""`talks language TALK [CODE]`: which language a filed talk is in, and a person's word on it
— the talk transcribed again in that language now and re-filed in place, its progress
printed as `talks --batch` prints it (pipeline/run/language_redo.py does the work)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from common.errors import ExitCode, TalksError
from pipeline.api.configuration import Config, get_logger, redact

if TYPE_CHECKING:
    from pipeline.api.archive import LanguageSet
    from tui.commands.batch_run import StopSignals

CODES_PER_LINE = 4


class CommandLineError(TalksError):
    exit_code = ExitCode.USAGE


def add_command(sub: argparse._SubParsersAction) -> None:
    language = sub.add_parser(
        "language", help="the language a talk is in; set it, and the talk is transcribed "
                         "again in it",
        description="Alone, say which language a filed talk is in, how sure its detection "
                    "was and who said so. With CODE, a person's word: the talk is "
                    "transcribed again in that language now, from its original (or its raw "
                    "backup when the original has gone), titled and re-filed in place; no "
                    "detection or folder setting changes it after. Exit 0 when it is filed, "
                    "1 when it could not be (its recording gone, or a stage failed), 2 for a "
                    "code Whisper does not know or a talk that is not there.",
        epilog="Example: talks language 12 es; talks language 12; talks language --list")
    language.add_argument("talk", nargs="?",
                          help="the talk's number (12 or #12), its path, or a piece of its "
                               "name that only it has")
    language.add_argument("code", nargs="?",
                          help="a Whisper language code: en, fr, de, es, … (--list)")
    language.add_argument("--list", action="store_true", dest="list_codes",
                          help="list the language codes Whisper knows")


def list_codes(args: argparse.Namespace) -> int:
    """`talks language --list`: every code, with no config needed."""
    if args.talk:
        raise CommandLineError("--list goes alone: `talks language --list`. Nothing was "
                               "changed.")
    try:
        print(_codes(), flush=True)
    except BrokenPipeError:  # `talks language --list | head`: the reader left, nothing lost
        with contextlib.suppress(OSError):  # the interpreter's last flush would fail again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return ExitCode.OK


def _codes() -> str:
    from pipeline.api.archive import WHISPER_LANGUAGES

    cells = [f"{code:<4}{name}" for code, name in sorted(WHISPER_LANGUAGES.items(),
                                                          key=lambda item: item[1])]
    width = max(len(cell) for cell in cells) + 2
    lines = ["".join(f"{cell:<{width}}" for cell in cells[at:at + CODES_PER_LINE]).rstrip()
             for at in range(0, len(cells), CODES_PER_LINE)]
    return "\n".join(lines)


def _terminal_gone() -> None:
    get_logger().warning("the terminal went away: talks language goes on without printing")


def run(config: Config, args: argparse.Namespace) -> int:
    if not args.talk:
        raise CommandLineError("Say which talk: `talks language TALK` tells its language, "
                               "`talks language TALK CODE` sets it (`talks review` lists "
                               "talks with their numbers).")
    if args.code is None:
        return _tell(config, args.talk)
    # Like a batch: a terminal that goes away (SSH dropped) ends nothing. (Imported here:
    # the batch's printers bring the run's modules, which `talks --help` need not load.)
    from tui.terminal_loss import TerminalStream, carry_on_after_hangup

    with carry_on_after_hangup(_terminal_gone):
        return _set(config, args.talk, args.code, TerminalStream(sys.stderr, _terminal_gone))


def _tell(config: Config, ref: str) -> int:
    from pipeline.api.archive import filed_talk, said_by

    row = filed_talk(config, ref, redone=True)
    print(f"{row.id}: {Path(row.destination or row.path).name}: {said_by(row)}.")
    return ExitCode.OK


def _set(config: Config, ref: str, code: str, err: TextIO) -> int:
    from pipeline.api.archive import set_talk_language
    from tui.commands.batch_run import PlainPrinter, RichPrinter, StopNow, StopSignals

    printer = RichPrinter(err) if err.isatty() else PlainPrinter(err)
    stop = StopSignals(printer.line)
    stop.install()
    try:
        try:
            done = set_talk_language(config, ref, code, printer, stop)
        finally:
            printer.close()
    except StopNow:
        print("Stopped at once. Finished chunks are kept: run the same command again to go "
              "on.", file=err)
        return stop.exit_code
    return _said(done, stop)


def _said(done: LanguageSet, stop: StopSignals) -> int:
    from pipeline.api.archive import language_name
    from pipeline.api.runs import OutcomeStatus

    row, outcome = done.row, done.outcome
    language = f"{language_name(row.language or '')} ({row.language})"
    if outcome is None:
        print(f"{Path(row.destination or row.path).name} is transcribed in {language} "
              "already: kept as a person's word, nothing transcribed again.")
        return ExitCode.OK
    if outcome.status == OutcomeStatus.FILED:
        before = done.before.destination
        moved = f" (moved from {before})" if before and before != row.destination \
            else " in place"
        print(f"Transcribed again in {language} from {done.source}: filed as "
              f"{row.destination}{moved}.")
        return ExitCode.OK
    if outcome.status == OutcomeStatus.CANCELLED:
        print(f"Stopped before the end: run `talks language {row.id} {row.language}` again "
              "to go on where it stopped.")
        return stop.exit_code if stop.is_set() else ExitCode.STOPPED
    print(redact(f"Not filed ({outcome.status} at {outcome.stage}): {outcome.reason}. The "
                 f"talk keeps its language ({language}); run `talks language {row.id} "
                 f"{row.language}` again once that is mended."))
    return ExitCode.FAILED
