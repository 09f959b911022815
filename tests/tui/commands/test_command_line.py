"""The shape of the `talks` command line: talks' own options mean the same before and after a
command, a command group alone lists its actions, every command says what it does, and
`speakers list` counts in words that are true."""

from __future__ import annotations

import argparse
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from pipeline.config.settings import load_config
from pipeline.ledger import Ledger
from tests.support.paths import ROOT
from tests.support.tui_helpers import seed_ledger, write_home
from tui.cli import build_parser, commands


def talks(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=60)


def write_wav(path: Path, seconds: float, level: int = 1, rate: int = 16000) -> None:
    """A WAV of `seconds` at a constant `level`: another level, another clip's content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(level.to_bytes(2, "little") * int(seconds * rate))


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A config, a ledger with filed talks, and a library of one person."""
    folder = tmp_path_factory.mktemp("shape")
    config = write_home(folder)
    seed_ledger(config)
    write_wav(folder / "library" / "Ida Wells.wav", 3)
    return config


SETUP_ANSWERS = "\n\n\n\n\nn\n"  # Enter keeps each answer the config has; no schedule


@pytest.mark.parametrize(("before", "after", "stdin"), [
    (["setup"], ["setup"], SETUP_ANSWERS),
    (["status"], ["status"], ""),
    (["--json", "status"], ["status", "--json"], ""),
    (["speakers", "list"], ["speakers", "list"], ""),
    (["speakers", "list"], ["speakers", "{config}", "list"], ""),  # between group and action
    (["review"], ["review"], ""),
    (["relabel", "bees", "Sarah Lane"], ["relabel", "bees", "Sarah Lane"], ""),
    (["schedule", "status"], ["schedule", "status"], ""),
    (["config", "validate"], ["config", "validate"], ""),
], ids=["setup", "status", "status --json", "speakers list", "speakers --config list",
        "review", "relabel", "schedule status", "config validate"])
def test_talks_own_options_mean_the_same_after_the_command(home, before, after, stdin):
    config = ["--config", str(home)]
    first = talks(*config, *before, stdin=stdin)
    where = after.index("{config}") if "{config}" in after else len(after)
    second = talks(*after[:where], *config, *after[where + 1:], stdin=stdin)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert first.stdout == second.stdout and first.stdout.strip()
    if before[0] == "--json":
        assert first.stdout.startswith("{")
    if before == ["setup"]:  # one person is a person, not "1 people"
        assert "  1 person enrolled: Ida Wells\n" in first.stdout


def test_two_configs_are_refused_unless_they_are_one_file(home):
    other = home.parent / "other.toml"
    done = talks("--config", str(home), "status", "--config", str(other))
    assert done.returncode == 2
    assert done.stderr == (f"talks: --config is given twice, as {home} and {other}: give it "
                           "once, before or after the command. Nothing was run.\n")
    spelled_otherwise = talks("--config", str(home), "status", "--config",
                              str(home.parent / "." / home.name))
    assert spelled_otherwise.returncode == 0, spelled_otherwise.stderr


@pytest.mark.parametrize(("args", "command"), [
    (["--batch", "status"], "status"),
    (["--json", "speakers", "list"], "speakers list"),
    (["--start", "speakers", "add", "Ida Wells", "{home}/library/Ida Wells.wav"],
     "speakers add"),
    (["--watch", "review"], "review"),
    (["--full-scan", "schedule", "status"], "schedule status"),
    (["--new-output-root", "setup"], "setup"),
], ids=lambda v: v[0] if isinstance(v, list) else v)
def test_an_option_the_command_does_not_take_is_refused_before_it_too(home, args, command):
    """After the command argparse refuses it; before, it was ignored without a word."""
    args = [a.replace("{home}", str(home.parent)) for a in args]
    library = sorted((home.parent / "library").rglob("*"))
    done = talks("--config", str(home), *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == (f"talks: {args[0]} does not go with `talks {command}` (see talks "
                           f"{command} --help). Nothing was run.\n")
    assert sorted((home.parent / "library").rglob("*")) == library  # nothing was added


def groups() -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """The command groups that, alone, list their actions (`talks voices` alone lists the
    voices instead: its own listing)."""
    return [(words, parser) for words, parser, _help in commands(build_parser())
            if any(True for _ in commands(parser))
            and not parser.get_default("bare_is_a_listing")]


def test_the_command_groups_are_found() -> None:
    # The test below walks what commands() finds: it must find what is there.
    assert {words for words, _parser in groups()} >= {("config",), ("speakers",),
                                                       ("schedule",)}


@pytest.mark.parametrize("words", [words for words, _parser in groups()], ids=" ".join)
def test_a_command_group_alone_lists_its_actions(home, words):
    parser = dict(groups())[words]
    done = talks("--config", str(home), *words)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    actions = list(commands(parser))
    assert lines[0] == f"talks {' '.join(words)} ACTION, where ACTION is one of:"
    assert len(lines) == len(actions) + 2
    for line, ((name,), _parser, help_) in zip(lines[1:], actions, strict=False):
        assert line.split() == [name, *help_.split()]


def every_command() -> dict[tuple[str, ...], tuple[argparse.ArgumentParser, str | None]]:
    found = {words: (parser, help_) for words, parser, help_ in commands(build_parser())}
    # The test below walks what commands() finds: it must find what is there.
    assert len(found) >= 17 and ("speakers", "add") in found and ("schedule", "status") in found
    return found


@pytest.mark.parametrize("words", list(every_command()), ids=" ".join)
def test_every_command_says_what_it_does(words):
    parser, help_ = every_command()[words]
    said = f"talks {' '.join(words)}"
    assert help_ and help_.strip(), f"{said} has no help= line in the --help above it"
    assert parser.description and len(parser.description) > len(help_), \
        f"{said} has no description= saying more than its help= line"
    for action in parser._actions:
        if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            assert action.help and action.help.strip(), f"{action.dest} of {said} has no help"


def flat(text: str) -> str:
    return " ".join(text.split())  # as argparse wraps it, or not


def test_the_help_lists_every_command_and_says_what_each_does():
    top = talks("--help")
    assert top.returncode == 0
    for words, _parser, help_ in commands(build_parser()):
        if len(words) == 1:
            assert flat(f"{words[0]} {help_}") in flat(top.stdout)
    add = talks("speakers", "add", "--help")
    assert add.returncode == 0
    assert "Copy recordings into the library as clips of NAME" in flat(add.stdout)
    assert "Example: talks speakers add 'Ada Lovelace' lecture.mp3 --start 60" in flat(add.stdout)


def test_speakers_list_counts_clips_people_and_vectors_truly(tmp_path):
    config_path = write_home(tmp_path)
    config = load_config(config_path)
    library = config.speakers.folder
    for n in range(4):
        write_wav(library / "Ida Wells" / f"take {n}.wav", 8, level=n + 1)
    (library / "Robert Moss.wav").write_bytes(b"not audio")
    with Ledger(config.output.ledger_path) as ledger:  # one of Ida's four was embedded
        ledger.store_embedding(ledger.hash_of(library / "Ida Wells" / "take 0.wav"),
                               "campplus", [0.5] * 4)
    done = talks("--config", str(config_path), "speakers", "list")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Ida Wells: 4 clips, 32 s in all; 1 embedded with campplus, 3 not yet (the next run "
        "or `talks speakers check` embeds them)",
        "    Ida Wells/take 0.wav",
        "    Ida Wells/take 1.wav",
        "    Ida Wells/take 2.wav",
        "    Ida Wells/take 3.wav",
        "Robert Moss: 1 clip, 0 s in all — under 30 s: add more; 0 embedded with campplus, "
        "1 cannot be read",
        "    Robert Moss.wav  — cannot be read as audio: replace it or remove it"]


def test_the_demo_library_asks_for_no_more_speech(tmp_path):
    """Issue 33: the first run's `talks speakers list` shows the bundled people without an
    "under 30 s: add more" (each has three clips of demo/make_demo.py)."""
    config = tmp_path / "config.toml"
    config.write_text(f'[output]\nroot = "{tmp_path / "out"}"\n'
                      f'[speakers]\nfolder = "{ROOT / "demo" / "speakers"}"\n', encoding="utf-8")
    done = talks("--config", str(config), "speakers", "list")
    assert done.returncode == 0, done.stderr
    people = [line for line in done.stdout.splitlines() if not line.startswith(" ")]
    assert [line.split(":")[0] for line in people] == ["Robert Moss", "Sarah Lane"]
    assert not [line for line in people if "add more" in line], people
    assert all(int(line.split(", ")[1].split(" s ")[0]) >= 30 for line in people), people


def test_a_listing_piped_into_a_reader_that_leaves_ends_quietly(home):
    """`talks speakers list | head -3`: the pipe closes before everything is written."""
    proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "--config", str(home),
                             "speakers", "list"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # before the first line: the child's write meets a closed pipe
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert "talks:" not in err and "Broken pipe" not in err and "Traceback" not in err, err
