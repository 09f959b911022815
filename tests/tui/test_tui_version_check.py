"""A Textual outside the supported range: `talks` in a terminal says so in one sentence and
exits 3 before the app starts. The terminal is a pseudo-terminal; only the version that
the import path reports is faked (tests/support/versions.py), Textual is the installed one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from common.errors import ExitCode
from common.supported import SUPPORTED
from tests.support.paths import ROOT
from tests.support.versions import version_faker


def test_the_app_says_the_supported_textual_range_and_does_not_start(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    config = tmp_path / "config.toml"
    config.write_text('[input]\nfolders = ["inbox"]\n[output]\nroot = "out"\n'
                      '[logging]\nfile = "talks.log"\n', encoding="utf-8")
    faker = version_faker(tmp_path / "fake", {"textual": "9.0.0"})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(faker), str(ROOT)])}
    main, terminal = os.openpty()
    try:
        result = subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config)],
                                cwd=ROOT, stdin=terminal, stdout=terminal,
                                stderr=subprocess.PIPE, text=True, timeout=60, env=env)
    finally:
        os.close(terminal)
        os.close(main)
    wanted = SUPPORTED["textual"]
    assert result.returncode == ExitCode.MACHINE, result.stderr
    assert result.stderr == (
        f"talks: textual 9.0.0 is installed, but talks supports textual {wanted.range_text} "
        f"only ({wanted.why}): run `pip install '{wanted.requirement}'`.\n")
