"""`runner.process_file`, the seam both faces call, driven in-process with real parts."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import jiwer
import numpy as np
import pytest

from pipeline.config.settings import load_config
from pipeline.run.events import (
    ChunkDone,
    ChunkPlanned,
    FileFiled,
    LogLine,
    MemoryCheckpoint,
    StageStarted,
)
from pipeline.run.file_flow import process_file
from tests.support.speech import TALKS, audio_md5, make_talk, normalize_words

pytestmark = [pytest.mark.models]


def config_at(tmp_path: Path, chunk_seconds: int, extra: str = "", chunks_per_worker: int = 4):
    path = tmp_path / "config.toml"
    path.write_text('[input]\nfolders = ["inbox"]\nmin_duration_s = 1.0\n'
                    f'[output]\nroot = "out"\n[transcription]\ncheck_language = false\n'
                    f'chunk_seconds = {chunk_seconds}\n'
                    f'chunks_per_worker = {chunks_per_worker}\n'
                    '[logging]\nfile = "out/log"\n' + extra, encoding="utf-8")
    return load_config(path)


def test_events_arrive_in_order_and_silence_removal_keeps_true_times(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    # No date tag and today's file time: the year comes from the date in the name.
    rec = inbox / "2017-03-05 lighthouses.wav"
    # Long pauses between sentences: the squeezed audio is much shorter than the recording.
    spoken = make_talk(rec, TALKS["lighthouses"][:6], pause_s=4.0)
    # Chunks under ~20 s cost tiny.en accuracy (it is trained on 30 s windows), so 30 here.
    config = config_at(tmp_path, 30, "[audio]\nremove_silence = true\nmin_silence_s = 1.5\n")
    events: list = []
    outcome = process_file(rec, config, events.append)
    assert outcome.status == "filed", outcome
    stages = [e.stage for e in events if isinstance(e, StageStarted)]
    assert stages == ["probe", "transcribe", "identify", "title", "organize"]
    plan = next(e for e in events if isinstance(e, ChunkPlanned))
    chunks = [e for e in events if isinstance(e, ChunkDone)]
    assert len(chunks) == plan.total >= 2
    assert [c.index for c in chunks] == list(range(plan.total))
    assert any(isinstance(e, MemoryCheckpoint) and e.label == "model unloaded" for e in events)
    filed = next(e for e in events if isinstance(e, FileFiled))
    assert Path(filed.destination).relative_to(config.output.root).parts[:2] == ("talks", "2017")
    data = json.loads(next(Path(p) for p in filed.transcripts if p.endswith(".json"))
                      .read_text(encoding="utf-8"))
    segs = data["segments"]
    text = " ".join(s["text"] for s in segs)
    assert jiwer.wer(normalize_words(spoken), normalize_words(text)) <= 0.15, text
    # Times are those of the original: the last words end near the end of the recording,
    # not at the end of the squeezed audio (about 15 s shorter).
    assert data["duration"] - segs[-1]["end"] < 3.0
    assert segs[-1]["end"] <= data["duration"] + 0.5


def test_cancel_between_chunks_then_resume(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rec = inbox / "bees.mp3"
    make_talk(rec, TALKS["bees"])  # ~58 s: four chunks
    config = config_at(tmp_path, 15)
    cancel = threading.Event()
    seen: list = []

    def on_event(event) -> None:
        seen.append(event)
        if isinstance(event, ChunkDone):
            cancel.set()  # ask to stop as soon as one chunk is done

    first = process_file(rec, config, on_event, cancel)
    assert first.status == "cancelled"
    done_first = [e.index for e in seen if isinstance(e, ChunkDone)]
    # The worker looks for the stop before each chunk, and the parent sets it only once it
    # has read chunk 0's message: on a loaded machine chunk 1 is under way by then, and it is
    # finished (stop after the current chunk), never a chunk after it.
    assert done_first in ([0], [0, 1]), done_first
    events: list = []
    second = process_file(rec, config, events.append)
    assert second.status == "filed"
    plan = next(e for e in events if isinstance(e, ChunkPlanned))
    assert plan.already_done == len(done_first) < plan.total
    assert [e.index for e in events if isinstance(e, ChunkDone)] == \
        list(range(len(done_first), plan.total))


def _labels(events: list, label: str) -> int:
    return sum(1 for e in events if isinstance(e, MemoryCheckpoint) and e.label == label)


def test_a_fresh_worker_takes_over_after_its_share_of_chunks(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rec = inbox / "bees.mp3"
    spoken = make_talk(rec, TALKS["bees"])  # ~58 s: four chunks, two workers
    config = config_at(tmp_path, 15, chunks_per_worker=2)
    events: list = []
    outcome = process_file(rec, config, events.append)
    assert outcome.status == "filed", outcome
    plans = [e for e in events if isinstance(e, ChunkPlanned)]
    assert len(plans) == 1  # a worker that takes over does not announce the plan again
    total = plans[0].total
    assert total >= 3
    assert [e.index for e in events if isinstance(e, ChunkDone)] == list(range(total))
    workers = -(-total // 2)
    assert _labels(events, "worker started") == _labels(events, "model loaded") == workers
    assert _labels(events, "model unloaded") == workers
    filed = next(e for e in events if isinstance(e, FileFiled))
    text = Path(next(p for p in filed.transcripts if p.endswith(".txt"))).read_text("utf-8")
    assert jiwer.wer(normalize_words(spoken), normalize_words(text)) <= 0.15, text

    # Cancelled at the end of a worker's share: no fresh worker is started for nothing.
    rec2 = inbox / "bees again.mp3"
    make_talk(rec2, TALKS["bees"] + TALKS["lighthouses"][:2])
    one_each = config_at(tmp_path, 15, chunks_per_worker=1)
    cancel = threading.Event()
    seen: list = []

    def on_event(event) -> None:
        seen.append(event)
        if isinstance(event, ChunkDone):
            cancel.set()

    assert process_file(rec2, one_each, on_event, cancel).status == "cancelled"
    assert [e.index for e in seen if isinstance(e, ChunkDone)] == [0]
    assert _labels(seen, "worker started") == 1


def test_a_recording_with_no_words_is_filed_under_its_own_name_with_a_note(tmp_path):
    # A recorder left running with the microphone muted: kept (nothing is lost), titled
    # after the original, and said, so that it does not pass unseen among hundreds.
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rec = inbox / "sunday evening.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    "anullsrc=r=16000:cl=mono", "-t", "12", str(rec)], check=True)
    config = config_at(tmp_path, 30)
    events: list = []
    outcome = process_file(rec, config, events.append)
    assert outcome.status == "filed", outcome
    filed = next(e for e in events if isinstance(e, FileFiled))
    assert filed.title == "Untitled (sunday evening)"
    assert Path(filed.destination).is_file() and rec.is_file()
    notes = [e.message for e in events if isinstance(e, LogLine) and e.level == "WARNING"]
    assert notes == ["no words were heard in it (silence, music only, or a muted "
                     "microphone?): its title is 'Untitled (sunday evening)'; listen to it"]


def test_a_damaged_recording_is_filed_whole_with_a_note_on_where(tmp_path):
    # An interrupted download or a bad sector: the bytes in the middle are noise. What can be
    # decoded is transcribed, the copy is the original's bytes, and a note says where.
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    source = tmp_path / "source.wav"
    spoken = make_talk(source, TALKS["bees"][:4])
    rec = inbox / "damaged.mp3"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(source), "-b:a", "64k",
                    str(rec)], check=True)
    data = bytearray(rec.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 3000] = np.random.default_rng(2).integers(0, 256, 3000,
                                                                   dtype=np.uint8).tobytes()
    rec.write_bytes(bytes(data))
    config = config_at(tmp_path, 10)
    events: list = []
    outcome = process_file(rec, config, events.append)
    assert outcome.status == "filed", outcome
    notes = [e for e in events if isinstance(e, LogLine) and "is damaged" in e.message]
    assert len(notes) == 1 and notes[0].file == "damaged.mp3", notes
    # One note among several chunks: said of the chunk that holds the damage alone.
    plan = next(e for e in events if isinstance(e, ChunkPlanned))
    assert plan.total >= 2
    assert "Invalid data found" in notes[0].message
    filed = next(e for e in events if isinstance(e, FileFiled))
    assert audio_md5(Path(filed.destination)) == audio_md5(rec)
    text = Path(next(p for p in filed.transcripts if p.endswith(".txt"))).read_text("utf-8")
    assert jiwer.wer(normalize_words(spoken), normalize_words(text)) < 0.5, text


@pytest.mark.parametrize("stage", ["probe", "transcribe", "organize"])
def test_a_recording_taken_away_mid_file_is_one_sentence_and_resumes_when_back(tmp_path,
                                                                             stage):
    # Moved to another folder (or its USB stick pulled) while it was being read. Before, the
    # sentence said "check that it plays" or "check its permissions": the wrong thing to do.
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rec = inbox / "evening.mp3"
    make_talk(rec, TALKS["bees"][:4])
    kept = rec.read_bytes()
    config = config_at(tmp_path, 10)

    def take_it_away(event) -> None:
        # At the start of the stage; in transcribe, once the first chunk is in the ledger.
        if stage == "transcribe":
            if isinstance(event, ChunkDone) and event.index == 0:
                rec.unlink()
        elif isinstance(event, StageStarted) and event.stage == stage:
            rec.unlink()

    outcome = process_file(rec, config, take_it_away)
    assert outcome.status == "failed" and outcome.stage == stage, outcome
    assert outcome.reason == ("evening.mp3 was moved or deleted while talks was reading it: "
                              "nothing was filed from it; put it back in an input folder "
                              "(under any name) and the next run goes on from where this one "
                              "stopped.")
    assert not list((tmp_path / "out").glob("talks/**/*.mp3"))
    back = inbox / "found again.mp3"
    back.write_bytes(kept)
    events: list = []
    again = process_file(back, config, events.append)
    assert again.status == "filed", again
    done = [e.index for e in events if isinstance(e, ChunkDone)]
    plan = [e for e in events if isinstance(e, ChunkPlanned)]
    if stage == "transcribe":
        assert plan[0].already_done == 1 and done == list(range(1, plan[0].total))
    if stage == "organize":
        assert done == [] and plan == []  # transcribed before: nothing heard twice

