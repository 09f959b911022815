"""The chunk plan and the guards on what comes back from the engine.

Chunks do not overlap: each cut is placed in the quietest stretch near its target time, so
no word is split by a cut and no word needs de-duplicating afterwards. The last chunk absorbs
a short remainder instead of becoming a fragment of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from pipeline.asr.base import Segment
from pipeline.media import frame_levels_db

# A remainder shorter than this share of a chunk joins the chunk before it.
TAIL_SHARE = 0.25
FRAME_S = 0.02


def quietest_point(pcm: np.ndarray, window_start: float) -> float:
    """The middle of the longest near-silent stretch in `pcm` (closest to its centre on ties).

    Levels are smoothed over 0.2 s so a single quiet frame between two syllables does not
    win over a real pause."""
    levels = frame_levels_db(pcm, FRAME_S)
    if len(levels) == 0:
        return window_start
    width = 10
    smooth = np.convolve(levels, np.ones(width) / width, mode="same") if len(levels) > width \
        else levels
    quiet = smooth <= smooth.min() + 3.0
    centre = len(levels) / 2
    best: tuple[int, float, int] | None = None  # (run length, -distance to centre, mid frame)
    i = 0
    while i < len(quiet):
        if not quiet[i]:
            i += 1
            continue
        j = i
        while j < len(quiet) and quiet[j]:
            j += 1
        mid = (i + j) // 2
        key = (j - i, -abs(mid - centre), mid)
        if best is None or key[:2] > best[:2]:
            best = key
        i = j
    assert best is not None
    return window_start + best[2] * FRAME_S


def plan_chunks(duration: float, chunk_seconds: float,
                find_cut: Callable[[float, float], float]) -> list[tuple[float, float]]:
    """[(start, end), …] covering [0, duration] in pieces of about `chunk_seconds`.

    `find_cut(lo, hi)` returns a cut time inside [lo, hi]; the runner gives it one that
    decodes just that window and looks for silence."""
    limit = chunk_seconds * (1 + TAIL_SHARE)
    window = min(20.0, chunk_seconds * 0.15)
    chunks: list[tuple[float, float]] = []
    start = 0.0
    while duration - start > limit:
        target = start + chunk_seconds
        cut = find_cut(target - window, target + window)
        cut = min(max(cut, target - window), target + window)
        chunks.append((start, cut))
        start = cut
    chunks.append((start, duration))
    return chunks


_WORD = re.compile(r"\S+")


def _norm(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def collapse_repeats(text: str, max_ngram: int = 8) -> str:
    """Remove a phrase said three or more times in a row down to one saying.

    Whisper's typical loop repeats a phrase many times; people rarely say the same 2+ word
    phrase three times running, or one word four times."""
    words = _WORD.findall(text)
    norm = [_norm(w) for w in words]
    out: list[int] = []  # indices of words kept
    i = 0
    while i < len(words):
        collapsed = False
        for n in range(max_ngram, 0, -1):
            min_repeats = 4 if n == 1 else 3
            if i + n * min_repeats > len(words):
                continue
            phrase = norm[i: i + n]
            if not any(phrase):
                continue
            repeats = 1
            while norm[i + repeats * n: i + (repeats + 1) * n] == phrase:
                repeats += 1
            if repeats >= min_repeats:
                out.extend(range(i, i + n))
                i += repeats * n
                collapsed = True
                break
        if not collapsed:
            out.append(i)
            i += 1
    return " ".join(words[k] for k in out)


def drop_repetition_loops(segments: list[Segment]) -> list[Segment]:
    """Collapse in-segment loops and drop a segment that repeats the one before it."""
    kept: list[Segment] = []
    previous = ""
    for seg in segments:
        text = collapse_repeats(seg.text).strip()
        key = " ".join(_norm(w) for w in text.split())
        if not key or key == previous:
            continue
        kept.append(Segment(seg.start, seg.end, text))
        previous = key
    return kept
