"""Windows cut at pauses, decoded in batches without timestamps (pipeline/asr/pause_windows.py).

The packing, the word times and the cues are checked on numbers; the path as a whole with
faster-whisper's tiny.en, loaded once for the module (mlx's side: test_mlx_alignment.py)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest

from common.media import decode_range
from pipeline.asr.base import SAMPLE_RATE
from pipeline.asr.pause_windows import (
    FULL_ENOUGH,
    UNHEARD_S,
    WINDOW_LIMIT,
    decode_paused,
    pause_windows,
    paused_speech,
    unheard,
)
from pipeline.asr.windows import Window
from pipeline.asr.word_times import CUE_SECONDS, Word, cues_of, words_from_path
from pipeline.filing.cues import check
from tests.support.speech import TALKS, make_talk, normalize_words

os.environ["HF_HUB_OFFLINE"] = "1"
R = SAMPLE_RATE


def test_stretches_are_packed_with_their_neighbours_while_their_speech_fits() -> None:
    stretches = [(0, 10 * R), (12 * R, 25 * R), (30 * R, 40 * R), (41 * R, 45 * R)]
    windows = pause_windows(stretches, limit=30 * R)
    # 10 + 13 s fit; the next 10 s would make 33: a new window, which the last 4 s join.
    assert [w.pieces for w in windows] == [((0, 10 * R), (12 * R, 25 * R)),
                                           ((30 * R, 40 * R), (41 * R, 45 * R))]
    assert all(w.samples <= 30 * R for w in windows)


def seconds(windows) -> list[list[tuple[float, float]]]:
    return [[(a / R, b / R) for a, b in w.pieces] for w in windows]


def test_a_window_short_of_full_takes_the_next_sentence_up_to_a_short_pause() -> None:
    # Two runs of pieces that meet (short pauses inside sentences), a long pause between them.
    pieces = [(0, 8 * R), (8 * R, 16 * R), (18 * R, 26 * R), (26 * R, 31 * R), (31 * R, 45 * R)]
    windows = pause_windows(pieces, limit=30 * R)
    # 16 s is short of full: the next run gives the window its pieces up to 29 s of speech,
    # the rest of that run starts the next window.
    assert seconds(windows) == [[(0, 16), (18, 31)], [(31, 45)]]


def test_a_window_full_enough_ends_at_a_long_pause_rather_than_cut_a_sentence() -> None:
    pieces = [(0, 12 * R), (12 * R, 25 * R), (27 * R, 29 * R), (29 * R, 40 * R)]
    windows = pause_windows(pieces, limit=30 * R)
    # 25 s is at least FULL_ENOUGH of 30: the window ends at the pause, not 2 s further.
    assert 25 >= FULL_ENOUGH * 30
    assert seconds(windows) == [[(0, 25)], [(27, 40)]]


def test_a_stretch_longer_than_a_window_is_cut_into_windows_and_loses_no_sample() -> None:
    stretches = [(0, 5 * R), (6 * R, 6 * R + 2 * WINDOW_LIMIT + R)]
    windows = pause_windows(stretches)
    assert all(w.samples <= WINDOW_LIMIT for w in windows)
    heard = [p for w in windows for p in w.pieces]
    assert sum(b - a for a, b in heard) == sum(b - a for a, b in stretches)
    assert heard == sorted(heard)


class SplitTokenizer:
    """Whisper's word split for tokens that are each one word (what the code reads of it)."""

    eot = 99

    def split_to_word_tokens(self, tokens: list[int]) -> tuple[list[str], list[list[int]]]:
        words = [f" w{t}" if t != self.eot else "<|endoftext|>" for t in tokens]
        return words, [[t] for t in tokens]


def test_a_word_runs_from_where_the_path_first_reaches_it_to_the_next_word() -> None:
    # Path over tokens 0..2 and the end of text (index 3), in encoder positions (20 ms).
    path = [(0, 0), (0, 10), (1, 25), (1, 30), (2, 50), (3, 100), (3, 120)]
    words = words_from_path(SplitTokenizer(), [5, 6, 7], path)
    assert words == [Word(0.0, 0.5, " w5"), Word(0.5, 1.0, " w6"), Word(1.0, 2.0, " w7")]


def test_a_long_word_loses_the_pause_after_it_or_before_its_sentence() -> None:
    # Words 0.4 s long (cap: 0.8 s); the path lingers 2 s on " w6", which ends a sentence
    # (its end runs into the pause after it), and on " w7", which opens the next.
    class Sentences(SplitTokenizer):
        def split_to_word_tokens(self, tokens):
            words, pieces = super().split_to_word_tokens(tokens)
            return [w + "." if w == " w6" else w for w in words], pieces

    path = [(0, 0), (1, 20), (2, 120), (3, 220), (4, 240), (5, 260), (6, 280)]
    words = words_from_path(Sentences(), [5, 6, 7, 8, 9, 10], path)
    assert (words[1].start, words[1].end) == pytest.approx((0.4, 1.2))  # ended 0.8 s on
    assert words[2].start == pytest.approx(3.6) and words[2].end == 4.4  # began 0.8 s before
    assert all(w.end - w.start <= 0.8 + 1e-9 for w in words)


def test_a_token_the_path_skips_takes_the_time_before_it() -> None:
    path = [(0, 0), (2, 40), (3, 60)]
    words = words_from_path(SplitTokenizer(), [5, 6, 7], path)
    assert [w.start for w in words] == [0.0, 0.0, 0.8]
    assert all(w.end >= w.start for w in words)
    assert words_from_path(SplitTokenizer(), [5], []) == []


def test_cues_end_at_a_sentence_or_before_they_overrun() -> None:
    window = Window(((0, 60 * R),))
    words = [Word(0.0, 0.5, " One"), Word(0.5, 2.0, " sentence."),
             *(Word(2.0 + k, 3.0 + k, f" w{k}") for k in range(10))]
    cues = cues_of(words, window.chunk_time, offset=100.0)
    assert cues[0].text == "One sentence." and (cues[0].start, cues[0].end) == (100.0, 102.0)
    assert all(c.end - c.start <= CUE_SECONDS for c in cues)
    assert " ".join(c.text for c in cues) == "".join(w.text for w in words).strip()
    assert check(cues, 200.0) == []


def test_a_cue_never_spans_a_stretch_heard_again() -> None:
    # A gap of UNHEARD_S between two words is heard again, and its cues go between these.
    window = Window(((0, 60 * R),))
    words = [Word(0.0, 1.0, " Before"), Word(1.0 + UNHEARD_S, 5.0 + UNHEARD_S, " after.")]
    cues = cues_of(words, window.chunk_time, offset=0.0)
    assert [(c.start, c.end, c.text) for c in cues] == [
        (0.0, 1.0, "Before"), (1.0 + UNHEARD_S, 5.0 + UNHEARD_S, "after.")]
    # A shorter pause stays inside its cue.
    close = [Word(0.0, 1.0, " Before"), Word(1.0 + UNHEARD_S / 2, 4.0, " after.")]
    assert len(cues_of(close, window.chunk_time, offset=0.0)) == 1


def test_cue_times_cross_the_pause_the_window_left_out() -> None:
    window = Window(((2 * R, 5 * R), (9 * R, 11 * R)))  # 3 s, a 4-s pause, 2 s
    cues = cues_of([Word(0.0, 2.9, " Before."), Word(3.0, 4.5, " After.")],
                   window.chunk_time, offset=0.0)
    assert [(c.start, c.end) for c in cues] == [(2.0, 4.9), (9.0, 10.5)]


def test_long_stretches_without_words_are_found_at_the_start_between_and_at_the_end() -> None:
    words = [Word(4.0, 5.0, " a"), Word(5.0, 6.0, " b"), Word(10.0, 11.0, " c")]
    assert unheard(words, 20.0) == [(0.0, 4.0), (6.0, 10.0), (11.0, 20.0)]
    # Gaps under UNHEARD_S are pauses inside speech, not words left out.
    close = [Word(1.0, 2.0, " a"), Word(2.0 + UNHEARD_S / 2, 9.0, " b")]
    assert unheard(close, 9.0 + UNHEARD_S / 2) == []


# --- with faster-whisper's tiny.en -------------------------------------------------------

@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """About 45 s of speech with pauses: more than one 30-s window."""
    path = tmp_path_factory.mktemp("clip") / "talk.wav"
    make_talk(path, TALKS["bees"][:6] + TALKS["forgiveness"][:3], pause_s=1.0)
    return decode_range(path, 0.0, 120.0)


@pytest.fixture(scope="module")
def engine():
    from pipeline.asr import create_engine

    cache = Path(os.path.expanduser("~/.cache/talks/models"))
    made = create_engine("faster-whisper", "tiny.en", cache, False, "en", 2, "int8", 1, 1, 4)
    made.settings = dataclasses.replace(made.settings, windows="pauses")
    made.load()
    yield made
    made.unload()


@pytest.mark.models
def test_a_chunk_heard_at_pauses_keeps_every_sentence_with_valid_cues(engine, clip) -> None:
    speech = paused_speech(clip, engine._windows.features)
    assert len(speech.windows) >= 2, "the clip makes more than one window"
    seen = []
    cues = decode_paused(engine._windows, speech, 300.0, batch_size=4,
                         on_window=lambda w, a: seen.append(a))
    assert len(seen) == len(speech.windows)
    assert all(not any(t >= engine._windows.timestamp_begin for t in a.tokens) for a in seen)
    assert check(cues, 300.0 + len(clip) / R) == []
    assert cues[0].start >= 300.0 and all(c.end - c.start <= CUE_SECONDS for c in cues)
    heard = normalize_words(" ".join(c.text for c in cues)).split()
    # Each sentence's last word is heard: windows end at pauses, so none is cut off.
    for sentence in TALKS["bees"][:6] + TALKS["forgiveness"][:3]:
        last = normalize_words(sentence).split()[-1]
        assert last in heard, f"{last!r} of {sentence!r}"
    # The engine's own entry point hears the same, and the compact copy gets the speech.
    assert engine.transcribe(clip.copy(), offset=300.0) == cues
    assert engine.last_speech and engine.last_speech[0][0] >= 300.0


@pytest.mark.models
def test_a_window_says_the_same_whatever_it_is_batched_with(engine, clip) -> None:
    speech = paused_speech(clip, engine._windows.features)
    together = decode_paused(engine._windows, speech, 0.0, batch_size=4)
    alone = decode_paused(engine._windows, speech, 0.0, batch_size=1)
    on_two_threads = decode_paused(engine._windows, speech, 0.0, batch_size=1, parallel=2)
    assert together and together == alone == on_two_threads


@pytest.mark.models
def test_cue_starts_fall_where_the_sentences_begin(engine, tmp_path: Path) -> None:
    # Two sentences with a known 2-s pause between them: the second cue starts after it.
    from tests.support.speech import sentence_times

    sentences = TALKS["bees"][:2]
    path = tmp_path / "two.wav"
    make_talk(path, sentences, pause_s=2.0)
    times = sentence_times(sentences, pause_s=2.0)
    pcm = decode_range(path, 0.0, 60.0)
    cues = decode_paused(engine._windows, paused_speech(pcm, engine._windows.features), 0.0,
                         batch_size=4)
    assert len(cues) == 2
    for cue, (start, _end) in zip(cues, times, strict=True):
        assert abs(cue.start - start) <= 1.0, (cue, start)


@pytest.mark.models
def test_speech_that_repeats_itself_is_heard_to_the_end(engine, tmp_path: Path) -> None:
    # The same sentence five times: greedy decoding loops, and the fallback that may not
    # repeat itself writes it once and stops. The rest of the window is heard again, so the
    # cues reach the end of the speech (and the speaker stage, which samples voices from
    # the cues' time, hears all of it).
    path = tmp_path / "again.wav"
    make_talk(path, [TALKS["bees"][1]] * 5, pause_s=0.5)
    pcm = decode_range(path, 0.0, 60.0)
    speech = paused_speech(pcm, engine._windows.features)
    cues = decode_paused(engine._windows, speech, 0.0, batch_size=4)
    said = normalize_words(TALKS["bees"][1]).split()
    heard = normalize_words(" ".join(c.text for c in cues)).split()
    assert len(heard) >= 3 * len(said), heard
    last = speech.windows[-1].last / R
    assert cues[-1].end >= last - UNHEARD_S, (cues[-1], last)
    assert check(cues, len(pcm) / R) == []
