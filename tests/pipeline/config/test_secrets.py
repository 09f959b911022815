"""Secrets (`[speakers] pyannote_token`, and keys to come) never reach the log, the ledger, an
error sentence or the JSON summary; they may come from the environment; `talks config
validate` warns about one written into a config file inside a git repository."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config.secrets import secret_keys
from pipeline.config.settings import load_config
from pipeline.stages.identify import embedder_settings
from tests.support.paths import ROOT  # noqa: E402
from tests.support.speech import TALKS, make_talk

TOKEN = "hf_TestSecretDoNotLeak0123456789"


def write_config(home: Path, token: str = TOKEN, folder: str = "inbox") -> Path:
    path = home / "config.toml"
    path.write_text(f'[input]\nfolders = ["{folder}"]\nmin_duration_s = 1.0\n'
                    'settle_seconds = 0\n[output]\nroot = "out"\n'
                    f'[speakers]\nidentify = false\npyannote_token = "{token}"\n'
                    '[logging]\nfile = "out/talks.log"\n', encoding="utf-8")
    return path


def talks(config: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})


def everything_written(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (home / "out").rglob("*") if p.is_file())


@pytest.mark.models
def test_a_secret_never_reaches_log_ledger_errors_or_json(tmp_path):
    home = tmp_path
    (home / "inbox").mkdir()
    make_talk(home / "inbox" / "bees.wav", TALKS["bees"][:2])
    config = write_config(home)
    filed = talks(config, "--batch", "--json")
    assert filed.returncode == 0, filed.stderr
    # A sentence that would carry the secret: an input folder whose name holds it.
    (home / "config.toml").write_text(
        config.read_text().replace('folders = ["inbox"]',
                                   f'folders = ["inbox", "gone-{TOKEN}"]'))
    stopped = talks(config, "--batch", "--json")
    assert stopped.returncode == 3
    assert "gone-***" in stopped.stderr and "gone-***" in stopped.stdout
    for text in (filed.stdout, filed.stderr, stopped.stdout, stopped.stderr):
        assert TOKEN not in text
    assert TOKEN.encode() not in everything_written(home)  # log, ledger, transcripts
    db = sqlite3.connect(home / "out" / ".talks" / "ledger.sqlite")
    dump = "\n".join(db.iterdump())
    assert TOKEN not in dump
    json.loads(stopped.stdout)


def test_the_token_may_come_from_the_environment(tmp_path, monkeypatch):
    config = load_config(write_config(tmp_path, token=""))
    monkeypatch.setenv("TALKS_PYANNOTE_TOKEN", TOKEN)
    assert embedder_settings(config).token == TOKEN
    monkeypatch.delenv("TALKS_PYANNOTE_TOKEN")
    monkeypatch.setenv("HF_TOKEN", "hf_fromHuggingFacesOwnVariable")
    assert embedder_settings(config).token == "hf_fromHuggingFacesOwnVariable"
    written = load_config(write_config(tmp_path))
    assert embedder_settings(written).token == TOKEN  # the file's own value wins


def test_a_secret_is_not_in_the_config_repr(tmp_path):
    config = load_config(write_config(tmp_path))
    assert TOKEN not in repr(config) and TOKEN not in str(config.speakers)
    assert "speakers.pyannote_token" in secret_keys()


def test_validate_warns_about_a_secret_in_a_config_inside_a_git_repository(tmp_path):
    repo = tmp_path / "repo"
    for home in (repo / "settings", tmp_path):  # validate checks the inbox is there, too
        (home / "inbox").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    config = write_config(repo / "settings")
    result = talks(config, "config", "validate")
    assert result.returncode == 0
    assert "warning: speakers.pyannote_token holds a secret" in result.stderr
    assert str(repo) in result.stderr and "TALKS_PYANNOTE_TOKEN" in result.stderr
    assert TOKEN not in result.stdout + result.stderr

    empty = write_config(repo / "settings", token="")
    assert "warning" not in talks(empty, "config", "validate").stderr
    outside = write_config(tmp_path)
    clean = talks(outside, "config", "validate")
    assert clean.returncode == 0 and "warning" not in clean.stderr
