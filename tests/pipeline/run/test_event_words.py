"""The events' words are enums end to end: made from strings or read back from the events
file, a stage, a speaker decision and a run request are enum members, and the JSON holds the
same strings it always did."""

from __future__ import annotations

import json

import pytest

from pipeline.run.control import RunControl
from pipeline.run.events import (
    FileFailed,
    RunRequest,
    RunRequested,
    SpeakerDecided,
    StageStarted,
    event_from_dict,
    event_to_dict,
)
from pipeline.run.publish import RunPublisher, ask_run
from pipeline.run.states import Stage
from speakers.decisions import SpeakerDecision


def through_json(event):
    return event_from_dict(json.loads(json.dumps(event_to_dict(event))))


def test_an_events_words_survive_the_events_file_as_enums():
    events = [StageStarted("a.mp3", Stage.IDENTIFY),
              FileFailed("a.mp3", Stage.ORGANIZE, "The disk is full."),
              SpeakerDecided("a.mp3", SpeakerDecision.REVIEW, "Ann", (("Ann", 0.61),)),
              RunRequested(RunRequest.STOP_NOW)]
    for event in events:
        again = through_json(event)
        assert again == event
    assert type(through_json(events[0]).stage) is Stage
    assert type(through_json(events[1]).stage) is Stage
    assert type(through_json(events[2]).decision) is SpeakerDecision
    assert type(through_json(events[3]).request) is RunRequest


def test_the_json_is_the_strings_it_always_was():
    assert json.dumps(event_to_dict(StageStarted("a.mp3", Stage.PROBE))) == \
        '{"type": "StageStarted", "file": "a.mp3", "stage": "probe"}'
    assert json.dumps(event_to_dict(RunRequested(RunRequest.GO_ON))) == \
        '{"type": "RunRequested", "request": "go-on"}'
    assert [r.value for r in RunRequest] == ["stop", "stop-now", "pause", "go-on", "more"]


def test_a_word_given_as_its_string_becomes_its_enum_and_an_unknown_one_is_refused():
    assert StageStarted("a.mp3", "transcribe").stage is Stage.TRANSCRIBE
    assert RunRequested("more").request is RunRequest.MORE
    with pytest.raises(ValueError):
        StageStarted("a.mp3", "juggle")
    # A word a newer talks wrote: the event is left out, not misread.
    assert event_from_dict({"type": "RunRequested", "request": "rewind"}) is None
    assert event_from_dict({"type": "StageStarted", "file": "a", "stage": "juggle"}) is None


def test_requests_are_run_requests_in_process_and_through_the_request_file(tmp_path):
    control = RunControl()
    with pytest.raises(ValueError):
        control.ask("rewind")
    heard: list = []
    with RunPublisher(tmp_path, "batch", None) as publisher:
        control.attach(publisher.requests, heard.append)
        ask_run(tmp_path, publisher.status, RunRequest.PAUSE)
        with open(tmp_path / "run-requests.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"run": publisher.status.run, "request": "rewind"}) + "\n")
        control.ask(RunRequest.MORE)
        assert control.is_set() and control.pausing  # between files a pause holds the run
        assert control.take_more()
    assert [e.request for e in heard] == [RunRequest.MORE, RunRequest.PAUSE]
    assert all(type(e.request) is RunRequest for e in heard)
    line = (tmp_path / "run-requests.jsonl").read_text(encoding="utf-8").splitlines()[0]
    assert json.loads(line)["request"] == "pause"
