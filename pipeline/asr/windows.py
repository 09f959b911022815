"""Whisper's decoding loop over the speech of a chunk, the same for every engine.

This is one of the two ways a chunk is heard, `speed = "lean"`'s (and the expert `streams`
and `batch_size`'s); pause_windows.py is `"fastest"`'s, and WindowedEngine below picks.

The voice activity detector finds the speech and the pauses between its stretches go: the
stretches, end to end, are the audio Whisper hears (its times are mapped back through the
pauses). It is heard as Whisper's own transcribe hears a recording: 30 s from a cursor,
then the cursor moves to where the window's finished text ends, so a sentence the window
cut off is heard again whole in the next one (Whisper was trained to leave such a sentence
to the next window, and does). Each window is decoded:

- greedily first, which is deterministic;
- a window whose text fails Whisper's usual checks (too repetitive to be speech, or too
  improbable) is decoded again down the engine's ladder of strategies, from the encoder's
  output it already has, each strategy repeatable: mlx samples at rising temperatures from
  a generator seeded by the window's place in the recording; CTranslate2 cannot be seeded
  per call (its generator belongs to its worker thread), so faster-whisper's ladder is
  deterministic (beam search, then beam search that may not repeat itself);
- when no strategy passes, the most probable attempt is kept (never the last, wildest one)
  and the log names the window's time range; the cursor still moves only as far as that
  attempt's finished text, so the windows around it keep their words.

Whisper hears log-mel frames, and their floor is set by the loudest frame: 8 (log10) below
it. Whisper's transcribe computes the frames of a whole recording once, so one floor holds
for all its windows; computed per window instead, a quieter window's floor sinks with its
own loudest frame and faint noise comes through. That cost 3.5 points of WER on the 10-min
benchmark talk (16.5 vs 13.0 %, faster-whisper tiny.en, greedy). So a stream's frames
are computed once, with one floor, and its windows are slices of them (half the size of the
samples they replace, and no frame is computed twice where windows overlap).

A chunk's speech may be split at pauses into several streams, each heard as above: a
stream's windows depend on each other (the cursor), different streams' do not. `batch_size`
streams go through the encoder and decoder together as one batch; `parallel` groups of them
are heard at the same time on threads of their own (faster-whisper gives each its own
CTranslate2 worker, with its share of the cores: see faster_whisper_engine.py). Each stream
is decoded the same whatever runs beside it, so the text does not depend on the threads'
timing.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

from pipeline.asr.base import SAMPLE_RATE, EngineSettings, Segment
from pipeline.asr.word_times import Word

WINDOW_SECONDS = 30.0
TIME_PRECISION = 0.02  # seconds per timestamp token
HOP = 160  # samples per log-mel frame (10 ms)
N_FFT = 400
WINDOW_FRAMES = round(WINDOW_SECONDS * SAMPLE_RATE) // HOP

log = logging.getLogger("talks")
T = TypeVar("T")


@dataclass(frozen=True)
class Checks:
    """Whisper's tests of a decoded window (the same numbers openai-whisper and
    faster-whisper use)."""

    compression_ratio_limit: float = 2.4  # above: too repetitive to be speech
    logprob_limit: float = -1.0  # below: too improbable
    no_speech_limit: float = 0.6  # above, with improbable text: the window holds no speech


WHISPER_CHECKS = Checks()


@dataclass(frozen=True)
class Strategy:
    """One way to decode a window: greedy (temperature 0, beam 1), sampling (temperature
    above 0, from a seeded generator) or beam search; optionally forbidding the decoder to
    repeat itself."""

    temperature: float = 0.0
    beam_size: int = 1
    no_repeat_ngram: int = 0  # 0: allowed; n: no n words-pieces twice
    repetition_penalty: float = 1.0

    def __str__(self) -> str:
        how = (f"sampling at temperature {self.temperature:.1f}" if self.temperature > 0
               else "greedy" if self.beam_size == 1 else f"beam search ({self.beam_size})")
        if self.no_repeat_ngram or self.repetition_penalty != 1.0:
            how += " without repeats"
        return how


GREEDY = Strategy()
# Whisper's own fallback: sampling, a little more freely each time.
TEMPERATURE_LADDER = (GREEDY, *(Strategy(temperature=t) for t in (0.2, 0.4, 0.6, 0.8, 1.0)))


@dataclass(frozen=True)
class Attempt:
    """One decoding of one window."""

    tokens: tuple[int, ...]  # text and timestamp tokens, without the prompt or end-of-text
    text: str
    avg_logprob: float
    no_speech_prob: float
    strategy: Strategy = GREEDY

    @property
    def compression_ratio(self) -> float:
        return compression_ratio(self.text)

    def is_silence(self, checks: Checks) -> bool:
        return (self.no_speech_prob > checks.no_speech_limit
                and self.avg_logprob < checks.logprob_limit)

    def passes(self, checks: Checks) -> bool:
        if self.is_silence(checks):
            return True
        return (self.compression_ratio <= checks.compression_ratio_limit
                and self.avg_logprob >= checks.logprob_limit)


class WindowDecoder(Protocol):
    """What an engine gives the window loop."""

    timestamp_begin: int  # the first timestamp token (<|0.00|>)
    eot: int  # end of text: tokens at or above it, below timestamp_begin, are special
    ladder: Sequence[Strategy]  # the first decoding, then the fallbacks in order

    def features(self, audio: np.ndarray) -> np.ndarray:
        """The log-mel frames of a stream's 16 kHz audio: frames × mels, float32, one frame
        per HOP samples (see stream_features)."""

    def encode(self, mels: Sequence[np.ndarray]) -> list[Any]:
        """The encoder's output for each window of ≤ WINDOW_FRAMES frames (one pass over the
        batch); a fallback decodes a window again from it without encoding it again."""

    def decode(self, encoded: Sequence[Any], strategy: Strategy, seed: int,
               timestamps: bool = True) -> list[Attempt]:
        """Decode encoded windows, with timestamps or (pause_windows.py) text only. A
        strategy that samples draws from a generator seeded by `seed` alone."""

    def word_times(self, encoded: Any, tokens: Sequence[int], frames: int) -> list[Word]:
        """The times of a window's words from the decoder's cross-attention: `encoded` is one
        window's encoder output, `tokens` its text tokens, `frames` how many of its log-mel
        frames are audio (the rest is padding)."""

    def text_of(self, tokens: Sequence[int]) -> str:
        """The text of some text tokens."""


def stream_features(audio: np.ndarray, mel_filters: np.ndarray) -> np.ndarray:
    """Whisper's log-mel frames of some audio, as its transcribe computes them for a whole
    recording (one floor for all of them), frames × mels: a view of the mels × frames matrix,
    so nothing is copied."""
    from pipeline.asr.lean_frontend import log_mel

    mel = log_mel(audio, mel_filters, N_FFT, HOP, padding=HOP)
    return mel[:, :len(audio) // HOP].T


def compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


@dataclass(frozen=True)
class Window:
    """Speech stretches (sample ranges of the chunk) laid end to end: Whisper hears them as
    one piece of audio without the pauses between them."""

    pieces: tuple[tuple[int, int], ...]

    @property
    def samples(self) -> int:
        return sum(b - a for a, b in self.pieces)

    @property
    def first(self) -> int:
        return self.pieces[0][0]

    @property
    def last(self) -> int:
        return self.pieces[-1][1]

    def after(self, seconds: float) -> Window:
        """The part of this window from `seconds` (in its own audio) to its end."""
        skip = min(max(0, round(seconds * SAMPLE_RATE)), self.samples)
        pieces, at = [], 0
        for a, b in self.pieces:
            n = b - a
            if at + n > skip:
                pieces.append((a + max(0, skip - at), b))
            at += n
        return Window(tuple(pieces))

    def first_seconds(self, seconds: float) -> Window:
        """The first `seconds` of this window's audio, as a window."""
        keep = min(max(0, round(seconds * SAMPLE_RATE)), self.samples)
        pieces, at = [], 0
        for a, b in self.pieces:
            if at >= keep:
                break
            pieces.append((a, min(b, a + keep - at)))
            at += b - a
        return Window(tuple(pieces))

    def audio(self, pcm: np.ndarray) -> np.ndarray:
        out = np.empty(self.samples, dtype=np.float32)
        at = 0
        for a, b in self.pieces:
            out[at:at + b - a] = pcm[a:b]
            at += b - a
        return out

    def chunk_time(self, seconds: float, is_end: bool = False) -> float:
        """A time in the window's audio, as seconds from the start of the chunk. A time on a
        seam between two pieces belongs to the piece before when it ends a cue."""
        target = min(max(0, round(seconds * SAMPLE_RATE)), self.samples)
        at = 0
        for a, b in self.pieces:
            n = b - a
            if target < at + n or (is_end and target == at + n):
                return (a + target - at) / SAMPLE_RATE
            at += n
        return self.last / SAMPLE_RATE


def window_seed(window: Window, chunk_offset: float, strategy: Strategy) -> int:
    """The same window of the same recording samples the same with the same strategy."""
    first = round(chunk_offset * SAMPLE_RATE) + window.first
    return zlib.crc32(f"{first}:{window.samples}:{strategy}".encode())


def best_attempt(attempts: Sequence[Attempt], checks: Checks = WHISPER_CHECKS) -> Attempt:
    """Whisper's choice when no strategy passes: the most probable of the attempts that
    are not loops, else the most probable of all."""
    not_loops = [a for a in attempts if a.compression_ratio <= checks.compression_ratio_limit]
    return max(not_loops or attempts, key=lambda a: a.avg_logprob)


def span_text(window: Window, offset: float) -> str:
    """A window's time range in the recording, as the log names it."""
    return f"{offset + window.first / SAMPLE_RATE:.2f}–{offset + window.last / SAMPLE_RATE:.2f} s"


def fall_back(decoder: WindowDecoder, window: Window, features: Any, offset: float,
              first_try: Attempt, checks: Checks, timestamps: bool = True) -> Attempt:
    """A window decoded again down the engine's ladder, from its encoder output, until an
    attempt passes Whisper's checks; else the most probable attempt (best_attempt)."""
    attempts = [first_try]
    for strategy in decoder.ladder[1:]:
        seed = window_seed(window, offset, strategy)
        attempt = decoder.decode([features], strategy, seed, timestamps=timestamps)[0]
        if attempt.passes(checks):
            log.info("window %s: decoded again (%s) after %s", span_text(window, offset),
                     strategy, _why(first_try, checks))
            return attempt
        attempts.append(attempt)
    best = best_attempt(attempts, checks)
    log.warning("window %s: no decoding passed Whisper's checks (%s); kept the most probable "
                "one (%s, log-probability %.2f, compression %.2f)", span_text(window, offset),
                _why(first_try, checks), best.strategy, best.avg_logprob,
                best.compression_ratio)
    return best


def _why(attempt: Attempt, checks: Checks) -> str:
    if attempt.compression_ratio > checks.compression_ratio_limit:
        return f"repetitive text, compression {attempt.compression_ratio:.2f}"
    return f"improbable text, log-probability {attempt.avg_logprob:.2f}"


def split_for_seek(tokens: Sequence[int], timestamp_begin: int, eot: int,
                   window_seconds: float) -> tuple[list[tuple[float, float, list[int]]], float]:
    """Whisper's reading of one window of a stream: the finished pieces, and how far to
    move on. Pieces end where a timestamp is followed by another (a pair) or where the
    output ends with a timestamp after text; text after the last such place is unfinished:
    it is left out and the window after starts at that place, so it is heard again whole."""
    times = [i for i, t in enumerate(tokens) if t >= timestamp_begin]
    at = [(t - timestamp_begin) * TIME_PRECISION for t in tokens]
    pairs = [i for i in times[1:] if tokens[i - 1] >= timestamp_begin]
    ends_closed = len(tokens) >= 2 and tokens[-1] >= timestamp_begin > tokens[-2]
    if not pairs:
        # One piece: the window's text up to its last timestamp (or all of it).
        end = at[times[-1]] if times and at[times[-1]] > 0 else window_seconds
        text = [t for t in tokens if t < eot]
        return ([(0.0, min(end, window_seconds), text)] if text else []), window_seconds
    cuts = [*pairs, len(tokens)] if ends_closed else pairs
    pieces, last = [], 0
    for cut in cuts:
        part = tokens[last:cut]
        stamps = [t for t in part if t >= timestamp_begin]
        text = [t for t in part if t < eot]
        if stamps and text:
            start = (stamps[0] - timestamp_begin) * TIME_PRECISION
            end = (stamps[-1] - timestamp_begin) * TIME_PRECISION
            pieces.append((min(start, window_seconds), min(end, window_seconds), text))
        last = cut
    if ends_closed:
        return pieces, window_seconds
    moved = at[pairs[-1] - 1]  # the timestamp that closed the last finished piece
    return pieces, moved if moved > 0 else window_seconds


@dataclass
class Stream:
    """Speech stretches of a chunk laid end to end, heard from a cursor."""

    speech: Window
    mel: np.ndarray  # the log-mel frames of the stretches' samples end to end (frames × mels)
    seek: int = 0  # frames already heard
    segments: list[Segment] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.seek >= len(self.mel)

    def next_window(self) -> tuple[Window, np.ndarray]:
        piece = self.mel[self.seek:self.seek + WINDOW_FRAMES]
        window = self.speech.after(self.seek * HOP / SAMPLE_RATE).first_seconds(
            len(piece) * HOP / SAMPLE_RATE)
        return window, piece

    def take(self, window: Window, attempt: Attempt, decoder: WindowDecoder, offset: float,
             checks: Checks) -> None:
        """Keep the window's finished text and move the cursor past it."""
        frames = window.samples // HOP
        seconds = frames * HOP / SAMPLE_RATE
        if attempt.is_silence(checks):
            self.seek += frames
            return
        pieces, moved = split_for_seek(attempt.tokens, decoder.timestamp_begin, decoder.eot,
                                       seconds)
        for start, end, text_tokens in pieces:
            text = decoder.text_of(text_tokens).strip()
            if text:
                self.segments.append(Segment(offset + window.chunk_time(start),
                                             offset + window.chunk_time(end, is_end=True),
                                             text))
        self.seek += max(1, round(moved * SAMPLE_RATE / HOP))


# A stream may be this share of an equal share longer or shorter. The two streams of a chunk
# run side by side and the longer one ends alone, on one core: at 0.2 the longer held 9 %
# more than the mean on average (17 % at most) in the eight 10-min benchmark talks' chunks,
# at 0.1 5 % (10 %). The 14 chunks of those talks and of the 60-min one where the cut moves
# took 4.7 % less time (122.1 s against 128.1 s) and the 8 talks' WER stayed the same
# (15.89 % against 15.92 %, 10,975 words). The pauses cut in stay as long (median 0.85 s
# against 0.86 s); at 0.05 a real meeting's chunk would be cut in a 0.03 s gap
# (benchmarks/speed_levers.md).
SPLIT_SLACK = 0.1
# A chunk's speech is split into streams only where each gets two windows' worth: a stream
# of a few seconds is one short window heard without its neighbours (on a 14 s clip cut in
# two, 5 of 22 words wrong against 0 more than Whisper's own loop in one piece).
MIN_STREAM_SECONDS = 2 * WINDOW_SECONDS


def streams_of(pcm: np.ndarray, stretches: Sequence[tuple[int, int]],
               features: Callable[[np.ndarray], np.ndarray], count: int = 1,
               min_seconds: float = 0.0) -> list[Stream]:
    """The chunk's speech as `count` streams of about equal length, each holding its own
    log-mel frames (`features` of its samples): the chunk's samples can go.

    Streams are cut between stretches, in the longest pause the detector found within
    SPLIT_SLACK of an equal share: a long pause is likelier to end a sentence than a short
    one, and a stream's first window starts fresh (on eight 10-min benchmark talks, cut at
    the pause nearest an equal share instead: 0.7 points more WER on average). No stream
    gets less than `min_seconds` of speech: fewer streams then."""
    stretches = list(stretches)
    if min_seconds > 0:
        speech = sum(b - a for a, b in stretches) / SAMPLE_RATE
        count = min(count, int(speech // min_seconds))
    count = max(1, min(count, len(stretches)))
    before = np.concatenate(([0], np.cumsum([b - a for a, b in stretches])))  # speech before i
    cuts: list[int] = []
    for k in range(1, count):
        target, slack = k * before[-1] / count, SPLIT_SLACK * before[-1] / count
        # Cut i: between stretch i-1 and stretch i, after the cut before it, and leaving a
        # stretch for each stream still to come.
        possible = range((cuts[-1] if cuts else 0) + 1, len(stretches) - (count - 1 - k))
        near = [i for i in possible if abs(before[i] - target) <= slack]
        if near:
            cuts.append(max(near, key=lambda i: stretches[i][0] - stretches[i - 1][1]))
        else:
            cuts.append(min(possible, key=lambda i: abs(before[i] - target)))
    bounds = [0, *cuts, len(stretches)]
    groups = [stretches[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    assert sum(len(g) for g in groups) == len(stretches)
    return [Stream(Window(tuple(g)), features(Window(tuple(g)).audio(pcm)))
            for g in groups if g]


def speech_streams(pcm: np.ndarray, features: Callable[[np.ndarray], np.ndarray],
                   count: int = 1, min_seconds: float = 0.0) -> list[Stream]:
    """Where the VAD hears speech in a chunk, as streams (see streams_of)."""
    from pipeline.asr.lean_frontend import speech_stretches

    return streams_of(pcm, speech_stretches(pcm), features, count, min_seconds)


def decode_streams(decoder: WindowDecoder, streams: Sequence[Stream], offset: float,
                   checks: Checks = WHISPER_CHECKS,
                   on_window: Callable[[Window, Attempt], None] | None = None,
                   parallel: int = 1) -> list[Segment]:
    """The segments of a chunk's speech, in order, times in seconds from the start of the
    recording (`offset` is where the chunk starts). The streams are dealt into `parallel`
    groups of neighbouring streams, each heard on a thread of its own (the decoder must
    take calls from several threads at once); a group's next windows are decoded side by
    side until each of its streams has been heard to its end."""
    groups = neighbour_runs(list(streams), parallel)
    if len(groups) <= 1:
        for group in groups:
            _decode_group(decoder, group, offset, checks, on_window)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(groups), thread_name_prefix="talks-stream") as pool:
            for done in [pool.submit(_decode_group, decoder, g, offset, checks, on_window)
                         for g in groups]:
                done.result()  # a failure in any group is the chunk's failure
    return sorted((seg for s in streams for seg in s.segments), key=lambda seg: seg.start)


def neighbour_runs(items: list[T], parallel: int) -> list[list[T]]:
    """`parallel` runs of neighbouring items (streams, or windows), as even in count as they
    can be."""
    count = max(1, min(parallel, len(items)))
    size, extra = divmod(len(items), count)
    groups, at = [], 0
    for k in range(count):
        n = size + (1 if k < extra else 0)
        groups.append(items[at:at + n])
        at += n
    return [g for g in groups if g]


def _decode_group(decoder: WindowDecoder, streams: Sequence[Stream], offset: float,
                  checks: Checks, on_window: Callable[[Window, Attempt], None] | None) -> None:
    while active := [s for s in streams if not s.done]:
        views = [s.next_window() for s in active]
        encoded = decoder.encode([piece for _, piece in views])
        first_try = decoder.decode(encoded, decoder.ladder[0], 0)
        for stream, (window, _), features, attempt in zip(active, views, encoded, first_try,
                                                          strict=True):
            chosen = attempt
            if not attempt.passes(checks):
                chosen = fall_back(decoder, window, features, offset, attempt, checks)
            if on_window is not None:
                on_window(window, chosen)
            stream.take(window, chosen, decoder, offset, checks)
        del encoded, views


def chunk_streams(decoder: WindowDecoder, pcm: np.ndarray, offset: float, batch_size: int,
                  parallel: int = 1) -> tuple[list[Stream], list[tuple[float, float]]]:
    """A chunk's speech as an engine hears it, `batch_size` × `parallel` streams (decode
    them with decode_streams), and where the VAD heard speech (seconds from the start of the
    recording), for the compact copy (pipeline/filing/compact.py). The engine drops its chunk after
    this: the streams hold all of the speech, and the chunk's samples (19 MB for 5 min) would
    otherwise stay through every window's decoding."""
    streams = speech_streams(pcm, decoder.features, batch_size * parallel,
                             MIN_STREAM_SECONDS)
    speech = [(offset + a / SAMPLE_RATE, offset + b / SAMPLE_RATE)
              for stream in streams for a, b in stream.speech.pieces]
    return streams, speech


class WindowedEngine:
    """What both engines share: a chunk heard through this module's loop, or windows at
    pauses (pause_windows.py) when settings.windows says so. An engine sets `settings` and
    `parallel` (stream groups, or runs of windows, heard at once), and `_windows` in
    `load`."""

    settings: EngineSettings
    parallel: int = 1
    _windows: WindowDecoder | None = None
    last_speech: list[tuple[float, float]]

    def load(self) -> None:
        raise NotImplementedError

    def transcribe(self, pcm: np.ndarray, offset: float) -> list[Segment]:
        self.load()
        assert self._windows is not None
        if self.settings.windows == "pauses":
            from pipeline.asr.pause_windows import decode_paused, paused_speech

            speech = paused_speech(pcm, self._windows.features)
            del pcm  # the windows' frames hold all of the speech from here
            self.last_speech = [(offset + a / SAMPLE_RATE, offset + b / SAMPLE_RATE)
                                for w in speech.windows for a, b in w.pieces]
            return decode_paused(self._windows, speech, offset, self.settings.batch_size,
                                 self.parallel)
        streams, self.last_speech = chunk_streams(
            self._windows, pcm, offset, self.settings.batch_size, self.parallel)
        del pcm  # the caller kept no reference: only the streams' speech is held from here
        return decode_streams(self._windows, streams, offset, parallel=self.parallel)
