"""A faster-whisper outside the supported range, met where it is met for real: in the
transcription worker of `talks --batch`. Only the version the import path reports is faked
(by a dist-info folder early on the path, which the worker inherits); the library itself is
the one installed. The run stops with the one sentence naming the range, exit 3, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from common.errors import ExitCode
from common.supported import SUPPORTED
from tests.support.paths import ROOT
from tests.support.versions import version_faker

pytestmark = pytest.mark.models  # the second run files the recording with tiny.en


def tone(path: Path, seconds: float = 2.0, rate: int = 16_000) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


def talks_batch(config: Path, python_path: list[Path]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in python_path)}
    return subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config), "--batch",
                           "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=env)


def test_batch_stops_with_the_sentence_from_the_worker(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    tone(tmp_path / "inbox" / "hum.wav")
    config = tmp_path / "config.toml"
    config.write_text(
        '[input]\nfolders = ["inbox"]\nmin_duration_s = 1.0\nsettle_seconds = 0\n'
        '[output]\nroot = "out"\n[speakers]\nidentify = false\n'
        '[transcription]\nengine = "faster-whisper"\nmodel = "tiny.en"\n'
        'model_cache = "models"\n[logging]\nfile = "talks.log"\n', encoding="utf-8")
    faker = version_faker(tmp_path / "fake", {"faster-whisper": "1.4.0"})
    result = talks_batch(config, [faker, ROOT])
    wanted = SUPPORTED["faster-whisper"]
    sentence = ("faster-whisper 1.4.0 is installed, but talks supports faster-whisper "
                f"{wanted.range_text} only ({wanted.why}): run "
                f"`pip install '{wanted.requirement}'`.")
    assert result.returncode == ExitCode.MACHINE, result.stderr
    assert f"Stopped: {sentence}" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "AttributeError" not in result.stderr
    assert json.loads(result.stdout)["stopped"] == sentence
    # Nothing was filed, and the recording waits for the next run: with a supported version
    # it is filed.
    assert not list((tmp_path / "out").rglob("*.wav"))
    assert (tmp_path / "inbox" / "hum.wav").is_file()
    again = talks_batch(config, [ROOT])
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["filed"] == 1
