"""SIGINT and SIGTERM on a real `talks --batch`: the first stops after the current chunk, a
second stops at once; exit 130 / 143; nothing half-done is left; the next run resumes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.support.paths import ROOT  # noqa: E402
from tests.support.speech import make_long_talk

pytestmark = [pytest.mark.models]


@pytest.fixture(scope="module")
def long_talk(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("talk") / "long.mp3"
    make_long_talk(path, 60, topics=["lighthouses", "bees"], year=2020)
    return path


@pytest.fixture(scope="module")
def three_chunk_talk(tmp_path_factory) -> Path:
    """Three chunks of 10 s: one done before the signal, one going, one never started."""
    path = tmp_path_factory.mktemp("talk") / "three chunks.mp3"
    make_long_talk(path, 30, topics=["lighthouses"], year=2020)
    return path


def home_for(tmp_path: Path, talk: Path, chunk_seconds: int = 10) -> Path:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / talk.name).write_bytes(talk.read_bytes())
    (tmp_path / "config.toml").write_text(
        '[input]\nfolders = ["inbox"]\nmin_duration_s = 1.0\nsettle_seconds = 0\n'
        '[output]\nroot = "out"\n[speakers]\nidentify = false\n'
        f'[transcription]\ncheck_language = false\n'
        f'chunk_seconds = {chunk_seconds}\nchunks_per_worker = 0\n'
        '[logging]\nfile = "out/talks.log"\n', encoding="utf-8")
    return tmp_path


def start(home: Path) -> subprocess.Popen:
    # A session of its own, like a terminal's foreground job: Ctrl-C reaches the group.
    return subprocess.Popen([sys.executable, "-m", "tui.cli", "--config",
                             str(home / "config.toml"), "--batch"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def done_chunks(home: Path) -> list[tuple[int, int]]:
    ledger = home / "out" / ".talks" / "ledger.sqlite"
    if not ledger.exists():
        return []
    db = sqlite3.connect(ledger, timeout=5)
    try:
        return db.execute("SELECT idx, run_id FROM chunks WHERE text IS NOT NULL "
                          "ORDER BY idx").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def wait_for_chunks(proc: subprocess.Popen, home: Path, count: int) -> list[psutil.Process]:
    deadline = time.monotonic() + 300
    workers: list[psutil.Process] = []
    while len(done_chunks(home)) < count:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        workers = psutil.Process(proc.pid).children(recursive=True) or workers
        time.sleep(0.05)
    return psutil.Process(proc.pid).children(recursive=True) or workers


def integrity(home: Path) -> str:
    db = sqlite3.connect(home / "out" / ".talks" / "ledger.sqlite")
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def resumes_and_files(home: Path, before: list[tuple[int, int]]) -> None:
    again = subprocess.run([sys.executable, "-m", "tui.cli", "--config",
                            str(home / "config.toml"), "--batch"], cwd=ROOT,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert f"{len(before)} done before" in again.stderr
    after = done_chunks(home)
    assert [c for c in after if c[0] < len(before)] == before  # not redone
    assert len(list((home / "out" / "talks").rglob("*.mp3"))) == 1


@pytest.mark.parametrize(("how", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_first_signal_stops_after_the_current_chunk(tmp_path, three_chunk_talk, how, code):
    home = home_for(tmp_path, three_chunk_talk)
    proc = start(home)
    wait_for_chunks(proc, home, 1)
    seen = len(done_chunks(home))
    if how == "SIGINT":
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group
    else:
        proc.send_signal(signal.SIGTERM)  # kill PID: the main process only
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == code, err
    assert "Traceback" not in err, err
    assert "stopping after the current chunk" in err and "run again to resume" in err
    stopped = done_chunks(home)
    # The chunk in progress was finished (one more at most), no other was started.
    assert seen <= len(stopped) <= seen + 1
    assert not list((home / "out").rglob("*.part"))
    assert integrity(home) == "ok"
    resumes_and_files(home, stopped)


def test_second_signal_stops_at_once_and_stays_consistent(tmp_path, long_talk):
    # Chunks of 30 s (a few seconds' work each here): the chunk that is going when the first
    # signal comes must still be going 0.3 s later, when the second comes. On a loaded machine
    # the test may see the first chunk done so late that the second ends before the second
    # signal (CI saw it once): then the run rightly stopped the gentle way, the premise did
    # not hold, and the trial is made again, up to three times.
    for attempt in range(3):
        (tmp_path / f"try {attempt}").mkdir()
        home = home_for(tmp_path / f"try {attempt}", long_talk, chunk_seconds=30)
        proc = start(home)
        workers = wait_for_chunks(proc, home, 1)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        began = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 143, err
        assert "Traceback" not in err, err
        if "Stopped at once" in err:
            break
        assert "Stopped before the end" in err, err  # gentle: the chunk had ended first
    else:
        pytest.fail("the chunk in progress ended before the second signal three times")
    assert time.monotonic() - began < 10  # did not wait for the chunk
    _gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive  # no worker goes on alone
    assert integrity(home) == "ok"
    resumes_and_files(home, done_chunks(home))
