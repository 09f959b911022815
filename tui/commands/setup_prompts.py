"""`talks setup`: the first-run questions as plain prompts (works over any SSH session).

Each answer is checked as it is given (a folder that does not exist is offered to be made,
recordings found are counted); nothing is written until every answer is in, and what is
written is a commented config that is validated before the command ends. Run again, it
starts from the config's current values and changes only what the answers change, keeping
the file's comments.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TextIO

from common.errors import ExitCode
from pipeline.api.config_files import (
    Answers,
    answers_from,
    build,
    describe_folder,
    engine_choices,
    existing,
    model_choices,
    save,
)
from pipeline.api.configuration import (
    DEFAULT_CONFIG_NAME,
    InputConfig,
    resolve_path,
    what_a_run_lacks,
)
from pipeline.api.voices import SpeakerLibrary


class NoAnswer(Exception):
    pass


class Prompts:
    def __init__(self, stdin: TextIO, out: TextIO):
        self.stdin, self.out = stdin, out

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def ask(self, question: str, default: str) -> str:
        self.out.write(f"{question} [{default}]: " if default else f"{question}: ")
        self.out.flush()
        line = self.stdin.readline()
        if not line:
            raise NoAnswer
        return line.strip() or default

    def yes(self, question: str, default: bool) -> bool:
        while True:
            answer = self.ask(f"{question} (y/n)", "y" if default else "n").lower()
            if answer in ("y", "yes", "n", "no"):
                return answer.startswith("y")
            self.say("  Please answer y or n.")

    def choose(self, question: str, choices: list[str], default: str) -> str:
        while True:
            answer = self.ask(f"{question} ({' / '.join(choices)})", default)
            if answer in choices or Path(answer).expanduser().is_dir():
                return answer
            self.say(f"  One of: {', '.join(choices)}.")


def add_command(sub: argparse._SubParsersAction) -> None:
    sub.add_parser(
        "setup", help="first-run questions that write (or update) the config",
        description="Ask the first-run questions as plain prompts, fit for any SSH session: "
                    "input folders, output root, speaker library, engine and model, and "
                    "whether to run every day. Each answer is checked as it is given; nothing "
                    "is written until all are in, then a commented config, validated. Run "
                    "again, it starts from the config's values and keeps its comments.",
        epilog="Example: talks setup --config ~/talks/config.toml")


def _folders(p: Prompts, base: Path, default: list[str]) -> list[str]:
    extensions = InputConfig().extensions
    while True:
        raw = p.ask("Folders with your recordings, separated by commas", ", ".join(default))
        folders = [f.strip() for f in raw.split(",") if f.strip()]
        if not folders:
            p.say("  At least one folder, please.")
            continue
        usable = True
        for folder in folders:
            path = resolve_path(folder, base)
            ok, line = describe_folder(path, extensions)
            if not ok:
                if p.yes(f"  {path} does not exist. Create it", False):
                    path.mkdir(parents=True)
                    ok, line = describe_folder(path, extensions)
                else:
                    usable = False
            p.say(f"  {line}")
        if usable:
            return folders


def _speakers(p: Prompts, base: Path, default: str) -> str:
    folder = p.ask("Speaker library folder (clips NAME.mp3, NAME_1.mp3 … or NAME/)", default)
    path = resolve_path(folder, base)
    people = SpeakerLibrary(path).people() if path.is_dir() else []
    if people:
        enrolled = f"{len(people)} {'person' if len(people) == 1 else 'people'} enrolled"
        p.say(f"  {enrolled}: {', '.join(x.name for x in people[:8])}")
    else:
        p.say("  No one enrolled yet: add people later with `talks speakers add NAME CLIP…` "
              "(talks by unknown voices are filed under Miscellaneous Speakers).")
    return folder


def _engine(p: Prompts, default: Answers) -> tuple[str, str]:
    engines = engine_choices()
    p.say(f"Speech engines on this machine: {', '.join(engines)} (auto picks {engines[0]}).")
    engine = p.choose("Engine", ["auto", *engines], default.engine)
    for name, cost in model_choices():
        p.say(f"  {name}: {cost}")
    names = [n for n, _ in model_choices()]
    model = p.choose("Model (or a folder with CTranslate2 weights)", names, default.model)
    return engine, model


def interview(p: Prompts, path: Path) -> Answers:
    base = path.resolve().parent
    old = existing(path)
    start = answers_from(old) if old else Answers(folders=["recordings"], output="output",
                                                  speakers="speaker-library")
    p.say(f"Setting up talks in {path}" + (" (its values are the defaults)" if old else "")
          + ". Press Enter to keep what is in [brackets].")
    answers = Answers(folders=_folders(p, base, start.folders),
                      output=p.ask("Output root (talks/, transcripts/, raw/, the ledger)",
                                   start.output),
                      speakers="")
    answers.speakers = _speakers(p, base, start.speakers)
    answers.engine, answers.model = _engine(p, start)
    answers.schedule = p.yes("Run talks --batch every day by itself (cron/launchd)", False)
    if answers.schedule:
        answers.time = p.ask("At what time (HH:MM, 24 h)", start.time)
    return answers


def run(path: Path, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    p = Prompts(stdin, out)
    if path.is_file() and existing(path) is None:
        p.say(f"talks: {path} exists but does not load: fix what `talks --config {path} "
              "config validate` lists, or move it away, then run setup again.")
        return ExitCode.USAGE
    try:
        answers = interview(p, path)
    except NoAnswer:
        p.say("\ntalks setup stopped: no more answers on its input. Nothing was written.")
        return ExitCode.USAGE
    except KeyboardInterrupt:
        p.say("\nStopped. Nothing was written.")
        return ExitCode.SIGINT
    try:
        config = save(build(answers, path, existing(path)), path)
    except Exception as exc:  # noqa: BLE001 - a ConfigError or a disk error, said plainly
        p.say(f"talks: nothing was written: {exc}")
        return ExitCode.FAILED
    talks = f"talks{config_option(path)}"
    lacking = what_a_run_lacks(config)
    p.say(f"Wrote {path}; `{talks} config validate`: "
          + ("OK." if not lacking else "it loads, but a run would stop on:"))
    for sentence in lacking:
        p.say(f"  - {sentence}")
    if answers.schedule:
        from pipeline.api.config_files import ScheduleError, install

        try:
            p.say(install(config))
        except ScheduleError as exc:
            p.say(f"The schedule was not installed: {exc}")
    p.say(f"Next: `{talks}` opens the app (s starts the queue); `{talks} --batch` files every "
          f"new recording headless; `{talks} --watch` files them as they arrive.")
    return ExitCode.OK


def config_option(path: Path) -> str:
    """` --config PATH` for the commands to come, unless they find this config by themselves
    (./config.toml in the current folder)."""
    if path.resolve() == (Path.cwd() / DEFAULT_CONFIG_NAME).resolve():
        return ""
    return f" --config {shlex.quote(str(path))}"
