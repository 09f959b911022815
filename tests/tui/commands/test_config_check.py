"""`talks config validate` checks what a run will need, with the run's own checks: a config
that loads but names a model that is not installed, folders or a disk that are not there, a
speaker model that is missing or no ffmpeg is not "OK". Each is listed in the sentence the run
would stop on, and it exits 3 as the run would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

NOBODY = 65534


def talks(config: Path, *args: str, path: str | None = None,
          setpriv: bool = False) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "tui.cli", "--config", str(config), *args]
    if setpriv:  # held to the file modes, as any user is (see test_machine_faults.py)
        cmd = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--", *cmd]
    env = {**os.environ, **({"PATH": path} if path is not None else {})}
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=60)


def lacking(stderr: str) -> list[str]:
    return [line[4:] for line in stderr.splitlines() if line.startswith("  - ")]


def test_validate_lists_what_a_run_would_stop_on_and_exits_3(tmp_path):
    (tmp_path / "inbox").mkdir()
    config = tmp_path / "config.toml"
    config.write_text('[input]\nfolders = ["inbox", "stick/talks"]\n'
                      '[output]\nroot = "disk/library"\n'
                      '[speakers]\ncampplus_weights = "nowhere/campplus.pt"\n'
                      '[transcription]\nmodel = "large"\n', encoding="utf-8")
    no_ffmpeg = str(tmp_path / "empty-bin")
    checked = talks(config, "config", "validate", path=no_ffmpeg)
    assert checked.returncode == 3, checked.stderr
    assert "OK" not in checked.stdout and "Traceback" not in checked.stderr
    said = lacking(checked.stderr)
    assert checked.stderr.startswith(f"{config} loads, but a run would stop on 5 problem(s):")
    assert said[0].startswith("ffmpeg/ffprobe were not found on PATH")
    assert said[1].startswith(f"The output root {tmp_path / 'disk' / 'library'} cannot be made")
    assert said[2].startswith(f"Input folder {tmp_path / 'stick' / 'talks'} does not exist")
    assert said[3] == ("No local weights for Whisper model 'large': set [transcription] model "
                       "to a folder with its weights, or set allow_download = true.")
    assert said[4].startswith("The CAM++ speaker model (campplus_cn_en_common.pt) was not found")
    # The run stops on the same sentences, in its own words: they can never disagree.
    ran = talks(config, "--batch", path=no_ffmpeg)
    assert ran.returncode == 3 and ran.stderr == f"talks: {said[1]}\n"
    (tmp_path / "disk").mkdir()
    ran = talks(config, "--batch", path=no_ffmpeg)
    assert ran.returncode == 3 and f"Stopped: {said[0]}" in ran.stderr
    ran = talks(config, "--batch")
    assert ran.returncode == 3 and f"Stopped: {said[2]}" in ran.stderr


def test_validate_says_an_output_root_it_may_not_write(tmp_path):
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("not run: needs root and setpriv (util-linux) to take write rights away")
    (tmp_path / "inbox").mkdir()
    (tmp_path / "theirs").mkdir()
    os.chown(tmp_path / "theirs", NOBODY, NOBODY)  # someone else's folder
    config = tmp_path / "config.toml"
    config.write_text('[input]\nfolders = ["inbox"]\n[output]\nroot = "theirs/library"\n'
                      '[speakers]\nidentify = false\n[logging]\nfile = "talks.log"\n',
                      encoding="utf-8")
    checked = talks(config, "config", "validate", setpriv=True)
    assert checked.returncode == 3, checked.stderr
    assert lacking(checked.stderr) == [
        f"No permission to write the output folder ({tmp_path / 'theirs'}): fix the "
        "permissions of that folder or choose another place in the config, then run again."]
    ran = talks(config, "--batch", setpriv=True)
    assert ran.returncode == 3 and f"Stopped: {lacking(checked.stderr)[0]}" in ran.stderr
