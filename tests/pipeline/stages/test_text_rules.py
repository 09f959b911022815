"""Titles, sanitizing, repetition guards, transcript formats, chunk planning."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from common.media import squeeze_silence, year_from_tags
from pipeline.asr.base import SAMPLE_RATE, Segment
from pipeline.config.settings import Config, OutputConfig
from pipeline.filing.place import FilingError, base_stem, free_names, inside, sanitize_component
from pipeline.filing.transcripts import render
from pipeline.stages.chunking import (
    collapse_repeats,
    drop_repetition_loops,
    plan_chunks,
    quietest_point,
)
from pipeline.stages.title import keyword_title


def test_keyword_title_names_the_subject_within_the_word_limit():
    text = ("Honey bees visit flowers. Honey bees carry pollen from flower to flower. "
            "A hive of honey bees makes honey. Pollination by bees feeds us all.")
    title = keyword_title(text, 6)
    assert title.startswith("Honey Bees")
    assert len(title.replace(",", "").split()) <= 6
    assert keyword_title("the and of it", 6) == "Untitled Talk"
    assert len(keyword_title(text, 2).split()) <= 2


@pytest.mark.parametrize("raw, expected", [
    ("../../etc/passwd", "etc passwd"),
    ("a/b\\c", "a b c"),
    ("Talk...", "Talk"),
    ("  .hidden  ", "hidden"),
    ("CON", "CON_"),
    ('what? "why" <now>: | *', "what why now"),
    ("Été à Zürich", "Été à Zürich"),
    ("..", "Untitled"),
    ("", "Untitled"),
])
def test_sanitize_component(raw, expected):
    assert sanitize_component(raw) == expected


def test_very_long_titles_are_cut_by_bytes_without_breaking_characters():
    name = sanitize_component("Ünïcödé " * 60)
    assert len(name.encode("utf-8")) <= 120
    name.encode("utf-8").decode("utf-8")  # still whole characters
    assert not name.endswith(" ")
    stem = base_stem("Spéaker " * 30, "Title " * 80)
    assert len((stem + " (Transcript).json").encode("utf-8")) < 255


def test_names_cannot_escape_the_output_root(tmp_path):
    config = Config(output=OutputConfig(root=tmp_path / "out"))
    names = free_names(config, 2020, "../../x", "../../../etc/passwd", ".mp3")
    for p in names.all_paths():
        assert (tmp_path / "out").resolve() in p.parents
    with pytest.raises(FilingError, match="outside the output root"):
        inside(tmp_path / "out", tmp_path / "out" / ".." / "elsewhere")


def test_collisions_get_a_number_for_the_talk_and_all_its_transcripts(tmp_path):
    config = Config(output=OutputConfig(root=tmp_path))
    first = free_names(config, 2021, "Ann", "Bees", ".mp3")
    first.transcripts["txt"].parent.mkdir(parents=True)
    first.transcripts["txt"].write_text("taken")  # only a transcript exists: still taken
    second = free_names(config, 2021, "Ann", "Bees", ".mp3")
    assert second.stem == "Ann - Bees (2)"
    assert second.transcripts["srt"].name == "Ann - Bees (2) (Transcript).srt"


def test_repetition_loops_are_collapsed_but_normal_speech_is_kept():
    loop = "thank you " * 12
    assert collapse_repeats(loop).lower() == "thank you"
    assert collapse_repeats("very very good") == "very very good"
    assert collapse_repeats("no no no no no") == "no"
    segs = [Segment(0, 1, "We begin."), Segment(1, 2, "We begin."), Segment(2, 3, "We begin."),
            Segment(3, 4, "Then we end.")]
    assert [s.text for s in drop_repetition_loops(segs)] == ["We begin.", "Then we end."]


def test_transcript_formats_are_valid():
    segs = [Segment(0.0, 1.5, "Hello there."), Segment(3725.25, 3727.0, "Later on.")]
    srt = render("srt", segs, {})
    assert srt.startswith("1\n00:00:00,000 --> 00:00:01,500\nHello there.\n")
    assert "2\n01:02:05,250 --> 01:02:07,000\nLater on." in srt
    vtt = render("vtt", segs, {})
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\n")
    data = json.loads(render("json", segs, {"title": "T"}))
    assert data["title"] == "T" and data["segments"][1]["start"] == 3725.25
    assert render("txt", segs, {}) == "Hello there.\n\nLater on.\n"


def tone_with_gap(gap_at: float, gap_len: float, total: float) -> np.ndarray:
    t = np.arange(int(total * SAMPLE_RATE)) / SAMPLE_RATE
    pcm = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    a, b = int(gap_at * SAMPLE_RATE), int((gap_at + gap_len) * SAMPLE_RATE)
    pcm[a:b] = 0.0
    return pcm


def test_cut_lands_in_the_pause():
    pcm = tone_with_gap(gap_at=7.0, gap_len=0.6, total=20.0)
    cut = quietest_point(pcm, window_start=100.0)
    assert 107.0 <= cut <= 107.6


def test_chunk_plan_covers_everything_without_tiny_tail():
    cuts = []

    def find_cut(lo: float, hi: float) -> float:
        cuts.append((lo, hi))
        return (lo + hi) / 2 + 1.0

    plan = plan_chunks(300.1, 300.0, find_cut)
    assert plan == [(0.0, 300.1)]  # the original made a 0.1 s second chunk here
    plan = plan_chunks(1000.0, 300.0, find_cut)
    assert plan[0][0] == 0.0 and plan[-1][1] == 1000.0
    assert all(a[1] == b[0] for a, b in zip(plan, plan[1:], strict=False))
    # Even pieces of at most about chunk_seconds: no piece is a sliver, none much longer.
    assert len(plan) == 4
    assert all(300 * 0.75 <= e - s <= 300 + 20 for s, e in plan)
    assert len(plan_chunks(620.0, 300.0, find_cut)) == 2  # a 20 s remainder is spread out
    assert len(plan_chunks(3600.0, 300.0, find_cut)) == 12


def test_squeezed_silence_maps_times_back_to_the_original():
    pcm = tone_with_gap(gap_at=2.0, gap_len=5.0, total=10.0)
    squeezed = squeeze_silence(pcm, threshold_db=-40, min_silence_s=2.0, keep_s=0.4)
    assert abs(len(squeezed.pcm) / SAMPLE_RATE - (10.0 - 5.0 + 0.4)) < 0.1
    # 3.0 s into the squeezed audio is past the gap: 4.6 s later in the original.
    assert abs(squeezed.to_original(3.0) - 7.6) < 0.1
    assert abs(squeezed.to_original(1.0) - 1.0) < 1e-6


def test_year_comes_from_date_like_tags():
    assert year_from_tags({"date": "2019"}) == 2019
    assert year_from_tags({"creation_time": "2021-05-04T10:00:00.000000Z"}) == 2021
    assert year_from_tags({"TDRC": "2015-03"}) == 2015
    assert year_from_tags({"title": "1999 problems"}) is None
    assert year_from_tags({}) is None


def test_output_paths(tmp_path: Path):
    out = OutputConfig(root=tmp_path)
    assert out.talks_dir == tmp_path / "talks"
    assert out.ledger_path.parent == tmp_path / ".talks"


@pytest.mark.parametrize("suffix", [".mp3", ".wav", ".m4a", ".mp4", ".flac"])
def test_a_file_that_is_not_audio_is_refused_with_what_to_do(tmp_path, suffix):
    from common.media import MediaError, probe
    from tests.support.speech import make_not_audio

    path = tmp_path / f"notes{suffix}"
    make_not_audio(path)
    with pytest.raises(MediaError, match="move it out of the input folder"):
        probe(path)
