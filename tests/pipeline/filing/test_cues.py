"""Transcript cues: whatever an engine returns, what is written is valid for every format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.asr.base import Segment
from pipeline.filing.cues import InvalidTranscript, check, problems_in_file, repair
from pipeline.filing.transcripts import FORMATS, render


def S(start: float, end: float, text: str = "words here") -> Segment:  # noqa: N802
    return Segment(start, end, text)


def words_of(segments: list[Segment]) -> list[str]:
    return " ".join(s.text for s in segments).split()


# (what the engine gave, the recording's length, what must come out)
CASES = {
    "valid stays as it is": (
        [S(0.0, 1.0, "a"), S(1.0, 2.5, "b")], 3.0, [(0.0, 1.0, "a"), (1.0, 2.5, "b")]),
    # mlx-whisper's cue: 201.96 -> 190.96 between neighbours at 195 and 205.
    "inverted cue takes its span back": (
        [S(180.0, 190.0, "a"), S(201.96, 190.96, "Your"), S(205.0, 207.0, "c")], 300.0,
        [(180.0, 190.0, "a"), (190.96, 201.96, "Your"), (205.0, 207.0, "c")]),
    "inverted cue overlapping the one before starts after it": (
        [S(0.0, 5.0, "a"), S(6.0, 3.0, "b"), S(8.0, 9.0, "c")], 10.0,
        [(0.0, 5.0, "a"), (5.0, 6.0, "b"), (8.0, 9.0, "c")]),
    "zero-length cue gets room up to the next": (
        [S(1.0, 1.0, "one two"), S(1.5, 3.0, "b")], 5.0, [(1.0, 1.5, "one two"), (1.5, 3.0, "b")]),
    "zero-length cue with free room gets a guess": (
        [S(1.0, 1.0, "one two three")], 10.0, [(1.0, 2.2, "one two three")]),
    "a cue running into the next ends where it begins": (
        [S(0.0, 4.0, "a"), S(3.0, 6.0, "b")], 10.0, [(0.0, 3.0, "a"), (3.0, 6.0, "b")]),
    "a cue inside the one before": (
        [S(0.0, 4.0, "a"), S(2.0, 3.0, "b"), S(5.0, 6.0, "c")], 10.0,
        [(0.0, 2.0, "a"), (2.0, 3.0, "b"), (5.0, 6.0, "c")]),
    "no room left: words join the cue before": (
        [S(0.0, 4.0, "a"), S(4.0, 4.0, "b")], 4.0, [(0.0, 4.0, "a b")]),
    "no room for the first cue: words join the cue after": (
        [S(2.0, 2.0, "a"), S(1.0, 2.0, "b")], 2.0, [(1.0, 2.0, "a b")]),
    "held inside the recording": (
        [S(-1.0, 2.0, "a"), S(9.0, 12.0, "b")], 10.0, [(0.0, 2.0, "a"), (9.0, 10.0, "b")]),
    "a cue past the end squeezes in at the end": (
        [S(0.0, 10.0, "a"), S(11.0, 12.0, "b")], 10.0, [(0.0, 10.0, "a b")]),
    "empty text is dropped": (
        [S(0.0, 1.0, "  "), S(1.0, 2.0, "b")], 3.0, [(1.0, 2.0, "b")]),
    "times that collapse into one millisecond": (
        [S(1.0, 1.0004, "a"), S(1.0004, 2.0, "b")], 3.0, [(1.0, 1.4, "a"), (1.4, 2.0, "b")]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_repair(name: str) -> None:
    given_segments, duration, expected = CASES[name]
    result = repair(given_segments, duration)
    assert [(s.start, s.end, s.text) for s in result.segments] == expected
    assert check(result.segments, duration) == []
    assert words_of(result.segments) == words_of([s for s in given_segments if s.text.strip()])
    # Every change of a time is in the notes (a blank cue dropped is not news).
    kept = [(max(0.0, s.start), s.end, s.text) for s in given_segments if s.text.strip()]
    assert bool(result.notes) == (kept != expected), result.notes


def test_repair_holds_a_chunk_inside_its_bounds() -> None:
    result = repair([S(290.0, 301.5, "late"), S(299.0, 299.0, "end")], duration=300.0,
                    floor=290.5)
    assert check(result.segments, 300.0) == []
    assert result.segments[0].start >= 290.5 and result.segments[-1].end <= 300.0


def test_check_names_every_problem() -> None:
    problems = check([S(2.0, 1.0, "a"), S(0.5, 3.0, "b"), S(3.0, 12.0, ""), ], 10.0)
    text = " | ".join(problems)
    assert "does not end after it starts" in text
    assert "starts before the cue before it ends" in text
    assert "ends after the recording" in text
    assert "has no text" in text


def test_the_writer_refuses_invalid_cues() -> None:
    with pytest.raises(InvalidTranscript):
        render("srt", [S(201.96, 190.96, "Your")], {"duration": 300.0})


times = st.floats(min_value=-5, max_value=120, allow_nan=False, allow_infinity=False)
texts = st.text(alphabet="abc xyz", min_size=0, max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(times, times, texts), max_size=25),
       st.floats(min_value=0.5, max_value=100))
def test_any_engine_output_becomes_valid_cues(raw, duration) -> None:
    segments = [Segment(a, b, t) for a, b, t in raw]
    result = repair(segments, duration)
    assert check(result.segments, duration) == []
    # No word is lost: every word the engine gave is in the cues, in the same order.
    assert words_of(result.segments) == words_of([s for s in segments if s.text.strip()])
    # What repair gives back is a fixed point.
    assert repair(result.segments, duration).segments == result.segments


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(times, times, texts), max_size=15),
       st.floats(min_value=0.5, max_value=100))
def test_written_files_read_back_valid(tmp_path_factory, raw, duration) -> None:
    folder = tmp_path_factory.mktemp("cues")
    segments = repair([Segment(a, b, t) for a, b, t in raw], duration).segments
    for fmt in FORMATS:
        path = folder / f"talk.{fmt}"
        path.write_text(render(fmt, segments, {"duration": duration}), encoding="utf-8")
        if fmt != "txt":
            assert problems_in_file(path, duration) == []


def test_problems_in_file_reads_what_players_read(tmp_path: Path) -> None:
    srt = tmp_path / "bad.srt"
    srt.write_text("1\n00:03:21,960 --> 00:03:10,960\nYour\n", encoding="utf-8")
    assert any("does not end after it starts" in p for p in problems_in_file(srt))
    vtt = tmp_path / "bad.vtt"
    vtt.write_text("00:00:01.000 --> 00:00:02.000\nno header\n", encoding="utf-8")
    assert problems_in_file(vtt)
    numbered = tmp_path / "gap.srt"
    numbered.write_text("1\n00:00:01,000 --> 00:00:02,000\na\n\n3\n00:00:02,000 --> "
                        "00:00:03,000\nb\n", encoding="utf-8")
    assert any("numbered" in p for p in problems_in_file(numbered))
    long = tmp_path / "long.json"
    long.write_text(json.dumps({"duration": 2.0, "segments": [
        {"start": 0.0, "end": 3.0, "text": "a"}]}), encoding="utf-8")
    assert any("ends after the recording" in p for p in problems_in_file(long))
