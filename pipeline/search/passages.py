"""A talk's cues cut into the passages the search index holds, and a hit placed in time.

A passage is a run of whole cues of about PASSAGE_WORDS words. Each passage begins with the
last cue of the one before, so words that a cue break cuts in two ("…the old | lighthouse
keeper…") are whole in at least one passage. A hit is placed on the cue its first marked
word falls in, at the share of that cue's length where the word stands: cues are a few
seconds long, so the time lands on the word (issue 31 asks ±2 s).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

PASSAGE_WORDS = 120  # fewer, longer rows query faster: docs/benchmarks.md, bench-search
JOIN = " "  # between a passage's cues, in the index and in what a hit shows


@dataclass(frozen=True)
class Cue:
    start: float  # seconds in the filed recording
    end: float
    text: str


def cut_passages(cues: Sequence[Cue]) -> list[tuple[int, int]]:
    """(first, last) cue of each passage, in order; overlapping by one cue."""
    spans: list[tuple[int, int]] = []
    first = 0
    while first < len(cues):
        last, words = first, len(cues[first].text.split())
        while words < PASSAGE_WORDS and last + 1 < len(cues):
            last += 1
            words += len(cues[last].text.split())
        spans.append((first, last))
        if last + 1 >= len(cues):
            break
        first = last if last > first else last + 1
    return spans


def passage_text(cues: Sequence[Cue], first: int, last: int) -> str:
    """Exactly what the index was given for the passage (its words are taken out again with
    this same text, so it must never change for a stored format: see index.FORMAT)."""
    return JOIN.join(c.text.strip() for c in cues[first:last + 1])


def pack(cues: Sequence[Cue]) -> bytes:
    """A talk's cues for the ledger: times to the centisecond, compressed together."""
    rows = [[round(c.start, 2), round(c.end, 2), c.text] for c in cues]
    return zlib.compress(json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
                         .encode(), 9)


def unpack(blob: bytes) -> list[Cue]:
    return [Cue(float(a), float(b), str(t)) for a, b, t in json.loads(zlib.decompress(blob))]


SPOKEN_CHARS_PER_S = 14.0  # brisk speech (~2.8 words a second): a word is at most this late


def time_at(cues: Sequence[Cue], first: int, last: int, offset: int) -> float:
    """The time of the character at `offset` of passage_text(cues, first, last): its share
    of its cue's length, but no later than speech at SPOKEN_CHARS_PER_S would reach it (a
    Whisper cue often runs on through the pause after its words, and a word placed by its
    share of that would land late)."""
    at = 0
    for cue in cues[first:last + 1]:
        text = cue.text.strip()
        if offset < at + len(text) + len(JOIN) or cue is cues[last]:
            before = max(offset - at, 0)
            share = min(before / max(len(text), 1), 1.0)
            return cue.start + min(share * max(cue.end - cue.start, 0.0),
                                   before / SPOKEN_CHARS_PER_S)
        at += len(text) + len(JOIN)
    return cues[last].end if cues else 0.0
