"""Word times by alignment: the numpy DTW and median filter against brute force, and mlx's
alignment of a real clip against CTranslate2's (tiny.en on both, from the same weights)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from pipeline.asr.alignment import dtw_path, median_filter, token_path
from tests.support.paths import ROOT

# --- the numpy parts ---------------------------------------------------------------------

STEPS = {(1, 1): 0, (1, 0): 1, (0, 1): 2}  # diagonal, down a row, right a column


def all_paths(rows: int, cols: int):
    """Every monotone path from the first cell to the last."""
    def walk(i: int, j: int, path: list[tuple[int, int]]):
        if (i, j) == (rows - 1, cols - 1):
            yield list(path)
            return
        for di, dj in STEPS:
            if i + di < rows and j + dj < cols:
                path.append((i + di, j + dj))
                yield from walk(i + di, j + dj, path)
                path.pop()
    yield from walk(0, 0, [(0, 0)])


def brute_force(cost: np.ndarray) -> list[tuple[int, int]]:
    """The cheapest path; of equally cheap ones, the first when their steps are read from the
    end back, a diagonal step before a step down and a step down before one to the right."""
    def key(path: list[tuple[int, int]]):
        steps = [STEPS[(b[0] - a[0], b[1] - a[1])] for a, b in zip(path, path[1:], strict=False)]
        return (sum(cost[i, j] for i, j in path), steps[::-1])
    return min(all_paths(*cost.shape), key=key)


def test_dtw_finds_the_known_cheapest_path() -> None:
    # Zeros along a staircase, ones elsewhere: the path is the staircase.
    cost = np.ones((3, 5))
    staircase = [(0, 0), (0, 1), (1, 2), (1, 3), (2, 4)]
    for i, j in staircase:
        cost[i, j] = 0
    assert dtw_path(cost) == staircase
    assert dtw_path(np.zeros((1, 4))) == [(0, 0), (0, 1), (0, 2), (0, 3)]
    assert dtw_path(np.zeros((3, 1))) == [(0, 0), (1, 0), (2, 0)]
    assert dtw_path(np.zeros((0, 3))) == []


def test_dtw_ties_go_to_the_diagonal() -> None:
    # All paths through zeros cost the same: the diagonal steps are taken last-first, so the
    # path runs right along the first row and then diagonally into the last cell.
    assert dtw_path(np.zeros((3, 4))) == [(0, 0), (0, 1), (1, 2), (2, 3)]
    # Going round the middle cell (right, then down) costs what going through it does.
    cost = np.array([[0.0, 0.0, 9.0], [9.0, 0.0, 0.0], [9.0, 9.0, 0.0]])
    assert dtw_path(cost) == [(0, 0), (1, 1), (2, 2)]
    assert dtw_path(cost) == brute_force(cost)


def test_dtw_agrees_with_brute_force_on_small_matrices() -> None:
    rng = np.random.default_rng(7)
    for _ in range(60):
        rows, cols = rng.integers(1, 5), rng.integers(1, 7)
        # Small integers: sums are exact and ties frequent, so the tie rule is tested too.
        cost = rng.integers(0, 3, size=(rows, cols)).astype(np.float64)
        assert dtw_path(cost) == brute_force(cost), cost
    for _ in range(20):
        cost = rng.normal(size=(rng.integers(2, 5), rng.integers(2, 7)))
        assert dtw_path(cost) == brute_force(cost), cost


def test_median_filter_is_the_median_of_mirrored_neighbours() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 11)).astype(np.float32)
    mirrored = np.concatenate([x[..., 3:0:-1], x, x[..., -2:-5:-1]], axis=-1)
    expected = np.stack([np.median(mirrored[..., k:k + 7], axis=-1) for k in range(11)], -1)
    assert np.array_equal(median_filter(x, 7), expected)
    row = x[0, 0]
    mirrored = np.r_[row[1], row, row[-2]]
    assert np.array_equal(median_filter(row, 3),
                          [np.median(mirrored[k:k + 3]) for k in range(11)])
    short = x[..., :3]
    assert median_filter(short, 7) is short  # too short to mirror: as Whisper leaves it
    with pytest.raises(ValueError):
        median_filter(x, 4)


def test_token_path_follows_the_attention() -> None:
    # Three heads whose attention walks over the audio, one position block per token: the path
    # goes through the blocks in order, and its rows are the text tokens and the end of text
    # (the start sequence and <|notimestamps|> left out).
    sot, text, positions = 2, 5, 60
    scores = np.full((3, sot + 1 + text + 1, positions), -4.0, dtype=np.float32)
    for row in range(text + 1):
        scores[:, sot + row, row * 10:row * 10 + 10] = 4.0
    path = token_path(scores, sot)
    assert path[0] == (0, 0) and path[-1] == (text, positions - 1)
    first = {}
    for token, position in path:
        first.setdefault(token, position)
    assert sorted(first) == list(range(text + 1))
    assert all(abs(first[k] - 10 * k) <= 3 for k in first), first
    assert token_path(scores[:, :, :0], sot) == []


# --- mlx against CTranslate2 on a real clip ----------------------------------------------

CLIP = ROOT / "tests" / "data" / "real" / "arctic" / "male" / "arctic_a0007.wav"


def words_of(text: str) -> list[str]:
    return re.sub(r"[^\w\s]", " ", text.lower()).split()


@pytest.mark.models
@pytest.mark.mlx
def test_mlx_word_times_agree_with_ctranslate2_s(tmp_path: Path) -> None:
    pytest.importorskip("mlx_whisper")
    import ctranslate2

    from common.media import decode_range
    from pipeline.asr import create_engine
    from pipeline.asr.base import SAMPLE_RATE
    from pipeline.asr.windows import GREEDY, HOP
    from pipeline.asr.word_times import words_from_path

    assert CLIP.is_file(), "run scripts/fetch-test-speech.sh (make test does)"
    cache = Path(os.path.expanduser("~/.cache/talks/models"))
    audio = decode_range(CLIP, 0.0, 30.0)
    seconds = len(audio) / SAMPLE_RATE
    mlx = create_engine("mlx", "tiny.en", cache, False, "en", 2, "int8", 1)
    # float32 on both: the same weights computed alike, so the alignments can be compared
    # closely when the encoder output is the same too.
    fw = create_engine("faster-whisper", "tiny.en", cache, False, "en", 2, "float32", 1)
    try:
        mlx.load()
        windows = mlx._windows
        # The converted model carries CTranslate2's alignment heads (not mlx's guess).
        config = json.loads((Path(mlx.settings.model_dir) / "config.json").read_text())
        assert windows.alignment_heads == [tuple(pair) for pair in config["alignment_heads"]]
        mel = windows.features(audio)
        frames = len(mel)
        assert frames == len(audio) // HOP
        encoded = windows.encode([mel])[0]  # one window (~20 s on this CPU), for all below

        timed = windows.decode([encoded], GREEDY, 0)[0]
        plain = windows.decode([encoded], GREEDY, 0, timestamps=False)[0]
        assert plain.tokens and all(t < windows.eot for t in plain.tokens)
        assert any(t >= windows.timestamp_begin for t in timed.tokens)
        assert words_of(plain.text) == words_of(timed.text)
        assert len(words_of(plain.text)) >= 6

        words = windows.word_times(encoded, plain.tokens, frames)
        assert "".join(w.text for w in words) == windows.text_of(plain.tokens)
        assert all(0.0 <= w.start <= w.end <= seconds + 0.02 for w in words)
        assert all(a.start <= b.start for a, b in zip(words, words[1:], strict=False))
        assert words[-1].start > words[0].start + 1.0  # spread over the clip, not heaped
        # The same text and times twice (the windows at pauses' "same text twice" on mlx:
        # the encoder is the cursor loop's, heard twice in test_windows.py).
        again = windows.decode([encoded], GREEDY, 0, timestamps=False)[0]
        assert again.tokens == plain.tokens
        assert windows.word_times(encoded, again.tokens, frames) == words

        # CTranslate2's alignment of the same tokens, from its own encoder output.
        fw.load()
        tokenizer = fw._windows.tokenizer
        theirs = fw._windows.encode([mel])[0]
        aligned = fw._model.model.align(ctranslate2.StorageView.from_array(theirs[None]),
                                        tokenizer.sot_sequence, [list(plain.tokens)],
                                        [frames])[0]
        reference = words_from_path(tokenizer, list(plain.tokens), aligned.alignments)
        # And mlx's alignment of CTranslate2's encoder output: the same method on the same
        # numbers gives the same path (here exactly; a rounding-level tie may move a word by
        # one encoder position, 0.02 s).
        import mlx.core as mx

        on_theirs = windows.word_times(mx.array(theirs), plain.tokens, frames)
    finally:
        mlx.unload()
        fw.unload()
    assert [w.text for w in words] == [w.text for w in reference]
    print("\n".join(f"{a.text:>14} mlx {a.start:5.2f}-{a.end:5.2f}  ct2 {b.start:5.2f}-{b.end:5.2f}"
                    for a, b in zip(words, reference, strict=True)))
    gaps = [abs(a.start - b.start) for a, b in zip(words, reference, strict=True)]
    assert max(gaps) <= 0.5
    # Typically the same to a position or two (0.02 s each): a path read one token off would
    # move most words by a word's length.
    assert float(np.median(gaps)) <= 0.1
    assert [w.text for w in on_theirs] == [w.text for w in reference]
    same = [(a.start, a.end) == (b.start, b.end) for a, b in zip(on_theirs, reference, strict=True)]
    assert sum(same) >= 0.9 * len(same)
    assert all(abs(a.start - b.start) <= 0.021 and abs(a.end - b.end) <= 0.021
               for a, b in zip(on_theirs, reference, strict=True))
