"""A file still being written is not settled; one left alone for the quiet period is."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from pipeline.inbox.settle import SettleWatch, snapshot


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_old_untouched_file_is_settled_at_once(tmp_path):
    old = tmp_path / "old.mp3"
    old.write_bytes(b"x" * 100)
    # The change time cannot be set back, so the wall clock is moved on instead.
    wall = time.time() + 60
    watch = SettleWatch(10.0, clock=FakeClock(), wall=lambda: wall)
    assert watch.is_settled(old)


def test_a_recent_file_settles_after_the_quiet_period_unchanged(tmp_path):
    path = tmp_path / "new.mp3"
    path.write_bytes(b"x" * 100)
    clock = FakeClock()
    wall = time.time()
    watch = SettleWatch(10.0, clock=clock, wall=lambda: wall)
    assert not watch.is_settled(path)
    clock.now += 5
    assert not watch.is_settled(path)
    with open(path, "ab") as f:  # it grew: the quiet period starts again
        f.write(b"more")
    clock.now += 6
    assert not watch.is_settled(path)
    clock.now += 10
    assert watch.is_settled(path)


def test_setting_an_old_mtime_does_not_hide_a_fresh_write(tmp_path):
    """Copy tools that give the file its source's date still move the ctime."""
    path = tmp_path / "copied.mp3"
    path.write_bytes(b"x" * 100)
    os.utime(path, (time.time() - 86400, time.time() - 86400))
    watch = SettleWatch(5.0)
    assert not watch.is_settled(path)


def test_a_file_from_the_future_waits_for_an_unchanged_look(tmp_path):
    """A network disk whose clock runs ahead: its times say nothing, the watcher looks."""
    path = tmp_path / "ahead.mp3"
    path.write_bytes(b"x")
    clock = FakeClock()
    wall = time.time() - 3600  # our clock is an hour behind the file's
    watch = SettleWatch(10.0, clock=clock, wall=lambda: wall)
    assert not watch.is_settled(path)
    clock.now += 10
    assert watch.is_settled(path)


def test_a_missing_file_is_not_settled(tmp_path):
    watch = SettleWatch(0.0)
    assert snapshot(tmp_path / "gone.mp3") is None
    assert not watch.is_settled(tmp_path / "gone.mp3")


WRITER = """
import os, sys, time
# A block every 0.1 s until the test says stop (a file), then one last block and out.
stop = sys.argv[2]
with open(sys.argv[1], "ab", buffering=0) as f:
    while True:
        last = os.path.exists(stop)
        f.write(b"\\0" * 4096)
        if last:
            break
        time.sleep(0.1)
"""


def wait_until(condition, what: str, deadline_s: float = 60.0) -> None:
    """Until `condition()` holds; the deadline only guards against a hang."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def test_a_file_being_written_by_another_process_is_waited_for(tmp_path):
    path, stop = tmp_path / "arriving.wav", tmp_path / "stop"
    path.write_bytes(b"")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(stop)])
    try:
        wait_until(lambda: path.stat().st_size >= 2 * 4096, "the writer began")
        watch = SettleWatch(0.6)
        # However long the machine takes, a file written every 0.1 s never settles.
        settled, changing = watch.wait([path], timeout=1.5)
        assert (settled, changing) == ([], [path])
        assert writer.poll() is None
        stop.touch()
        settled, changing = watch.wait([path], timeout=60)
        settled_at = time.time()
        assert settled == [path] and not changing
        assert writer.wait(timeout=60) == 0  # settled only once the writer was done …
        last = snapshot(path)
        assert last is not None and last.size % 4096 == 0 and last.size >= 3 * 4096
        # … and only after a whole quiet period since its last write (up to the file
        # system's clock tick, which can stamp a write a few ms behind time.time()).
        assert settled_at - last.last_change >= 0.6 - 0.02, settled_at - last.last_change
    finally:
        writer.kill()
        writer.wait()
