"""The compact filed copy on real speech through the whole pipeline: long pauses cut where the
VAD found no speech, mono mp3 at 64 kbit/s, the original kept under raw/, transcripts on the
compact clock (a second transcription of the compact copy finds the words where the filed
.srt says they are), the savings reported; and the VAD worker for chunks whose speech the
transcription did not record finds the same stretches."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import pytest

from pipeline.asr.base import Segment
from pipeline.config.settings import load_config
from pipeline.filing.compact import RATE, TimeMap, map_segments, plan_pieces
from pipeline.ledger import Ledger, content_hash
from pipeline.run.events import CompactMade, FileFiled
from pipeline.run.file_flow import process_file
from pipeline.run.logs import setup_logging
from tests.support.probe_tags import ffprobe_tags
from tests.support.speech import TALKS, make_talk

PAUSE = 5.0  # seconds of silence between sentences in the recording


def config_at(tmp_path: Path, filed_audio: str):
    path = tmp_path / "config.toml"
    path.write_text('[input]\nfolders = ["inbox"]\nmin_duration_s = 1.0\n'
                    f'[output]\nroot = "out"\nfiled_audio = "{filed_audio}"\n'
                    'raw_backup = false\ncompact_pause_s = 1.0\n'
                    '[speakers]\nfolder = "library"\n'
                    '[transcription]\ncheck_language = false\n'
                    'chunk_seconds = 30\n[logging]\nfile = "out/log"\n',
                    encoding="utf-8")
    return load_config(path)


def probe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format",
                          "-show_streams", str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def compact_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("compact")
    (tmp_path / "inbox").mkdir()
    rec = tmp_path / "inbox" / "lighthouses.wav"
    make_talk(rec, TALKS["lighthouses"][:6], pause_s=PAUSE, year=2021)
    original_hash = content_hash(rec)
    config = config_at(tmp_path, "compact")
    setup_logging(config.logging)
    events: list = []
    outcome = process_file(rec, config, events.append)
    assert outcome.status == "filed", outcome
    return tmp_path, rec, original_hash, config, events


@pytest.mark.models
def test_the_compact_copy_is_short_mono_mp3_and_the_original_is_kept(compact_run):
    tmp_path, rec, original_hash, config, events = compact_run
    filed = next(e for e in events if isinstance(e, FileFiled))
    talk = Path(filed.destination)
    assert talk.suffix == ".mp3"
    info = probe(talk)
    stream = info["streams"][0]
    assert stream["codec_name"] == "mp3" and stream["channels"] == 1
    assert int(stream["sample_rate"]) == RATE
    assert abs(int(info["format"]["bit_rate"]) - 64000) < 3000
    original_seconds = float(probe(rec)["format"]["duration"])
    compact_seconds = float(info["format"]["duration"])
    # Five pauses of 5 s each shrink to about 1 s: at least 15 s shorter.
    assert original_seconds - compact_seconds > 15, (original_seconds, compact_seconds)
    made = next(e for e in events if isinstance(e, CompactMade))
    assert made.seconds_saved == pytest.approx(original_seconds - compact_seconds, abs=0.3)
    assert made.bytes_saved == rec.stat().st_size - talk.stat().st_size > 0
    # The untouched original is under raw/ even with raw_backup = false, and in place.
    raws = list(config.output.raw_dir.rglob("*.wav"))
    assert len(raws) == 1 and content_hash(raws[0]) == original_hash == content_hash(rec)
    with Ledger(config.output.ledger_path) as ledger:
        row = ledger.all_files()[0]
        assert row.filed_hash == content_hash(talk)
        assert row.compact["compact_bytes"] == talk.stat().st_size
        assert all(c.speech for c in ledger.chunks(row.id))  # recorded by the transcription
    tags = ffprobe_tags(talk)
    assert tags["artist"] == config.speakers.default_speaker
    assert tags["title"] == row.title
    logging.getLogger("talks").handlers[0].flush()
    log = config.logging.file.read_text(encoding="utf-8")
    assert f"compact copy of {rec.name}" in log


@pytest.mark.models
def test_the_compact_transcripts_line_up_with_the_compact_audio(compact_run):
    tmp_path, rec, _hash, config, events = compact_run
    filed = next(e for e in events if isinstance(e, FileFiled))
    data = json.loads(Path(next(p for p in filed.transcripts if p.endswith(".json")))
                      .read_text(encoding="utf-8"))
    assert data["time_base"] == "compact"
    filed_segments = data["segments"]
    compact_seconds = float(probe(Path(filed.destination))["format"]["duration"])
    assert filed_segments[-1]["end"] <= compact_seconds + 0.1
    # Transcribe the compact copy itself: its words are where the filed transcript says.
    again_home = tmp_path / "again"
    (again_home / "inbox").mkdir(parents=True)
    copy = again_home / "inbox" / "compact.mp3"
    copy.write_bytes(Path(filed.destination).read_bytes())
    heard: list = []
    assert process_file(copy, config_at(again_home, "original"), heard.append).status == "filed"
    again = json.loads(Path(next(p for p in next(e for e in heard if isinstance(e, FileFiled))
                                 .transcripts if p.endswith(".json"))).read_text("utf-8"))
    fresh_starts = [s["start"] for s in again["segments"]]
    # Whisper may split a sentence differently the second time, but every sentence of the
    # filed transcript starts where a sentence is heard in the compact audio.
    for ours in filed_segments:
        nearest = min(fresh_starts, key=lambda t: abs(t - ours["start"]))
        assert abs(nearest - ours["start"]) < 0.6, (ours, again["segments"])
    srt = Path(next(p for p in filed.transcripts if p.endswith(".srt"))).read_text("utf-8")
    assert srt.count(" --> ") == len(filed_segments)


@pytest.mark.models
def test_the_speech_worker_finds_what_the_transcription_recorded(compact_run):
    tmp_path, rec, _hash, config, events = compact_run
    with Ledger(config.output.ledger_path) as ledger:
        row = ledger.all_files()[0]
        recorded = [c.speech for c in ledger.chunks(row.id)]
        # As if transcribed by the mlx engine (no VAD of its own) or before the ledger kept
        # it, and killed during filing (a state only a killed run leaves: set by hand here).
        ledger.db.execute("UPDATE chunks SET speech = NULL")
        ledger.db.execute("UPDATE files SET state = 'titled' WHERE id = ?", (row.id,))
    events2: list = []
    outcome = process_file(rec, config, events2.append)
    assert outcome.status == "filed"
    assert any(getattr(e, "label", "") == "speech worker done" for e in events2)
    with Ledger(config.output.ledger_path) as ledger:
        found = [c.speech for c in ledger.chunks(ledger.all_files()[0].id)]
    assert len(found) == len(recorded)
    for ours, theirs in zip(found, recorded, strict=True):
        assert len(ours) == len(theirs)
        for (a, b), (c, d) in zip(ours, theirs, strict=True):
            assert abs(a - c) < 0.01 and abs(b - d) < 0.01


def test_time_map_pieces_and_mapping():
    speech = [(1.0, 2.0), (2.5, 3.0), (10.0, 11.0)]
    time_map = plan_pieces(speech, 20.0, pause_s=1.0)
    # Pauses of up to 1 s are kept whole; the 7 s pause keeps 0.5 s on each side.
    assert time_map.pieces == ((int(0.5 * RATE), int(3.0 * RATE)),
                               (int(9.5 * RATE), int(2.0 * RATE)))
    assert time_map.compact_seconds == pytest.approx(5.0)
    assert time_map.to_compact(1.0) == pytest.approx(0.5)
    assert time_map.to_compact(10.0) == pytest.approx(3.5)
    assert time_map.to_compact(6.0) == pytest.approx(3.0)  # inside the cut: at the cut
    assert time_map.to_compact(19.0) == pytest.approx(5.0)
    moved = map_segments([Segment(10.0, 11.0, "x")], time_map)
    assert moved == [Segment(3.5, 4.5, "x")]
    assert TimeMap((), 0).to_compact(3.0) == 0.0


@pytest.mark.models
def test_a_recording_already_smaller_than_its_compact_copy_is_filed_as_it_is(tmp_path):
    (tmp_path / "inbox").mkdir()
    rec = tmp_path / "inbox" / "low-rate.m4a"
    raw = tmp_path / "raw.wav"
    make_talk(raw, TALKS["bees"][:3])
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(raw), "-c:a", "aac", "-b:a", "24k",
                    str(rec)], check=True)
    config = config_at(tmp_path, "compact")
    setup_logging(config.logging)
    events: list = []
    assert process_file(rec, config, events.append).status == "filed"
    filed = next(e for e in events if isinstance(e, FileFiled))
    assert filed.destination.endswith(".m4a")
    assert not any(isinstance(e, CompactMade) for e in events)
    logging.getLogger("talks").handlers[0].flush()
    assert "compact copy of low-rate.m4a not made" in config.logging.file.read_text("utf-8")


@pytest.mark.models
def test_a_relabelled_compact_talk_keeps_its_transcripts_on_the_compact_clock(compact_run):
    from pipeline.filing.relabel import relabel

    tmp_path, rec, _hash, config, events = compact_run
    with Ledger(config.output.ledger_path) as ledger:
        row = ledger.all_files()[0]
        before = json.loads(Path(next(p for p in row.transcripts if p.endswith(".json")))
                            .read_text("utf-8"))
        done = relabel(config, ledger, str(row.id), "Dana Reyes")
    after = json.loads(next(p for p in done.transcripts if p.suffix == ".json")
                       .read_text("utf-8"))
    assert after["time_base"] == "compact" and after["speaker"] == "Dana Reyes"
    assert after["segments"] == before["segments"]
    assert after["compact"] == before["compact"]
    assert ffprobe_tags(done.talk)["artist"] == "Dana Reyes"
