"""What a run writes beside the ledger, what it is asked, and what outlives a terminal.

Real files, real processes (a killed run, a worker ended at once, children spawned with
SIGHUP held off), a real pseudo-terminal that goes away under a writer.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import psutil
import pytest

from common.errors import Fault
from pipeline.run import events as ev
from pipeline.run.control import RequestSource, RunControl
from pipeline.run.hangup_mask import hangups_deferred
from pipeline.run.publish import (
    EVENTS_FILE,
    REQUESTS_FILE,
    EventTail,
    RunPublisher,
    ask_run,
    read_status,
)
from pipeline.run.worker import WorkerLink, run_in_worker
from tests.support.paths import ROOT  # noqa: E402

EVERY_EVENT = [
    ev.FileQueued("a.mp3", 1, 2),
    ev.FileSkipped("a.mp3", "too short"),
    ev.StageStarted("a.mp3", "transcribe"),
    ev.LanguageHeard("a.mp3", "fr", 0.87, "detected"),
    ev.LanguageHeard("b.mp3", "es", None, "person"),
    ev.ChunkPlanned("a.mp3", 4, 1, 120.5),
    ev.ChunkDone("a.mp3", 1, 4, 30.0, 60.0, "Élan — naïve words", 2.5),
    ev.MemoryCheckpoint("chunk 2/4", 300.5, 400.25, 410.0),
    ev.SpeakerDecided("a.mp3", "review", "Sarah Lane", (("Sarah Lane", 0.91), ("Bo", 0.5))),
    ev.FileFiled("a.mp3", "/out/x.mp3", ("/out/x.txt", "/out/x.srt"), "A Title", "Sarah Lane"),
    ev.FileFailed("b.mp3", "probe", "not audio: check the file"),
    ev.CompactMade("a.mp3", 601.0, 411.5, 9_600_000, 6_300_000),
    ev.LogLine("a.mp3", "WARNING", "the speech of chunk 3 was not found; transcribed whole"),
    ev.RunRequested("stop"),
    ev.TalkReidentified("a.mp3", 1, 3, "match", "Sarah Lane"),
    ev.ArchiveFollowed(3, (("a.mp3", "Sarah Lane", "/out/Sarah Lane/x.mp3"),), 1),
    ev.VoiceHeard("a.mp3", 2, 7),
    ev.VoicesGrouped(3, 11),
    ev.TalkIndexed(3, 40),
    ev.BatchFinished(1, 1, 0, 3, 12.5),
]


def test_every_event_comes_back_from_json_equal():
    every_kind = {cls for cls in vars(ev).values()
                  if isinstance(cls, type) and issubclass(cls, ev.Event) and cls is not ev.Event}
    assert {type(e) for e in EVERY_EVENT} == every_kind  # a new kind must be added here
    for event in EVERY_EVENT:
        again = ev.event_from_dict(json.loads(json.dumps(ev.event_to_dict(event))))
        assert again == event
    assert ev.event_from_dict({"type": "SomethingNewer", "x": 1}) is None
    assert ev.event_from_dict({"type": "Event"}) is None
    assert ev.event_from_dict({"type": "FileQueued", "file": "a"}) is None  # fields missing


def test_a_follower_reads_the_events_whole_lines_at_a_time(tmp_path):
    with RunPublisher(tmp_path, "batch", None) as publisher:
        status = read_status(tmp_path)
        assert status is not None and status.going and status.pid == os.getpid()
        tail = EventTail(tmp_path, status.run)
        assert tail.read() == []
        for event in EVERY_EVENT[:3]:
            publisher.emit(event)
        with open(tmp_path / EVENTS_FILE, "a", encoding="utf-8") as handle:
            handle.write('{"t": 1.0, "type": "FileQueued", "fi')  # a line being written
        got = tail.read()
        assert [e for _t, e in got] == EVERY_EVENT[:3]
        assert all(abs(t - time.time()) < 60 for t, _e in got)
        assert tail.read() == []
    status = read_status(tmp_path)
    assert status is not None and status.ended_at is not None and not status.going
    assert not status.died


def test_long_chunk_text_is_kept_short_in_the_events_file(tmp_path):
    words = "word " * 2000
    with RunPublisher(tmp_path, "batch", None) as publisher:
        publisher.emit(ev.ChunkDone("a.mp3", 0, 1, 0.0, 300.0, words + "the end", 9.0))
        (_t, event), = EventTail(tmp_path, publisher.status.run).read()
    assert event.text.endswith("word the end") and len(event.text) <= 300


def test_a_new_run_ends_the_view_of_the_last_one(tmp_path):
    with RunPublisher(tmp_path, "batch", None) as first:
        first.emit(EVERY_EVENT[0])
        old = EventTail(tmp_path, first.status.run)
        assert len(old.read()) == 1
    with RunPublisher(tmp_path, "app", None) as second:
        second.emit(EVERY_EVENT[1])
        assert old.read() is None  # the file is the new run's now
        assert EventTail(tmp_path, first.status.run).read() is None
        assert len(EventTail(tmp_path, second.status.run).read()) == 1


def test_requests_reach_the_run_they_were_sent_to(tmp_path):
    seen: list[ev.Event] = []
    with RunPublisher(tmp_path, "batch", None) as old:
        pass
    old_status = old.status
    with RunPublisher(tmp_path, "batch", None) as publisher:
        control = RunControl()
        control.attach(publisher.requests, seen.append)
        ask_run(tmp_path, old_status, "stop")  # to a run that is over: ignored
        with open(tmp_path / REQUESTS_FILE, "a", encoding="utf-8") as handle:
            handle.write("not json\n")
        assert not control.is_set() and seen == []
        ask_run(tmp_path, publisher.status, "pause")
        ask_run(tmp_path, publisher.status, "more")
        assert control.is_set()  # pausing, and between files
        assert seen == [ev.RunRequested("pause"), ev.RunRequested("more")]
        control.observe(ev.StageStarted("a.mp3", "probe"))
        assert not control.is_set()  # a pause lets the file in progress finish
        control.observe(ev.FileFiled("a.mp3", "/x", (), "T", "S"))
        assert control.is_set()
        assert control.take_more() and not control.take_more()
        ask_run(tmp_path, publisher.status, "go-on")
        assert not control.is_set() and seen[-1] == ev.RunRequested("go-on")
        control.ask("stop-now")
        assert control.is_set() and control.wants_now()


def test_a_flag_given_to_the_run_stops_it_like_a_request():
    flag = threading.Event()
    seen: list[ev.Event] = []
    control = RunControl.of(flag)
    control.attach(RequestSource(), seen.append)
    assert not control.is_set()
    flag.set()
    assert control.is_set() and control.is_set()
    assert seen == [ev.RunRequested("stop")]  # said once
    assert RunControl.of(control) is control


KILLED_RUN = """
import sys, time
from pathlib import Path
from pipeline.run.publish import RunPublisher
with RunPublisher(Path(sys.argv[1]), "batch", None):
    print("published", flush=True)
    time.sleep(60)
"""


def test_a_run_killed_without_a_word_is_seen_as_died(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(tmp_path)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "published"
        status = read_status(tmp_path)
        assert status is not None and status.going and status.pid == proc.pid
    finally:
        proc.kill()
        proc.wait()
    status = read_status(tmp_path)
    assert not status.going and status.died and status.ended_at is None


def test_a_run_that_ends_early_says_why(tmp_path):
    full = ("The disk holding the output folder (/Volumes/Talks) is full: free some space "
            "there, then run again (finished work is kept).")
    with pytest.raises(Fault), RunPublisher(tmp_path, "batch", None):
        raise Fault(full)
    status = read_status(tmp_path)
    assert status.stopped == full and not status.going and not status.died
    with pytest.raises(KeyboardInterrupt), RunPublisher(tmp_path, "batch", None):
        raise KeyboardInterrupt  # a second Ctrl-C
    assert read_status(tmp_path).stopped == "It was stopped at once; finished chunks are kept."
    with pytest.raises(ZeroDivisionError), RunPublisher(tmp_path, "app", None):
        raise ZeroDivisionError
    assert "unexpected error (ZeroDivisionError)" in read_status(tmp_path).stopped
    with RunPublisher(tmp_path, "batch", None):
        pass
    assert read_status(tmp_path).stopped is None


def sleepy_job(link: WorkerLink) -> None:
    link.send(ev.MemoryCheckpoint("worker started", 1.0, 1.0))
    time.sleep(60)  # a chunk that takes long


def test_stop_at_once_ends_the_worker_in_the_middle_of_a_chunk():
    control = RunControl()
    seen, workers = [], []

    def on_event(event):
        seen.append(event)
        workers.extend(p for p in psutil.Process().children()
                       if "pipeline.run.worker_main" in " ".join(p.cmdline()))
        control.ask("stop-now")

    began = time.monotonic()
    result = run_in_worker(sleepy_job, (), on_event, control, stall_seconds=600)
    assert result.status == "cancelled"
    assert time.monotonic() - began < 20  # not the 60 s of the "chunk"
    assert [type(e) for e in seen] == [ev.MemoryCheckpoint]
    assert workers and not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE
                               for w in workers)


def _hang_up_ends_me() -> None:
    """A child's SIGHUP as a terminal's child has it, even when the tests run under nohup
    (which makes every child ignore it): what is left to keep a hang-up away is the mask."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def test_processes_a_run_starts_are_deaf_to_the_hang_up_of_its_terminal():
    with hangups_deferred():
        child = subprocess.Popen(["sleep", "30"], preexec_fn=_hang_up_ends_me)
    try:
        os.kill(child.pid, signal.SIGHUP)
        time.sleep(0.5)
        assert child.poll() is None  # still there, the hang-up pending in it
    finally:
        child.kill()
        child.wait()
    # Outside, the default holds: a hang-up ends such a child.
    plain = subprocess.Popen(["sleep", "30"], preexec_fn=_hang_up_ends_me)
    os.kill(plain.pid, signal.SIGHUP)
    assert plain.wait(timeout=10) == -signal.SIGHUP
    assert signal.SIGHUP not in signal.pthread_sigmask(signal.SIG_BLOCK, [])


GONE_TERMINAL = """
import os, sys
from tui.terminal_loss import TerminalStream
master, slave = os.openpty()
for fd in (0, 1, 2):
    os.dup2(slave, fd)
stream = TerminalStream(os.fdopen(os.dup(1), "w", buffering=1), lambda: said.append("gone"))
said = []
stream.write("before\\n")
os.close(master)  # the terminal goes away
for n in range(3):
    stream.write(f"after {n}\\n")
    stream.flush()
print("still printing", flush=True)  # fd 1 is /dev/null now: no EIO
with open(sys.argv[1], "w") as out:
    out.write(repr((said, stream.gone, os.readlink("/proc/self/fd/1"))))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/fd")
def test_a_writer_outlives_its_terminal(tmp_path):
    result = tmp_path / "result.txt"
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(GONE_TERMINAL), str(result)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    said, gone, fd1 = eval(result.read_text())  # noqa: S307 - our own repr
    assert said == ["gone"] and gone and fd1 == os.devnull


def test_a_run_asked_for_more_takes_what_came_in_meanwhile(tmp_path):
    from pipeline.config.settings import load_config
    from pipeline.run.batch import run_batch
    from tests.support.tui_helpers import write_home

    config = load_config(write_home(tmp_path))
    inbox = config.input.folders[0]
    (inbox / "a.mp3").write_bytes(b"not audio")  # fails at probe: no model is needed here
    control = RunControl()
    seen: list[ev.Event] = []

    def on_event(event: ev.Event) -> None:
        seen.append(event)
        if isinstance(event, ev.StageStarted) and event.file == "a.mp3":
            (inbox / "b.mp3").write_bytes(b"not audio either")  # dropped in during the run
            control.ask("more")

    summary = run_batch(config, on_event, control)
    queued = [(e.file, e.position, e.total) for e in seen if isinstance(e, ev.FileQueued)]
    assert queued == [("a.mp3", 1, 1), ("b.mp3", 2, 2)]
    assert ev.RunRequested("more") in seen
    assert [o.file for o in summary.outcomes] == ["a.mp3", "b.mp3"]
    # Not asked, a run leaves what comes in meanwhile to the next one.
    def drops_one(event: ev.Event) -> None:
        seen.append(event)
        if isinstance(event, ev.StageStarted) and event.file == "a.mp3":
            (inbox / "c.mp3").write_bytes(b"not audio at all")

    seen.clear()
    run_batch(config, drops_one)
    assert [e.file for e in seen if isinstance(e, ev.FileQueued)] == ["a.mp3", "b.mp3"]
