"""Word times from a window's alignment, and cues made of words.

A window decoded without timestamps (pipeline/asr/pause_windows.py) gives its text whole; the
times come after, from the decoder's cross-attention over the encoder's frames: a path that
pairs each text token with the encoder position it attends to (CTranslate2's `align`, or
pipeline/asr/alignment.py for mlx). A token's time is where the path first reaches it; a word
runs from its first token's time to the next word's first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.asr.base import Segment

ENCODER_POSITIONS_PER_SECOND = 50  # Whisper's encoder: 100 mel frames a second, stride 2
CUE_SECONDS = 7.0  # a cue is cut before the word that would make it longer
SENTENCE_CUE_SECONDS = 1.5  # a sentence's end closes a cue at least this long
# A cue never runs over this long without a word: in a window cut at pauses such a stretch is
# speech the decoding left out, heard again on its own (pause_windows.unheard), and the cues
# of that second hearing must fall between the cues around it, not inside one of them.
WORDLESS_S = 3.0
MEDIAN_WORD_CAP_S = 0.7


@dataclass(frozen=True)
class Word:
    start: float  # seconds from the start of the window's audio (its pauses left out)
    end: float
    text: str  # as the tokenizer spells it, with its leading space


def words_from_path(tokenizer: Any, tokens: Sequence[int],
                    path: Sequence[tuple[int, int]]) -> list[Word]:
    """The words of `tokens` (text tokens of one window) with their times, from an alignment
    path of (token index, encoder position) pairs over the tokens and then the end of text.
    `tokenizer` is Whisper's (faster-whisper's or mlx-whisper's: both split words the same)."""
    words, word_tokens = tokenizer.split_to_word_tokens([*tokens, tokenizer.eot])
    if len(word_tokens) <= 1 or not path:
        return []
    reached: dict[int, int] = {}
    for token_index, position in path:
        reached.setdefault(int(token_index), int(position))
    # A token the path skipped takes the time of the one before it.
    times, last = [], 0
    for k in range(len(tokens) + 1):
        last = reached.get(k, last)
        times.append(last / ENCODER_POSITIONS_PER_SECOND)
    out, first = [], 0
    for text, pieces in zip(words[:-1], word_tokens[:-1], strict=True):  # last: end of text
        after = min(first + len(pieces), len(times) - 1)
        out.append(Word(times[first], max(times[first], times[after]), text))
        first += len(pieces)
    return _without_pauses(out)


def _without_pauses(words: list[Word]) -> list[Word]:
    """A word's end is where the next word starts, so a pause after it counts as the word:
    a cue would then hold the pause, and the speaker stage, which samples voices from the
    cues' time, would take silence for speech. As Whisper's own word timestamps do, a word
    is held to twice the median word's length (that median taken as at most 0.7 s): from its
    start, or, for a sentence's first word, back from its end, since the pause before a
    sentence (and the VAD's padding before a window's speech) is where the path lingers."""
    lengths = sorted(w.end - w.start for w in words if w.end > w.start)
    if not lengths:
        return words
    longest = 2 * min(MEDIAN_WORD_CAP_S, lengths[len(lengths) // 2])
    out = []
    for k, w in enumerate(words):
        opens = k == 0 or words[k - 1].text.rstrip().endswith((".", "?", "!"))
        if w.end - w.start <= longest:
            out.append(w)
        elif opens:
            out.append(Word(w.end - longest, w.end, w.text))
        else:
            out.append(Word(w.start, w.start + longest, w.text))
    return out


def cues_of(words: Sequence[Word], to_chunk: Callable[[float, bool], float], offset: float,
            limit: float = CUE_SECONDS) -> list[Segment]:
    """Cues of at most `limit` seconds of the window's audio: closed at a sentence's end once
    they hold SENTENCE_CUE_SECONDS, otherwise before the word that would overrun or after
    WORDLESS_S without a word. `to_chunk` maps a time in the window's audio to seconds from
    the chunk's start (Window.chunk_time); `offset` is where the chunk starts in the
    recording."""
    cues: list[Segment] = []
    held: list[Word] = []

    def close() -> None:
        text = "".join(w.text for w in held).strip()
        if text:
            cues.append(Segment(offset + to_chunk(held[0].start, False),
                                offset + to_chunk(held[-1].end, True), text))
        held.clear()

    for word in words:
        if held and (word.end - held[0].start > limit or word.start - held[-1].end >= WORDLESS_S):
            close()
        held.append(word)
        if (word.text.rstrip().endswith((".", "?", "!"))
                and word.end - held[0].start >= SENTENCE_CUE_SECONDS):
            close()
    close()
    return cues
