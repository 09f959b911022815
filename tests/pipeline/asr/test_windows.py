"""The window loop both engines decode through: packing, timestamps, the seeded fallback.

The pure parts are checked on numbers; repeatability and the fallback are checked with the
real engines (tiny.en), each loaded once for the module."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from pathlib import Path

import numpy as np
import pytest

from common.media import decode_range
from pipeline.asr.base import SAMPLE_RATE
from pipeline.asr.lean_frontend import speech_stretches
from pipeline.asr.windows import (
    GREEDY,
    MIN_STREAM_SECONDS,
    Attempt,
    Checks,
    Strategy,
    Window,
    best_attempt,
    decode_streams,
    speech_streams,
    split_for_seek,
    stream_features,
    streams_of,
    window_seed,
)
from pipeline.filing.cues import check
from tests.support.speech import TALKS, make_talk

os.environ["HF_HUB_OFFLINE"] = "1"
R = SAMPLE_RATE
BEGIN, EOT = 50364, 50256  # tiny.en's first timestamp token and end of text


def ts(seconds: float) -> int:
    return BEGIN + round(seconds / 0.02)


# --- windows, streams, and Whisper's reading of a window ------------------------------

def test_a_window_maps_its_times_back_across_the_removed_pause() -> None:
    window = Window(((2 * R, 5 * R), (9 * R, 11 * R)))  # 3 s, a 4 s pause, 2 s
    assert window.chunk_time(0.0) == 2.0
    assert window.chunk_time(2.5) == 4.5
    assert window.chunk_time(3.0) == 9.0  # a cue starting on the seam starts after the pause
    assert window.chunk_time(3.0, is_end=True) == 5.0  # one ending there ends before it
    assert window.chunk_time(4.0) == 10.0
    assert window.chunk_time(30.0, is_end=True) == 11.0  # past its audio: its end


def test_a_window_cut_after_and_before_a_time() -> None:
    window = Window(((2 * R, 5 * R), (9 * R, 11 * R)))
    assert window.after(1.0).pieces == ((3 * R, 5 * R), (9 * R, 11 * R))
    assert window.after(4.0).pieces == ((10 * R, 11 * R),)
    assert window.first_seconds(4.0).pieces == ((2 * R, 5 * R), (9 * R, 10 * R))
    assert window.after(1.0).first_seconds(2.0).pieces == ((3 * R, 5 * R),)
    pcm = np.arange(20, dtype=np.float32)
    assert Window(((2, 5), (9, 11))).audio(pcm).tolist() == [2, 3, 4, 9, 10]


def frames_of(audio: np.ndarray) -> np.ndarray:
    return np.zeros((len(audio) // 160, 80), dtype=np.float32)


def test_streams_are_cut_between_stretches_into_equal_shares() -> None:
    pcm = np.zeros(200 * R, dtype=np.float32)
    stretches = [(0, 10 * R), (12 * R, 40 * R), (41 * R, 50 * R), (60 * R, 95 * R),
                 (100 * R, 110 * R), (111 * R, 150 * R)]
    one = streams_of(pcm, stretches, frames_of, 1)
    assert len(one) == 1 and one[0].speech.pieces == tuple(stretches)
    two = streams_of(pcm, stretches, frames_of, 2)
    # 131 s of speech: the cut after 82 s is closer to half than the one after 47 s.
    assert [s.speech.pieces for s in two] == [tuple(stretches[:4]), tuple(stretches[4:])]
    four = streams_of(pcm, stretches, frames_of, 4)
    assert [p for s in four for p in s.speech.pieces] == stretches  # all, in order
    assert all(len(s.mel) == s.speech.samples // 160 for s in four)
    assert len(streams_of(pcm, stretches[:2], frames_of, 5)) == 2  # never more than stretches
    assert streams_of(pcm, [], frames_of, 3) == []


def test_streams_are_cut_in_the_longest_pause_near_an_equal_share() -> None:
    pcm = np.zeros(200 * R, dtype=np.float32)
    # 100 s of speech: the pause after 50 s lasts 1 s, the one after 45 s lasts 6 s, the one
    # after 70 s (outside a fifth of a share) 20 s.
    stretches = [(0, 45 * R), (51 * R, 56 * R), (57 * R, 77 * R), (97 * R, 127 * R)]
    two = streams_of(pcm, stretches, frames_of, 2)
    assert [s.speech.pieces for s in two] == [tuple(stretches[:1]), tuple(stretches[1:])]
    # Three streams leave a stretch for each.
    three = streams_of(pcm, stretches, frames_of, 3)
    assert len(three) == 3 and [p for s in three for p in s.speech.pieces] == stretches


def testneighbour_runs_of_streams_heard_at_once_are_neighbours_as_even_as_can_be() -> None:
    from pipeline.asr.windows import neighbour_runs

    streams = list(range(5))
    assert neighbour_runs(streams, 2) == [[0, 1, 2], [3, 4]]
    assert neighbour_runs(streams, 1) == [streams]
    assert neighbour_runs(streams[:1], 4) == [[0]]
    assert neighbour_runs([], 2) == []


def test_a_stream_s_windows_share_one_floor_as_in_whisper_s_own_transcribe() -> None:
    # A loud first window, then a quiet one: the quiet window's frames must keep the floor
    # the loud one set (8 below the loudest frame), as Whisper's transcribe computes them
    # over a whole recording; frames computed for the quiet window alone sink far below it.
    from faster_whisper.feature_extractor import FeatureExtractor

    filters = FeatureExtractor().mel_filters
    rng = np.random.default_rng(0)
    t = np.arange(30 * R) / R
    loud = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    quiet = (1e-4 * rng.standard_normal(20 * R)).astype(np.float32)
    audio = np.concatenate([loud, quiet])
    (stream,) = streams_of(audio, [(0, len(audio))], lambda a: stream_features(a, filters))
    assert stream.mel.shape == (len(audio) // 160, 80)
    first, mel_1 = stream.next_window()
    assert first.pieces == ((0, 30 * R),) and mel_1.shape == (3000, 80)
    stream.seek = 3000
    second, mel_2 = stream.next_window()
    assert second.pieces == ((30 * R, 50 * R),) and mel_2.shape == (2000, 80)
    floor = stream.mel.max() - 2.0  # 8 in log10, scaled by 1/4
    assert abs(mel_2.min() - floor) < 1e-5
    alone = stream_features(quiet, filters)
    assert alone.min() < floor - 0.5


SEEKS = {
    "pairs, closed at the end: all of it, move a whole window": (
        [ts(0), 1, 2, ts(2.4), ts(2.4), 3, ts(5.0)],
        [(0.0, 2.4, [1, 2]), (2.4, 5.0, [3])], 30.0),
    "unfinished text after the last pair: left for the next window": (
        [ts(0), 1, ts(2.4), ts(2.4), 2, ts(5.0), ts(5.0), 3, 4],
        [(0.0, 2.4, [1]), (2.4, 5.0, [2])], 5.0),
    "no pair: one piece up to the last time, move a whole window": (
        [ts(1.0), 1, 2, ts(3.0)], [(0.0, 3.0, [1, 2])], 30.0),
    "no times at all: the whole window": ([1, 2, 3], [(0.0, 30.0, [1, 2, 3])], 30.0),
    "special tokens are not text": (
        [ts(0), 1, EOT, 2, ts(1.0)], [(0.0, 1.0, [1, 2])], 30.0),
    "a backwards time is kept for the cue repair": (
        [ts(5.0), 1, ts(3.0), ts(3.0), 2, ts(4.0)], [(5.0, 3.0, [1]), (3.0, 4.0, [2])], 30.0),
}


@pytest.mark.parametrize("name", list(SEEKS))
def test_whisper_s_reading_of_a_window(name: str) -> None:
    tokens, pieces, moved = SEEKS[name]
    assert split_for_seek(tokens, BEGIN, EOT, 30.0) == (pieces, moved)


def attempt(text: str, logprob: float, temperature: float = 0.0, no_speech: float = 0.0):
    return Attempt((), text, logprob, no_speech, Strategy(temperature=temperature))


def test_the_best_attempt_is_the_most_probable_that_is_not_a_loop() -> None:
    loop = "and then and then " * 20
    attempts = [attempt(loop, -0.2), attempt("fair words here", -1.4, 0.2),
                attempt("better words here", -1.1, 0.4), attempt("wild", -3.0, 1.0)]
    assert best_attempt(attempts).text == "better words here"
    assert best_attempt([attempt(loop, -0.5), attempt(loop + "x", -0.3)]).avg_logprob == -0.3


def test_whisper_s_checks() -> None:
    checks = Checks()
    assert attempt("plain words", -0.5).passes(checks)
    assert not attempt("plain words", -1.5).passes(checks)
    assert not attempt("so so so so so so so so so so so so so so so so", -0.1).passes(checks)
    silence = attempt("", -1.5, no_speech=0.9)
    assert silence.is_silence(checks) and silence.passes(checks)


def test_seeds_follow_the_window_and_the_strategy_only() -> None:
    window = Window(((R, 5 * R),))
    warm, warmer = Strategy(temperature=0.2), Strategy(temperature=0.4)
    assert window_seed(window, 300.0, warm) == window_seed(Window(((R, 5 * R),)), 300.0, warm)
    assert window_seed(window, 300.0, warm) != window_seed(window, 300.0, warmer)
    assert window_seed(window, 300.0, warm) != window_seed(window, 0.0, warm)
    assert str(GREEDY) == "greedy" and str(warm) == "sampling at temperature 0.2"


# --- the real engines --------------------------------------------------------------------

ENGINES = ["faster-whisper", pytest.param("mlx", marks=pytest.mark.mlx)]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """About 45 s of speech with pauses: more than one 30 s window."""
    path = tmp_path_factory.mktemp("clip") / "talk.wav"
    make_talk(path, TALKS["bees"][:6] + TALKS["forgiveness"][:3], pause_s=1.0)
    return decode_range(path, 0.0, 120.0)


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    from pipeline.asr import create_engine

    if request.param == "mlx":
        pytest.importorskip("mlx_whisper")
    cache = Path(os.path.expanduser("~/.cache/talks/models"))
    model = create_engine(request.param, "tiny.en", cache, False, "en", 2, "int8", 1, 1, 2,
                          streams=2)
    model.load()
    yield model
    model.unload()


def several_windows(engine, clip: np.ndarray):
    """The clip's speech as streams that make several windows. mlx runs here on the CPU
    with a reference BLAS (each window's encoder alone takes 12-20 s), so it gets the first
    4 s as one window: the loop over several windows is the engines' shared code, heard
    through with faster-whisper; mlx's own part is its encoder and decoder, the same each
    time."""
    if engine.name != "mlx":
        return speech_streams(clip, engine._windows.features,
                              engine.settings.batch_size * engine.parallel, MIN_STREAM_SECONDS)
    audio = clip[: 4 * R]
    return streams_of(audio, speech_stretches(audio), engine._windows.features, 1)


# mlx's encodings of a window, by the window's bytes: the first of the two the test below
# makes (each run encodes again: the encoder must repeat too), reused by the no-rescue test,
# whose window is the same 4 s (an encoding is 12-20 s here; its ladder is what it repeats).
MLX_ENCODINGS: dict[bytes, object] = {}


def windows_key(windows) -> bytes:
    return hashlib.sha256(b"".join(np.ascontiguousarray(w).tobytes() for w in windows)).digest()


@pytest.mark.models
def test_the_same_clip_gives_the_same_text_twice(engine, clip: np.ndarray,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    if engine.name == "mlx":
        encode = engine._windows.encode

        def encode_and_keep(windows):
            encoded = encode(windows)
            MLX_ENCODINGS.setdefault(windows_key(windows), encoded)
            return encoded

        monkeypatch.setattr(engine._windows, "encode", encode_and_keep)
    runs = []
    for _ in range(2):
        streams = several_windows(engine, clip)
        windows: list[Window] = []
        runs.append(decode_streams(engine._windows, streams, 300.0,
                                   on_window=lambda w, _a, seen=windows: seen.append(w),
                                   parallel=engine.parallel))
        assert len(windows) >= (1 if engine.name == "mlx" else 2), "more than one window"
    first, second = runs
    assert first and first == second
    assert check(first, 300.0 + len(clip) / R) == []
    assert first[0].start >= 300.0
    if engine.name != "mlx":  # the engine's own entry point too, where it is quick
        assert engine.transcribe(clip.copy(), offset=300.0) == first


@pytest.mark.models
def test_streams_heard_at_once_give_what_they_give_one_after_the_other(engine,
                                                                      clip: np.ndarray) -> None:
    # faster-whisper hears a long chunk's streams on threads of their own; each stream must
    # come out as it does alone, whatever the other thread is doing.
    if engine.parallel < 2:
        assert engine.name == "mlx"  # one stream group at a time by design
        return
    audio = clip[: 45 * R]
    runs = []
    for parallel in (1, 2, 2):
        streams = streams_of(audio, speech_stretches(audio), engine._windows.features, 2)
        assert len(streams) == 2
        runs.append(decode_streams(engine._windows, streams, 0.0, parallel=parallel))
    assert runs[0] and runs[0] == runs[1] == runs[2]


@pytest.mark.models
def test_a_batch_of_windows_decodes_as_each_window_does_alone(engine,
                                                              clip: np.ndarray) -> None:
    # batch_size > 1: windows of several streams go through the decoder together. Their
    # encoder outputs are rows of one array, handed to the decoder without a copy, and each
    # window's text must not depend on what shares its batch.
    if engine.name == "mlx":  # its encoder takes ~20 s a window on this CPU: one stream only
        assert engine.parallel == 1
        return
    from pipeline.asr.faster_whisper_engine import _one_array

    windows = engine._windows
    audio = clip[: 45 * R]
    streams = streams_of(audio, speech_stretches(audio), windows.features, 2)
    encoded = windows.encode([stream.next_window()[1] for stream in streams])
    assert len(encoded) == 2 and encoded[0].base is encoded[1].base is not None
    batch = _one_array(encoded)
    assert batch.shape[0] == 2 and np.shares_memory(batch, encoded[0])
    assert np.shares_memory(_one_array(encoded[1:]), encoded[1])  # a fallback's one window
    swapped = _one_array([encoded[1], encoded[0]])  # not rows in order: a copy, in order
    assert not np.shares_memory(swapped, encoded[0])
    assert np.array_equal(swapped[0], encoded[1]) and np.array_equal(swapped[1], encoded[0])
    together = windows.decode(encoded, GREEDY, 0)
    alone = [windows.decode([one], GREEDY, 0)[0] for one in encoded]
    assert all(attempt.text for attempt in together)
    assert [a.tokens for a in together] == [a.tokens for a in alone]


@pytest.mark.models
def test_a_window_no_strategy_rescues_is_kept_named_and_repeatable(
        engine, clip: np.ndarray, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Checks nothing can pass: every window goes down the engine's ladder (mlx samples at
    # each temperature), and the most probable attempt must be kept, the same both runs.
    # mlx gets one short window and the first two rungs of its ladder: greedy, then one
    # seeded sampling (higher temperatures write long nonsense, slowly here).
    never = Checks(logprob_limit=1.0, no_speech_limit=1.1)
    # A run's log set-up earlier in this process stops "talks" propagating to the root logger,
    # where caplog listens.
    monkeypatch.setattr(logging.getLogger("talks"), "propagate", True)
    if engine.name == "mlx":
        monkeypatch.setattr(engine._windows, "ladder", engine._windows.ladder[:2])
        # and at most 48 tokens a try: nonsense runs to Whisper's 224 otherwise, ~10 s each
        import mlx_whisper.decoding as decoding

        monkeypatch.setattr(decoding, "DecodingOptions",
                            functools.partial(decoding.DecodingOptions, sample_len=48))
        # The second run's window is the first's: its encoding (12-20 s here) is reused, as
        # what must repeat is the ladder's decoding (test_the_same_clip… repeats the encoder,
        # and leaves its encoding of this window in MLX_ENCODINGS).
        encode = engine._windows.encode

        def encode_once(windows):
            key = windows_key(windows)
            if key not in MLX_ENCODINGS:
                MLX_ENCODINGS[key] = encode(windows)
            return MLX_ENCODINGS[key]

        monkeypatch.setattr(engine._windows, "encode", encode_once)
    audio = clip[: (4 if engine.name == "mlx" else 45) * R]
    runs = []
    for _ in range(2):
        seen: list[tuple[Window, Attempt]] = []
        with caplog.at_level(logging.WARNING, logger="talks"):
            caplog.clear()
            streams = speech_streams(audio, engine._windows.features)
            segments = decode_streams(engine._windows, streams, 60.0, checks=never,
                                      on_window=lambda w, a, seen=seen: seen.append((w, a)))
            runs.append((segments, [r.getMessage() for r in caplog.records]))
        assert len(seen) >= (1 if engine.name == "mlx" else 2)
        assert all(a.strategy in engine._windows.ladder for _w, a in seen)
    (segments, messages), (again, messages_again) = runs
    assert segments == again and messages == messages_again
    assert segments and all(s.text for s in segments)
    # The cursor moved on past each window's finished text: every word of the clip is in.
    assert check(segments, 60.0 + len(audio) / R) == []
    assert len(messages) == len(seen)
    for (window, _attempt), message in zip(seen, messages, strict=True):
        start = 60.0 + window.first / R
        assert f"window {start:.2f}–" in message and "no decoding passed" in message


def test_mlx_timestamps_never_go_backwards() -> None:
    pytest.importorskip("mlx_whisper")
    import mlx.core as mx

    from pipeline.asr.mlx_engine import _timestamp_rules_class

    class Tok:
        timestamp_begin, eot, no_timestamps = 100, 90, 99

    rules = _timestamp_rules_class()(Tok(), sample_begin=1, max_initial_timestamp_index=50)
    vocab = 200
    # After <|t=20|> words, the likeliest next token is an earlier timestamp (<|t=10|>).
    logits = np.full((1, vocab), -5.0, dtype=np.float32)
    logits[0, 110] = 10.0
    logits[0, 125] = 1.0
    out = np.array(rules.apply(mx.array(logits), mx.array([[0, 120, 5, 6]])))
    assert np.isneginf(out[0, 100:120]).all()  # nothing earlier than the last time
    assert int(out[0].argmax()) == 125
    # Right after a closing time, the same time may open the next piece.
    out = np.array(rules.apply(mx.array(logits), mx.array([[0, 120, 5, 120]])))
    assert not np.isneginf(out[0, 120]) and np.isneginf(out[0, 119])
    assert np.isneginf(out[0, :90]).all()  # text cannot follow a closing time directly
