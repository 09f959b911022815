"""`talks --watch` as a real process: a recording copied into the inbox slowly, in pieces, is
filed once (whole) after it stopped growing; while another run holds the output root the
watcher waits, then files what arrived; SIGTERM ends it. The watcher with the polling
observer (network shares) too."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline.config.settings import load_config
from pipeline.inbox.watch import InboxWatcher
from pipeline.ledger import Ledger, content_hash
from pipeline.run.states import FileState
from tests.support.paths import ROOT  # noqa: E402
from tests.support.speech import TALKS, make_talk


def config_at(tmp_path: Path, polling: bool = False) -> Path:
    (tmp_path / "inbox").mkdir(exist_ok=True)
    path = tmp_path / "config.toml"
    path.write_text('[input]\nfolders = ["inbox"]\nmin_duration_s = 1.0\nsettle_seconds = 2.0\n'
                    '[output]\nroot = "out"\n[speakers]\nfolder = "library"\n'
                    '[transcription]\ncheck_language = false\n'
                    'chunk_seconds = 30\n[logging]\nfile = "out/talks.log"\n'
                    f'[watch]\npolling = {"true" if polling else "false"}\n', encoding="utf-8")
    return path


def copy_slowly(src: Path, dest: Path, pieces: int = 6, pause: float = 0.8) -> None:
    """Write `src` to `dest` a piece at a time, as a slow network copy does."""
    data = src.read_bytes()
    step = -(-len(data) // pieces)
    with open(dest, "wb") as out:
        for i in range(0, len(data), step):
            out.write(data[i:i + step])
            out.flush()
            time.sleep(pause)


class Watching:
    """`talks --watch` in a child process, its stderr collected."""

    def __init__(self, config: Path):
        self.log = config.parent / "watch-stderr.txt"
        self.handle = open(self.log, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "--config", str(config),
                                      "--watch"], stdout=subprocess.DEVNULL, stderr=self.handle,
                                     cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"})

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def wait_for(self, needle: str, timeout: float = 180.0, count: int = 1) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text()
            if text.count(needle) >= count:
                return text
            assert self.proc.poll() is None, text
            time.sleep(0.2)
        raise AssertionError(f"{needle!r} not seen in time:\n{self.text()}")

    def close(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self.handle.close()
        return code


def test_an_idle_watch_stopped_by_sigterm_says_so_and_exits_143(tmp_path):
    watching = Watching(config_at(tmp_path))
    try:
        watching.wait_for("Up to date; waiting for new recordings.", timeout=60)
    finally:
        code = watching.close()
    assert code == 143
    assert watching.text().splitlines()[-1] == ("Stopped watching (SIGTERM). Run again to "
                                                "resume where it stopped.")


@pytest.mark.models
def test_a_recording_copied_in_slowly_is_filed_whole_once_it_stopped_growing(tmp_path):
    config_path = config_at(tmp_path)
    config = load_config(config_path)
    source = tmp_path / "bees.mp3"
    make_talk(source, TALKS["bees"][:3])
    second = tmp_path / "kayak.wav"
    make_talk(second, TALKS["kayaking"][:2])
    watching = Watching(config_path)
    try:
        watching.wait_for("Watching")
        watching.wait_for("Up to date", timeout=60)  # the first batch: nothing there yet
        dest = config.input.folders[0] / "bees.mp3"
        copy_slowly(source, dest)
        # While it was growing nothing was taken: no batch ran on a piece of it.
        assert "bees.mp3" not in watching.text()
        text = watching.wait_for("filed as")
        assert text.count("New: bees.mp3") == 1
        with Ledger(config.output.ledger_path) as ledger:
            rows = ledger.all_files()
            assert len(rows) == 1 and rows[0].state == FileState.FILED
            assert rows[0].hash == content_hash(source)  # the whole recording, not a piece

        # Another run holds the output root (the schedule's): the watcher waits for it.
        lock_path = config.output.ledger_path.with_name("run.lock")
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            copy_slowly(second, config.input.folders[0] / "kayak.wav", pieces=3, pause=0.5)
            watching.wait_for("Another talks run is filing")
            assert "kayak.wav: filed as" not in watching.text()
        watching.wait_for("filed as", count=2, timeout=240)
    finally:
        code = watching.close()
    assert code == 143  # stopped by SIGTERM, as the README's table says
    with Ledger(config.output.ledger_path) as ledger:
        assert sorted(r.name for r in ledger.all_files() if r.state == FileState.FILED) == \
            ["bees.mp3", "kayak.wav"]


def test_the_polling_watcher_hands_on_only_settled_recordings(tmp_path):
    config = load_config(config_at(tmp_path, polling=True))
    inbox = config.input.folders[0]
    ready: list[list[Path]] = []
    got = threading.Event()

    def on_ready(paths: list[Path]) -> None:
        ready.append(paths)
        got.set()

    watcher = InboxWatcher(config, on_ready, check_every=0.2)
    assert watcher.start() == [inbox]
    try:
        source = tmp_path / "talk.flac"
        make_talk(source, TALKS["lighthouses"][:1])
        (inbox / "notes.txt").write_text("not a recording")
        (inbox / ".hidden.mp3").write_bytes(b"x")
        (inbox / "sub").mkdir()
        copy_slowly(source, inbox / "sub" / "talk.flac", pieces=4, pause=0.6)
        assert not ready  # still growing a moment ago: not handed on
        assert got.wait(15)
        assert ready == [[inbox / "sub" / "talk.flac"]]
        assert (inbox / "sub" / "talk.flac").read_bytes() == source.read_bytes()
    finally:
        watcher.stop()


def test_the_app_watch_toggle_starts_the_queue_when_a_recording_arrives(tmp_path):
    import asyncio

    from tests.support.tui_helpers import make_app

    config_path = config_at(tmp_path)
    started = threading.Event()

    def runner(config, on_event, control, **kwargs):
        started.set()  # the real queue is tested elsewhere: here, that it was started

    async def scenario():
        app = make_app(config_path, runner=runner)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("w")
            assert app.watching.on
            source = tmp_path / "bees.mp3"
            make_talk(source, TALKS["bees"][:1])
            await asyncio.to_thread(copy_slowly, source, tmp_path / "inbox" / "bees.mp3", 3, 0.4)
            for _ in range(100):
                if started.is_set():
                    break
                await pilot.pause(0.1)
            assert started.is_set()
            await pilot.press("w")
            assert not app.watching.on

    asyncio.run(scenario())
