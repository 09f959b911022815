"""The second way to hear a chunk: windows cut at pauses, decoded in batches without timestamps.

windows.py hears a chunk's speech from a cursor: each window's place depends on where the one
before it ended, so windows follow one another. Here the VAD's pieces of speech (cut at every
pause of 0.3 s or more) are packed, neighbours together, into windows of up to 30 s of speech,
each ending at a pause the VAD heard: at a long one (0.8 s or more, where audio is left out)
unless that leaves the window well short of full (see pause_windows). Such windows do not
depend on each other, so `batch_size` of them go through the decoder at once (the encoder
still takes one at a time: its attention is the largest thing a worker holds, and a batch
there gained no time, benchmarks/batched_prototype.md).

Each window's text is taken whole, so it is decoded without timestamps: with timestamps,
Whisper leaves a sentence that runs to the window's end for the next window (it was trained
to), and with no cursor to hear it again those words were lost (WER 23 % against 16 %,
benchmarks/speed_levers.md). Cue times come from the decoder's cross-attention over the
window's frames instead (the engine's `word_times`, one window at a time: a batch's
attention weighs ~25 MB a window), and cues are made of words (word_times.py).

What stays the same as the cursor loop: one log-mel floor for the chunk's speech (windows are
slices of its frames), Whisper's checks on each window and the engine's ladder of fallbacks
(greedy, then repeatable strategies), and the text of a window whatever it is batched with.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.asr.base import SAMPLE_RATE, Segment
from pipeline.asr.windows import (
    HOP,
    WHISPER_CHECKS,
    WINDOW_SECONDS,
    Attempt,
    Checks,
    Window,
    WindowDecoder,
    fall_back,
    neighbour_runs,
    span_text,
)
from pipeline.asr.word_times import WORDLESS_S, Word, cues_of

log = logging.getLogger("talks")

# A window's speech, in samples: one frame short of 30 s, so its frames never reach the
# encoder's 3000 (Whisper pads a window to exactly that).
WINDOW_LIMIT = round(WINDOW_SECONDS * SAMPLE_RATE) - HOP
# A stretch of a window this long with no words is heard again on its own (see unheard), at
# most MAX_REHEARINGS times a window: a window holds pauses under 0.8 s and 0.4 s of the VAD's
# padding at the ends of its runs, so 3 s without a word is speech the decoding left out.
UNHEARD_S = WORDLESS_S  # and a cue never spans such a stretch (word_times.cues_of)
MAX_REHEARINGS = 4
# Where a window may end: a pause of at least SHORT_PAUSE_S (the VAD's pieces), best at one of
# 0.8 s or more (where the VAD's padding leaves audio out, between runs of pieces). A window
# that already holds FULL_ENOUGH of the limit ends at such a long pause rather than cut a run.
SHORT_PAUSE_S = 0.3
FULL_ENOUGH = 0.8
MEET = SAMPLE_RATE // 10  # pieces this close are one run (the padding meets in a pause's middle)


def pause_windows(pieces: Sequence[tuple[int, int]],
                  limit: int = WINDOW_LIMIT) -> list[Window]:
    """The VAD's pieces of speech, cut at every pause of SHORT_PAUSE_S or more, packed in order
    into windows of at most `limit` samples of speech (the pauses between them are not heard,
    so they do not count).

    Pieces that meet (a pause under 0.8 s: the VAD's padding joins them) make a run, about a
    sentence or more. A window takes whole runs while they fit; one that does not fit ends
    the window there when the window is already FULL_ENOUGH, and otherwise the window takes
    as many of its pieces as fit first (so it ends at a shorter pause, not at a sentence's
    end). Windows filled this way are fewer: real speech at long pauses alone filled them to
    ~21 s on average, each costing a whole 30-s pass of the encoder. A piece longer than the
    limit (the VAD was asked to split them, so only by its padding) is cut into pieces of it.
    """
    windows: list[list[tuple[int, int]]] = [[]]
    held = 0

    def close() -> None:
        nonlocal held
        if windows[-1]:
            windows.append([])
        held = 0

    for run in _runs(pieces, limit):
        size = run[-1][1] - run[0][0]
        if held + size > limit and held >= FULL_ENOUGH * limit:
            close()
        while run:
            # The most of the run's pieces that fit in what is left of this window.
            fits = 0
            while fits < len(run) and run[fits][1] - run[0][0] <= limit - held:
                fits += 1
            if fits == 0:
                close()
                continue
            windows[-1].append((run[0][0], run[fits - 1][1]))
            held += run[fits - 1][1] - run[0][0]
            run = run[fits:]
            if run:
                close()
    return [Window(tuple(w)) for w in windows if w]


def _runs(pieces: Sequence[tuple[int, int]], limit: int) -> list[list[tuple[int, int]]]:
    """Pieces that meet (within MEET samples) as runs; a piece over `limit` cut into pieces
    of it first."""
    runs: list[list[tuple[int, int]]] = []
    for a, b in pieces:
        cut = [(x, min(b, x + limit)) for x in range(a, b, limit)]
        for piece in cut:
            if runs and piece[0] - runs[-1][-1][1] <= MEET:
                runs[-1].append(piece)
            else:
                runs.append([piece])
    return runs


@dataclass
class PausedSpeech:
    """A chunk's speech as windows cut at pauses, with the log-mel frames of all of it."""

    windows: list[Window]
    mel: np.ndarray  # frames × mels of the windows' samples end to end, one floor
    spans: list[tuple[int, int]]  # each window's rows of `mel`

    def frames(self, k: int) -> np.ndarray:
        a, b = self.spans[k]
        return self.mel[a:b]


def paused_speech(pcm: np.ndarray, features: Callable[[np.ndarray], np.ndarray]
                  ) -> PausedSpeech:
    """Where the VAD hears speech in a chunk, as windows cut at its pauses (see module doc).
    The frames are computed once over all the speech, so every window has the same floor."""
    from pipeline.asr.lean_frontend import speech_stretches

    pieces = speech_stretches(pcm, max_speech_s=WINDOW_SECONDS, min_pause_s=SHORT_PAUSE_S)
    windows = pause_windows(pieces)
    if not windows:
        return PausedSpeech([], np.zeros((0, 0), np.float32), [])
    all_speech = Window(tuple(p for w in windows for p in w.pieces))
    mel = features(all_speech.audio(pcm))
    spans, before = [], 0
    for w in windows:
        after = before + w.samples
        spans.append((min(before // HOP, len(mel)), min(after // HOP, len(mel))))
        before = after
    return PausedSpeech(windows, mel, spans)


def decode_paused(decoder: WindowDecoder, speech: PausedSpeech, offset: float,
                  batch_size: int, parallel: int = 1, checks: Checks = WHISPER_CHECKS,
                  on_window: Callable[[Window, Attempt], None] | None = None
                  ) -> list[Segment]:
    """The cues of a chunk's speech, in order, times from the recording's start (`offset`:
    where the chunk starts). The windows are dealt into `parallel` runs of neighbours, each
    heard on a thread of its own, `batch_size` windows through the decoder at a time."""
    order = list(range(len(speech.windows)))
    groups = neighbour_runs(order, parallel)
    found: dict[int, list[Segment]] = {}

    def hear(group: list[int]) -> None:
        for first in range(0, len(group), max(1, batch_size)):
            batch = group[first:first + max(1, batch_size)]
            found.update(_decode_batch(decoder, speech, batch, offset, checks, on_window))

    if len(groups) <= 1:
        hear(order)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(groups), thread_name_prefix="talks-windows") as pool:
            for done in [pool.submit(hear, g) for g in groups]:
                done.result()  # a failure in any group is the chunk's failure
    return [cue for k in order for cue in found.get(k, [])]


def _decode_batch(decoder: WindowDecoder, speech: PausedSpeech, batch: list[int],
                  offset: float, checks: Checks,
                  on_window: Callable[[Window, Attempt], None] | None
                  ) -> dict[int, list[Segment]]:
    encoded = decoder.encode([speech.frames(k) for k in batch])
    first_try = decoder.decode(encoded, decoder.ladder[0], 0, timestamps=False)
    out: dict[int, list[Segment]] = {}
    for k, features, attempt in zip(batch, encoded, first_try, strict=True):
        out[k] = _hear(decoder, speech.windows[k], speech.frames(k), features, attempt,
                       offset, checks, on_window)
    return out


def _hear(decoder: WindowDecoder, window: Window, frames: np.ndarray, features: object,
          attempt: Attempt | None, offset: float, checks: Checks,
          on_window: Callable[[Window, Attempt], None] | None) -> list[Segment]:
    """One window's cues from its first decoding, and any long stretch of its audio that
    the text left out (see unheard) heard again on its own, MAX_REHEARINGS at most."""
    cues: list[Segment] = []
    todo: list[tuple[Window, np.ndarray, object, Attempt | None]] = [
        (window, frames, features, attempt)]
    heard = 0
    while todo and heard <= MAX_REHEARINGS:
        window, frames, features, attempt = todo.pop(0)
        if attempt is None:  # a stretch left out: through the encoder on its own
            features = decoder.encode([frames])[0]
            attempt = decoder.decode([features], decoder.ladder[0], 0, timestamps=False)[0]
        heard += 1
        if not attempt.passes(checks):
            attempt = fall_back(decoder, window, features, offset, attempt, checks,
                                timestamps=False)
        if on_window is not None:
            on_window(window, attempt)
        tokens = [t for t in attempt.tokens if t < decoder.eot]
        if attempt.is_silence(checks) or not tokens:
            continue
        seconds = window.samples / SAMPLE_RATE
        words = decoder.word_times(features, tokens, len(frames))
        if not words:  # no alignment (it found no path): the text as one cue, not lost
            log.info("window %s: no word times; its text is one cue", span_text(window, offset))
            cues.append(Segment(offset + window.chunk_time(0.0),
                                offset + window.chunk_time(seconds, True),
                                decoder.text_of(tokens).strip()))
            continue
        cues += cues_of(words, window.chunk_time, offset)
        for a, b in unheard(words, seconds):
            part = window.after(a).first_seconds(b - a)
            rows = frames[round(a * SAMPLE_RATE / HOP):round(b * SAMPLE_RATE / HOP)]
            if part.samples >= HOP and len(rows):
                log.info("window %s: %.1f s of it has no words; heard again",
                         span_text(window, offset), b - a)
                todo.append((part, rows, None, None))
    return sorted(cues, key=lambda cue: cue.start)


def unheard(words: list[Word], seconds: float) -> list[tuple[float, float]]:
    """Stretches of a window's audio (seconds in it) of at least UNHEARD_S that none of its
    words covers: at its start, between two words, or after the last. A window ends at
    pauses and holds speech throughout (the VAD left out pauses over 0.8 s), so such a
    stretch is speech the decoding left out: a fallback that may not repeat itself where the
    speech does repeat, or a model that ended early. With no cursor to hear it in the next
    window, it is heard again here."""
    edges = [0.0, *(t for w in words for t in (w.start, w.end)), seconds]
    return [(a, b) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= UNHEARD_S]

