"""The supported ranges of the libraries whose insides talks uses (common/supported.py): the
table agrees with pyproject.toml and the Makefile, the installed versions are inside it, and
a version outside it stops with one sentence naming the range, at the import of each module
that reaches into that library."""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import sys
import tomllib

import pytest

from common import supported
from common.errors import ExitCode, Fault
from common.supported import SUPPORTED, Supported, UnsupportedVersion, release, require
from tests.support.paths import ROOT
from tests.support.versions import version_faker

# Installed by the Makefile with --no-deps (its own dependencies do not build), not by pip
# from pyproject.toml.
MAKEFILE_PINNED = {"resemblyzer"}

# The modules that reach into each library, each checking it when imported.
CHECKED_AT_IMPORT = [
    ("pipeline.asr.lean_frontend", "faster-whisper"),
    ("pipeline.asr.faster_whisper_engine", "faster-whisper"),
    ("pipeline.asr.mlx_engine", "mlx-whisper"),
    ("pipeline.filing.riff_info", "mutagen"),
    ("speakers.backends.ge2e", "resemblyzer"),
    ("pipeline.stages.frequent_words", "wordfreq"),
    ("tui.app", "textual"),
    ("pipeline.cluster.driver", "ray"),
]


def requirement_name(text: str) -> str:
    return re.split(r"[<>=!~;\[ ]", text, maxsplit=1)[0].strip().lower().replace("_", "-")


def pyproject_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    found = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        found += extra
    return found


def fake_version(monkeypatch: pytest.MonkeyPatch, distribution: str, version: str) -> None:
    """The import path, as the checking module reads it, holds `version` of one library."""
    real = supported.installed

    def version_of(name: str) -> str | None:
        if requirement_name(name) == distribution:
            return version
        return real(name)

    monkeypatch.setattr(supported, "installed", version_of)


@pytest.mark.parametrize("distribution", sorted(set(SUPPORTED) - MAKEFILE_PINNED))
def test_every_pyproject_bound_is_the_table_s(distribution: str) -> None:
    wanted = SUPPORTED[distribution]
    asked = [r for r in pyproject_requirements() if requirement_name(r) == distribution]
    assert asked, f"{distribution} is in common/supported.py but not in pyproject.toml"
    for requirement in asked:
        # An extra asked with it (ray[client]) is not part of the bound.
        bare = re.sub(r"\[[^\]]*\]", "", requirement.split(";")[0])
        specifier = bare[len(distribution):].replace(" ", "")
        assert specifier == wanted.specifier, (requirement, wanted.requirement)


@pytest.mark.parametrize("distribution", sorted(MAKEFILE_PINNED))
def test_the_makefile_pin_is_inside_the_table_s_range(distribution: str) -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    pins = re.findall(rf"--no-deps {distribution}==(\S+)", makefile)
    assert pins, f"the Makefile installs no {distribution}"
    assert "--no-deps" in SUPPORTED[distribution].pip_options
    for pin in pins:
        assert SUPPORTED[distribution].admits(pin), (pin, SUPPORTED[distribution].requirement)
    assert not [r for r in pyproject_requirements() if requirement_name(r) == distribution]


@pytest.mark.parametrize("distribution", sorted(SUPPORTED))
def test_the_installed_version_is_inside(distribution: str) -> None:
    version = supported.installed(distribution)
    if version is None:
        pytest.skip(f"not run: {distribution} is not installed on this machine (an optional "
                    "part, in a venv of its own), so there is no version of it to check")
    assert SUPPORTED[distribution].admits(version), (version, SUPPORTED[distribution])
    require(distribution)


@pytest.mark.parametrize("entry", SUPPORTED.values(), ids=lambda s: s.distribution)
def test_the_range_holds_its_floor_and_stops_below_its_bound(entry: Supported) -> None:
    assert release(entry.below)[-1] > 0  # the range's last version can be said as N.x
    assert entry.admits(entry.floor)
    assert entry.admits(entry.floor + ".0")
    assert not entry.admits(entry.below)
    assert not entry.admits(entry.below + ".0")
    assert not entry.admits(entry.below + ".1")
    floor = release(entry.floor)
    if floor[-1] > 0:
        assert not entry.admits(".".join(map(str, (*floor[:-1], floor[-1] - 1))))


def test_versions_compare_by_their_release_numbers() -> None:
    fw = SUPPORTED["faster-whisper"]
    assert release("1.2.1rc1") == (1, 2, 1)
    assert release("1.2.1+cpu") == (1, 2, 1)
    assert fw.admits("1.2.9.post1")
    assert not fw.admits("1.2.0")
    assert not fw.admits("1.3.0rc1")
    assert not fw.admits("1.10.0")
    assert fw.admits("unknown")  # nothing to judge by: let through


def test_the_range_is_said_as_people_say_it() -> None:
    assert SUPPORTED["faster-whisper"].range_text == "1.2.1 to 1.2.x"
    assert SUPPORTED["textual"].range_text == "8.x"
    assert SUPPORTED["mutagen"].range_text == "1.47 to 1.48.x"


def test_a_version_outside_is_one_sentence_naming_the_range(monkeypatch) -> None:
    fake_version(monkeypatch, "faster-whisper", "1.4.0")
    with pytest.raises(UnsupportedVersion) as caught:
        require("faster-whisper")
    assert str(caught.value) == (
        "faster-whisper 1.4.0 is installed, but talks supports faster-whisper 1.2.1 to 1.2.x "
        "only (it replaces its VAD loader and reads its Silero model file): run "
        "`pip install 'faster-whisper>=1.2.1,<1.3'`.")
    # A fault of the machine, as a missing tool is: the faces print it and stop with exit 3.
    assert isinstance(caught.value, Fault)
    assert caught.value.exit_code == ExitCode.MACHINE


def test_too_old_is_said_the_same_way_and_keeps_pip_s_options(monkeypatch) -> None:
    fake_version(monkeypatch, "resemblyzer", "0.1.3")
    with pytest.raises(UnsupportedVersion, match=re.escape(
            "resemblyzer 0.1.3 is installed, but talks supports resemblyzer 0.1.4 to 0.1.x only "
            "(it reads the GE2E weights file inside the package): run "
            "`pip install --no-deps 'resemblyzer>=0.1.4,<0.2'`.")):
        require("resemblyzer")


def test_a_library_not_installed_is_left_to_its_import(monkeypatch) -> None:
    monkeypatch.setattr(supported, "installed", lambda name: None)
    require("mlx-whisper")  # the engine's own import says it is missing
    assert supported.installed("no-such-distribution-here") is None


@pytest.mark.parametrize("distribution", sorted(SUPPORTED))
def test_the_version_read_is_the_one_importlib_metadata_reads(distribution: str) -> None:
    assert supported.installed(distribution) == importlib.metadata.version(distribution)


def test_a_dist_info_earlier_on_the_path_is_the_one_read(tmp_path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(version_faker(tmp_path, {"Faster-Whisper": "9.1.0"})))
    assert supported.installed("faster_whisper") == "9.1.0"
    with pytest.raises(UnsupportedVersion, match="faster-whisper 9.1.0 is installed"):
        require("faster-whisper")


@pytest.mark.parametrize(("module", "distribution"), CHECKED_AT_IMPORT)
def test_each_module_reaching_in_checks_at_import(monkeypatch, module: str,
                                                  distribution: str) -> None:
    wanted = SUPPORTED[distribution]
    outside = ".".join(str(n) for n in (*release(wanted.below)[:-1],
                                        release(wanted.below)[-1] + 1)) + ".0"
    fake_version(monkeypatch, distribution, outside)
    monkeypatch.delitem(sys.modules, module, raising=False)  # put back after the test
    with pytest.raises(UnsupportedVersion) as caught:
        importlib.import_module(module)
    assert str(caught.value).startswith(f"{distribution} {outside} is installed, but talks "
                                        f"supports {distribution} {wanted.range_text} only")
