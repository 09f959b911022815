"""The chunk plan and the guards on what comes back from the engine.

Chunks do not overlap: each cut is placed in the quietest stretch near its target time, so
no word is split by a cut and no word needs de-duplicating afterwards. The last chunk absorbs
a short remainder instead of becoming a fragment of its own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where it is used: the batch and the app never
    import numpy as np  # load it (~15 MB), only the workers that do the audio work

from common.media import frame_levels_db, true_runs
from pipeline.asr.base import Segment

# A remainder shorter than this share of a chunk joins the chunk before it.
TAIL_SHARE = 0.25
FRAME_S = 0.02


def quietest_point(pcm: np.ndarray, window_start: float) -> float:
    """The middle of the longest near-silent stretch in `pcm` (closest to its centre on ties).

    Levels are smoothed over 0.2 s so a single quiet frame between two syllables does not
    win over a real pause."""
    import numpy as np
    levels = frame_levels_db(pcm, FRAME_S)
    if len(levels) == 0:
        return window_start
    width = 10
    smooth = np.convolve(levels, np.ones(width) / width, mode="same") if len(levels) > width \
        else levels
    quiet = smooth <= smooth.min() + 3.0
    centre = len(levels) / 2
    best: tuple[int, float, int] | None = None  # (run length, -distance to centre, mid frame)
    for i, j in true_runs(quiet):
        mid = (i + j) // 2
        key = (j - i, -abs(mid - centre), mid)
        if best is None or key[:2] > best[:2]:
            best = key
    assert best is not None
    return window_start + best[2] * FRAME_S


def chunk_count(duration: float, chunk_seconds: float) -> int:
    """How many chunks: enough that none is much over `chunk_seconds`, but a remainder shorter
    than TAIL_SHARE of a chunk is spread over the others rather than made a chunk of its own."""
    count = max(1, math.ceil(duration / chunk_seconds))
    remainder = duration - (count - 1) * chunk_seconds
    if count > 1 and remainder < chunk_seconds * TAIL_SHARE:
        count -= 1
    return count


def plan_chunks(duration: float, chunk_seconds: float,
                find_cut: Callable[[float, float], float]) -> list[tuple[float, float]]:
    """[(start, end), …] covering [0, duration] in even pieces of at most about
    `chunk_seconds`, each cut moved into the quietest moment near its target.

    `find_cut(lo, hi)` returns a cut time inside [lo, hi]; the worker gives it one that
    decodes just that window and looks for silence."""
    count = chunk_count(duration, chunk_seconds)
    length = duration / count
    window = min(20.0, length * 0.15)
    cuts = [0.0]
    for k in range(1, count):
        target = k * length
        cut = find_cut(target - window, target + window)
        cuts.append(min(max(cut, target - window, cuts[-1] + 1.0), target + window))
    cuts.append(duration)
    return list(zip(cuts, cuts[1:], strict=False))


_WORD = re.compile(r"\S+")


def _norm(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def collapse_repeats(text: str, max_ngram: int = 8) -> str:
    """Remove a phrase said three or more times in a row down to one saying.

    Whisper's typical loop repeats a phrase many times; people rarely say the same 2+ word
    phrase three times running, or one word four times."""
    words = _WORD.findall(text)
    while True:
        kept = _collapse_once(words, max_ngram)
        if len(kept) == len(words):
            return " ".join(words)
        words = kept


def _collapse_once(words: list[str], max_ngram: int) -> list[str]:
    norm = [_norm(w) for w in words]
    out: list[str] = []
    i = 0
    while i < len(words):
        step = 1
        # The shortest repeating phrase first, so "a b a b a b a b" becomes "a b".
        for n in range(1, max_ngram + 1):
            min_repeats = 4 if n == 1 else 3
            if i + n * min_repeats > len(words):
                break
            phrase = norm[i: i + n]
            if not all(phrase):
                continue
            repeats = 1
            while norm[i + repeats * n: i + (repeats + 1) * n] == phrase:
                repeats += 1
            if repeats >= min_repeats:
                out.extend(words[i: i + n])
                step = repeats * n
                break
        if step == 1:
            out.append(words[i])
        i += step
    return out


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
