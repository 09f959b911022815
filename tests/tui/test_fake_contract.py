"""FakePipeline, which stands in for the pipeline in the app's tests, is held to the real one.

The real run_batch files one short recording (flite speech, ffmpeg, tiny.en in its worker
processes, the speaker model against a two-person library); FakePipeline "files" the same
name with as many chunks; their events must match one for one — kind, stage, checkpoint and
request — and in the same order. Then both redo it (--full-scan) and are asked to stop
while the first chunk is under way, and must match again. Two chunks per worker, so the
handover from one transcription worker to a fresh one is in the sequence too.
"""

from __future__ import annotations

import pytest

from pipeline.config.settings import load_config
from pipeline.run.batch import run_batch
from pipeline.run.control import RunControl
from pipeline.run.events import (
    ChunkDone,
    ChunkPlanned,
    MemoryCheckpoint,
    RunRequested,
    StageStarted,
)
from tests.support.speech import TALKS, make_talk
from tests.support.tui_helpers import FakePipeline, write_home

pytestmark = [pytest.mark.models]

NAME = "a talk.mp3"


def shape(events) -> list[tuple[str, str]]:
    """What must match: each event's kind, and what says where it is."""
    out = []
    for e in events:
        detail = ""
        if isinstance(e, StageStarted):
            detail = e.stage
        elif isinstance(e, MemoryCheckpoint):
            detail = e.label.split(" (")[0]  # not what it measured, which varies
        elif isinstance(e, RunRequested):
            detail = e.request
        elif isinstance(e, ChunkDone):
            detail = f"{e.index + 1}/{e.total}"
        out.append((type(e).__name__, detail))
    return out


def stopping_during_first_chunk(events: list, control: RunControl):
    """Asks to stop (after the current chunk) once the model is loaded for the first chunk.
    Not at its ChunkDone: by the time the run takes a request made there, a real worker may
    have begun the second chunk — which is then the current chunk, and rightly finished."""
    def on_event(event) -> None:
        events.append(event)
        if isinstance(event, MemoryCheckpoint) and event.label == "model loaded" \
                and not any(isinstance(e, ChunkDone) for e in events):
            control.ask("stop")
    return on_event


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    home = tmp_path_factory.mktemp("contract")
    config_path = write_home(home, chunk=10)
    # The fake runs as the default config does: each talk heard for its language first.
    text = config_path.read_text(encoding="utf-8").replace(
        "[transcription]\n", "[transcription]\nchunks_per_worker = 2\n").replace(
        "check_language = false", "check_language = true")
    config_path.write_text(text, encoding="utf-8")
    for name, voice in {"Sarah Lane": "slt", "Robert Moss": "rms"}.items():
        make_talk(home / "library" / f"{name}.wav", TALKS["forgiveness"][:3], tool="flite",
                  voice=voice, pause_s=0.4)
    make_talk(home / "inbox" / NAME, TALKS["sourdough"][:5], tool="flite", voice="slt",
              pause_s=0.6)
    config = load_config(config_path)
    real: dict[str, list] = {"full": [], "stopped": []}
    run_batch(config, real["full"].append)
    control = RunControl()
    run_batch(config, stopping_during_first_chunk(real["stopped"], control), control,
              full_scan=True)

    (chunks,) = [e.total for e in real["full"] if isinstance(e, ChunkPlanned)]
    fake = FakePipeline([NAME], chunks=chunks, auto=True)
    faked: dict[str, list] = {"full": [], "stopped": []}
    fake(config, faked["full"].append)
    control = RunControl()
    fake(config, stopping_during_first_chunk(faked["stopped"], control), control,
         full_scan=True)
    return real, faked, chunks


def test_the_recording_makes_more_chunks_than_one_worker_takes(runs):
    _real, _faked, chunks = runs
    assert chunks >= 3  # two workers at least: the handover is in the sequence


def test_a_whole_run_matches_event_for_event(runs):
    real, faked, _chunks = runs
    assert shape(faked["full"]) == shape(real["full"])


def test_a_run_stopped_after_its_first_chunk_matches_too(runs):
    real, faked, _chunks = runs
    assert ("RunRequested", "stop") in shape(real["stopped"])
    assert [e.index for e in real["stopped"] if isinstance(e, ChunkDone)] == [0]
    assert shape(faked["stopped"]) == shape(real["stopped"])
