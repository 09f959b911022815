"""Every command ends on the exit code the README's table gives for what happened: one row
per (command line, what is set up first, how it ends), run through the real `talks`.

The expected code is read from the README's table by its words (`usage`, `some files
failed` …), and the table must list exactly the codes of `ExitCode`: the README, the code and
these rows cannot drift apart. No model is loaded: a run fails on a file that is not audio,
at probe, and an empty inbox is enough for a run that goes well."""

from __future__ import annotations

import math
import os
import re
import signal
import struct
import subprocess
import sys
import time
import wave
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from common.errors import ExitCode
from pipeline.config.settings import load_config
from pipeline.run.lock import exclusive_run
from tests.support.paths import ROOT
from tests.support.tui_helpers import seed_ledger, seed_library, write_home


def readme_exit_codes() -> dict[int, str]:
    """The README's table of exit codes: code -> what it says happened."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("Exit codes"):].split("\n\n")[1]
    rows = re.findall(r"^\| (\d+) \| (.+?) \|$", table, re.MULTILINE)
    return {int(code): words for code, words in rows}


def readme_code(words: str) -> int:
    """The one code whose row in the README's table says `words`."""
    codes = [code for code, said in readme_exit_codes().items() if words in said]
    assert len(codes) == 1, f"{words!r} is in {len(codes)} rows of the README's exit codes"
    return codes[0]


def test_the_readme_lists_every_exit_code_and_no_other() -> None:
    assert sorted(readme_exit_codes()) == sorted(int(code) for code in ExitCode)


# --- what a row sets up before it runs `talks` --------------------------------------------------

@dataclass
class Home:
    folder: Path
    config: Path
    env: dict[str, str]
    held: ExitStack

    def write_config(self, old: str, new: str) -> None:
        text = self.config.read_text(encoding="utf-8")
        assert old in text
        self.config.write_text(text.replace(old, new), encoding="utf-8")


FAKE_CRONTAB = """#!/bin/sh
# crontab(1) keeping its table in a file beside it: the test never touches the user's own.
table="$(dirname "$0")/table"
case "$1" in
  -l) [ -f "$table" ] && exec cat "$table"; echo "no crontab for $USER" >&2; exit 1 ;;
  -r) rm -f "$table" ;;
  -) cat > "$table" ;;
esac
"""


def _fake_crontab(home: Home) -> None:
    tools = home.folder / "tools"
    tools.mkdir()
    (tools / "crontab").write_text(FAKE_CRONTAB, encoding="utf-8")
    (tools / "crontab").chmod(0o755)
    home.env["PATH"] = f"{tools}{os.pathsep}{home.env['PATH']}"


def _no_ffmpeg(home: Home) -> None:
    (home.folder / "empty").mkdir()
    home.env["PATH"] = str(home.folder / "empty")  # python is started by its full path


def _not_audio(home: Home) -> None:
    (home.folder / "inbox" / "notes.mp3").write_bytes(b"a text, not a recording")


def _recording_gone(home: Home) -> None:
    (home.folder / "inbox" / "bees lecture.mp3").unlink()  # and the seeded talk has no raw/


def _busy(home: Home) -> None:
    home.held.enter_context(exclusive_run(load_config(home.config)))  # another run files


SETUPS: dict[str, Callable[[Home], None]] = {
    "a library": lambda home: seed_library(load_config(home.config)),
    "filed talks": lambda home: seed_ledger(home.config) and None,
    "a bad config": lambda home: home.write_config("min_duration_s = 1.0",
                                                   'min_duration_s = "long"'),
    "a bad schedule": lambda home: home.config.write_text(
        home.config.read_text(encoding="utf-8") + '[schedule]\ntime = "25:00"\n',
        encoding="utf-8"),
    "a file that is not audio": _not_audio,
    "no input folder": lambda home: (home.folder / "inbox").rmdir(),
    "no ffmpeg": _no_ffmpeg,
    "a crontab": _fake_crontab,
    "another run going": _busy,
    "the recording gone": _recording_gone,
}


def _tone(path: Path, seconds: float = 2.0, rate: int = 16000) -> None:
    samples = (int(8000 * math.sin(2 * math.pi * 220 * n / rate))
               for n in range(int(seconds * rate)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", s) for s in samples))


@pytest.fixture
def home(tmp_path: Path):
    config = write_home(tmp_path)
    _tone(tmp_path / "tone.wav")
    with ExitStack() as held:
        made = Home(tmp_path, config, dict(os.environ), held)
        made.write_config("settle_seconds = 0.5", "settle_seconds = 0")  # taken at once
        yield made


# --- the table ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    args: tuple[str, ...]
    ends: str                    # words of the README's row it ends on
    given: tuple[str, ...] = ()  # SETUPS, in order
    stdin: str = ""
    stop: signal.Signals | None = None  # sent once a --watch waits for recordings

    def words(self, home: Home) -> list[str]:
        return [a.replace("{home}", str(home.folder)) for a in self.args]


OK, FAILED, USAGE = "all went well", "some files failed", "usage"
MACHINE, BUSY = "the machine stopped", "another run is busy"
NOTHING_FOUND = "found nothing"
SETUP_ANSWERS = "\n\n\n\n\nn\n"  # Enter keeps each answer the config has; no schedule
ON_LINUX = pytest.mark.skipif(sys.platform == "darwin", reason="not run on macOS: these rows "
                              "would install and remove a real launchd agent there")

def case(name: str, args: tuple[str, ...], ends: str, *given: str, stdin: str = "",
         stop: signal.Signals | None = None, marks: tuple = ()) -> object:
    return pytest.param(Row(args, ends, given, stdin, stop), id=name, marks=marks)


ROWS = [
    # the app and a run
    case("the app, without a terminal", (), USAGE),
    case("--json without --batch", ("--json",), USAGE),
    case("a batch, empty inbox", ("--batch",), OK),
    case("a batch with its json", ("--batch", "--json"), OK),
    case("a batch, a file fails", ("--batch",), FAILED, "a file that is not audio"),
    case("a batch, bad config", ("--batch",), USAGE, "a bad config"),
    case("unknown option", ("--batch", "--nope"), USAGE),
    case("a batch, no input folder", ("--batch",), MACHINE, "no input folder"),
    case("a batch, no ffmpeg", ("--batch",), MACHINE, "a file that is not audio", "no ffmpeg"),
    case("a batch, another run going", ("--batch",), BUSY, "another run going"),
    case("watch, bad config", ("--watch",), USAGE, "a bad config"),
    case("watch, Ctrl-C", ("--batch", "--watch"), "Ctrl-C", stop=signal.SIGINT),
    case("watch, SIGTERM", ("--batch", "--watch"), "SIGTERM", stop=signal.SIGTERM),
    # config
    case("config validate", ("config", "validate"), OK),
    case("config validate, bad config", ("config", "validate"), USAGE, "a bad config"),
    case("config, its actions", ("config",), OK),
    case("config, unknown action", ("config", "check"), USAGE),
    # status
    case("status", ("status",), OK, "filed talks"),
    case("status --json", ("status", "--json"), OK),
    case("status, unknown option", ("status", "--nope"), USAGE),
    case("status, bad config", ("status",), USAGE, "a bad config"),
    # speakers
    case("speakers, its actions", ("speakers",), OK),
    case("speakers, unknown action", ("speakers", "enrol"), USAGE),
    case("speakers list", ("speakers", "list"), OK, "a library"),
    case("speakers list, an argument too many", ("speakers", "list", "Sarah"), USAGE),
    case("speakers add", ("speakers", "add", "Ida Wells", "{home}/tone.wav"), OK),
    case("speakers add, bad name", ("speakers", "add", "Ida/Wells", "{home}/tone.wav"), USAGE),
    case("speakers add, no clip", ("speakers", "add", "Ida Wells"), USAGE),
    case("speakers rename", ("speakers", "rename", "Robert Moss", "Bob Moss"), OK, "a library"),
    case("speakers rename, no such person", ("speakers", "rename", "Nobody", "Bob Moss"),
         USAGE, "a library"),
    case("speakers merge", ("speakers", "merge", "Robert Moss", "Sarah Lane"), OK, "a library"),
    case("speakers merge, no target", ("speakers", "merge", "Robert Moss"), USAGE, "a library"),
    case("speakers remove", ("speakers", "remove", "Robert Moss"), OK, "a library"),
    case("speakers remove, no such person", ("speakers", "remove", "Nobody"), USAGE,
         "a library"),
    case("speakers check, nobody enrolled", ("speakers", "check"), OK),
    case("speakers check, unknown option", ("speakers", "check", "--nope"), USAGE),
    # review and relabel
    case("review", ("review",), OK, "filed talks"),
    case("review, an argument too many", ("review", "12"), USAGE),
    case("relabel", ("relabel", "bees", "Robert Moss"), OK, "filed talks"),
    case("relabel, no talk has that number", ("relabel", "99", "Robert Moss"), USAGE,
         "filed talks"),
    case("relabel, no speaker", ("relabel", "bees"), USAGE, "filed talks"),
    case("relabel, another run going", ("relabel", "bees", "Robert Moss"), BUSY,
         "filed talks", "another run going"),
    # language
    case("language, shown", ("language", "bees"), OK, "filed talks"),
    case("language, no talk", ("language",), USAGE),
    case("language, not a Whisper code", ("language", "bees", "xx"), USAGE, "filed talks"),
    case("language, the recording gone", ("language", "bees", "fr"), FAILED, "filed talks",
         "the recording gone"),
    case("language, another run going", ("language", "bees", "fr"), BUSY, "filed talks",
         "another run going"),
    # voices
    case("voices", ("voices",), OK, "filed talks"),
    case("voices --json", ("voices", "--json"), OK, "filed talks"),
    case("voices show, no such group", ("voices", "show", "7"), USAGE, "filed talks"),
    case("voices name, no such group", ("voices", "name", "7", "Ann Lee"), USAGE,
         "filed talks"),
    case("voices merge, a group with itself", ("voices", "merge", "7", "7"), USAGE,
         "filed talks"),
    case("voices remove, no such group", ("voices", "remove", "7", "bees"), USAGE,
         "filed talks"),
    case("voices name, not a number", ("voices", "name", "three", "Ann Lee"), USAGE),
    case("voices name, another run going", ("voices", "name", "7", "Ann Lee"), BUSY,
         "filed talks", "another run going"),
    # search
    case("search", ("search", "bees"), OK, "filed talks"),
    case("search, nothing found", ("search", "zeppelin"), NOTHING_FOUND, "filed talks"),
    case("search, nothing filed", ("search", "bees"), NOTHING_FOUND),
    case("search, bad --year", ("search", "bees", "--year", "soon"), USAGE, "filed talks"),
    case("search, nothing to look for", ("search", "*"), USAGE, "filed talks"),
    case("search --reindex", ("search", "--reindex"), OK, "filed talks"),
    # schedule
    case("schedule, its actions", ("schedule",), OK),
    case("schedule status", ("schedule", "status"), OK, "a crontab"),
    case("schedule status, bad config", ("schedule", "status"), USAGE, "a bad config"),
    case("schedule install", ("schedule", "install"), OK, "a crontab", marks=(ON_LINUX,)),
    case("schedule install, bad time", ("schedule", "install"), USAGE, "a bad schedule",
         "a crontab"),
    case("schedule remove", ("schedule", "remove"), OK, "a crontab", marks=(ON_LINUX,)),
    case("schedule remove, an argument too many", ("schedule", "remove", "now"), USAGE),
    # setup
    case("setup", ("setup",), OK, stdin=SETUP_ANSWERS),
    case("setup, no answers", ("setup",), USAGE),
    case("setup, a config that does not load", ("setup",), USAGE, "a bad config",
         stdin=SETUP_ANSWERS),
    # talks' own options, before or after the command
    case("--batch with a command", ("--batch", "status"), USAGE),
    case("two configs", ("status", "--config", "{home}/other.toml"), USAGE),
]


def run_talks(row: Row, home: Home) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "tui.cli", "--config", str(home.config), *row.words(home)]
    if row.stop is None:
        return subprocess.run(command, cwd=ROOT, env=home.env, input=row.stdin,
                              capture_output=True, text=True, timeout=60)
    return _stopped(command, home, row.stop)


def _stopped(command: list[str], home: Home, how: signal.Signals) -> subprocess.CompletedProcess:
    """A --watch stopped by `how` once it waits for new recordings."""
    said = home.folder / "stderr.txt"
    with open(said, "w", encoding="utf-8") as err:
        # A session of its own, like a terminal's foreground job: Ctrl-C reaches the group.
        proc = subprocess.Popen(command, cwd=ROOT, env=home.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, text=True,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 30
            while "waiting for new recordings" not in said.read_text(encoding="utf-8"):
                assert proc.poll() is None and time.monotonic() < deadline, \
                    said.read_text(encoding="utf-8")
                time.sleep(0.05)
            if how == signal.SIGINT:
                os.killpg(proc.pid, how)  # Ctrl-C: the whole foreground group
            else:
                proc.send_signal(how)  # kill PID: the main process only
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return subprocess.CompletedProcess(command, proc.returncode, "",
                                       said.read_text(encoding="utf-8"))


@pytest.mark.parametrize("row", ROWS)
def test_each_command_ends_on_the_readmes_exit_code(row: Row, home: Home) -> None:
    for name in row.given:
        SETUPS[name](home)
    done = run_talks(row, home)
    said = done.stdout + done.stderr
    assert done.returncode == readme_code(row.ends), said
    assert "Traceback" not in said
