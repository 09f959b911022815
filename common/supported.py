"""The versions of the libraries whose insides talks relies on, in one table.

talks patches or reads private parts of a few libraries: faster-whisper's VAD loader and the
Silero file it ships, mlx-whisper's package import and decoder internals, Textual's driver
stream, mutagen's RIFF reader, resemblyzer's weights file, wordfreq's word lists,
Ray's printer of its driver's error notes. Each gets
a range here, the range the tests ran on; pyproject.toml (and the Makefile, for resemblyzer)
carry the same bounds, and a test holds them to this table.

The module that relies on a library's insides calls `require` before it touches them, so a
version outside the range stops with one sentence naming the range, instead of an
AttributeError somewhere in a worker. `UnsupportedVersion` is a `Fault`: like a missing tool,
it would meet every recording, so it stops the run and the faces print its sentence (exit 3).

Versions are compared by their release numbers (1.2.1rc1 counts as 1.2.1), which is all
these bounds need; `packaging` is not a dependency of talks. The installed version is read
from the distribution's `NAME-VERSION.dist-info` folder on the import path, the way Python's
own importlib.metadata finds it, but without importing that module: it brings email, zipfile
and csv, ~4.5 MB in every worker process that checks.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass

from common.errors import Fault


class UnsupportedVersion(Fault):
    """A library talks relies on the insides of is installed in a version outside its range."""


@dataclass(frozen=True)
class Supported:
    distribution: str  # the name pip knows it by
    floor: str         # the oldest version known to work
    below: str         # the first version not known to work (its last number above 0)
    why: str           # what talks does with its insides, said in the sentence
    pip_options: str = ""  # e.g. --no-deps, for a library installed without its dependencies

    @property
    def specifier(self) -> str:
        return f">={self.floor},<{self.below}"

    @property
    def requirement(self) -> str:
        """What pyproject.toml (or the Makefile) asks for."""
        return f"{self.distribution}{self.specifier}"

    @property
    def range_text(self) -> str:
        """The range as people say it: '1.2.1 to 1.2.x', or '8.x'."""
        numbers = release(self.below)
        last = ".".join(str(n) for n in (*numbers[:-1], numbers[-1] - 1)) + ".x"
        return last if last == f"{self.floor}.x" else f"{self.floor} to {last}"

    def admits(self, version: str) -> bool:
        """Whether `version` is in the range (one with no release numbers is let through:
        there is nothing to judge it by)."""
        if not release(version):
            return True
        return _key(self.floor) <= _key(version) < _key(self.below)


SUPPORTED: dict[str, Supported] = {s.distribution: s for s in (
    # 1.1 to 1.2.0 ship a Silero encoder and decoder in two files, with no `session`: only
    # 1.2.1 has the single silero_vad_v6.onnx that lean_frontend.py reads.
    Supported("faster-whisper", "1.2.1", "1.3",
              "it replaces its VAD loader and reads its Silero model file"),
    # 0.4.2 and older break a batch's log-probabilities and best_of sampling (fixed in 0.4.3).
    Supported("mlx-whisper", "0.4.3", "0.5",
              "it imports its parts without its __init__ and replaces its decoder's "
              "timestamp rule and sampler"),
    Supported("textual", "8", "9", "it wraps the stream of Textual's terminal driver"),
    Supported("mutagen", "1.47", "1.49", "it writes a wav's INFO list with mutagen's private "
              "RIFF reader"),
    Supported("resemblyzer", "0.1.4", "0.2", "it reads the GE2E weights file inside the package",
              pip_options="--no-deps "),
    # Its lists are read as files (pipeline/stages/frequent_words.py), not through its API.
    Supported("wordfreq", "3.1", "4", "it reads the word-frequency lists inside the package"),
    # The [cluster] extra: the driver's printer of the cluster's error notes is replaced.
    Supported("ray", "2.60", "2.61", "it sends the error notes Ray's driver prints to the "
              "run's log instead of the run's output"),
)}


def release(version: str) -> tuple[int, ...]:
    """The release numbers a version starts with ('1.2.1rc1' -> (1, 2, 1)); () when none."""
    found = re.match(r"\d+(\.\d+)*", version.strip())
    return tuple(int(n) for n in found.group().split(".")) if found else ()


def _key(version: str) -> tuple[int, ...]:
    """Release numbers padded with zeros, so that 1.3 and 1.3.0 compare equal."""
    numbers = release(version)
    return numbers + (0,) * (8 - len(numbers))


def _normal(name: str) -> str:
    """A distribution's name as its dist-info folder spells it (PEP 503 and PEP 427)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def installed(distribution: str) -> str | None:
    """The version of `distribution` that an import would find: the first dist-info folder
    for it along sys.path (None when it is not installed)."""
    wanted = _normal(distribution)
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue  # a zip, or a folder that is gone
        for name in names:
            if name.endswith(".dist-info"):
                project, _, version = name[: -len(".dist-info")].rpartition("-")
                if version and _normal(project) == wanted:
                    return version
    return None


def require(distribution: str) -> None:
    """Raise UnsupportedVersion when `distribution` is installed in a version outside its
    range. One that is not installed passes: the import that needs it says so itself."""
    wanted = SUPPORTED[distribution]
    version = installed(distribution)
    if version is None or wanted.admits(version):
        return
    raise UnsupportedVersion(
        f"{distribution} {version} is installed, but talks supports {distribution} "
        f"{wanted.range_text} only ({wanted.why}): run "
        f"`pip install {wanted.pip_options}'{wanted.requirement}'`.")
