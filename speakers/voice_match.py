"""Who is speaking: a few samples spread over the talk, scored against every enrolled person.

Samples are taken from speech only: the transcription's VAD already found where people speak,
so music before a talk, applause and long silences never become a voice sample. Each sample
is made of the speech pieces that fill `sample_seconds`, wherever they lie.

The decision keeps its evidence. The talk's voice is the person most samples put first, and
everyone is scored over the samples that hear that voice: a host's introduction or the
questions after a talk fill a sample or two with other voices, and a mean over every sample
let them pull the speaker under the threshold (on real voices, of 78 talks with an
introduction in the first of five samples and questions in the last, 6 were filed under
their speaker that way and 75 are now, none under a wrong name: make bench-speakers). It is a
**match** only when that person clears the threshold, beats the runner-up by a margin, and
most samples agree; **unknown** when nobody comes close; **review** in between, so the
program says it is unsure instead of guessing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # numpy is imported where it is used: the batch and the app never
    import numpy as np  # load it (~15 MB), only the workers that do the audio work

from speakers.calibration import Calibrated, suggest
from speakers.decisions import SpeakerDecision
from speakers.embedding import Embedder, unit
from speakers.library import Person

CLIP_SECONDS_READ = 90.0  # enrolled clips are short; never read more of one than this


def plan_samples(duration: float, count: int, length: float, skip_start: float,
                 skip_end: float) -> list[tuple[float, float]]:
    """(start, length) of up to `count` samples spread evenly over the talk, past the intro
    and before the outro. Short files shrink the skips (to a tenth of the file each). When
    there is too little for `count` samples of `length`, fewer samples share all of it, back
    to back (each between `length` and twice that): a short talk's voice is heard whole, not
    in a few windows with gaps between them. There is always at least one sample."""
    if duration <= 0:
        return []
    lo = min(skip_start, duration * 0.1)
    hi = duration - min(skip_end, duration * 0.1)
    usable = hi - lo
    if usable <= length:
        return [(lo, max(usable, min(length, duration)))]
    if usable < count * length:
        shared = max(1, int(usable // length))
        size = usable / shared
        return [(lo + i * size, size) for i in range(shared)]
    if count == 1:
        return [(lo + (usable - length) / 2, length)]
    step = (usable - length) / (count - 1)
    return [(lo + i * step, length) for i in range(count)]


Span = tuple[float, float]  # (start, length) in seconds of the recording
SPEECH_GAP_S = 0.3  # speech pieces closer than this are one piece
MIN_SPEECH_S = 1.0  # with less known speech than this, samples are spread over the whole file


def speech_spans(segments: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """(start, end) of speech, merged and in time order, from transcript segments."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted((float(a), float(b)) for a, b in segments if b > a):
        if merged and start - merged[-1][1] <= SPEECH_GAP_S:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def plan_speech_samples(speech: Sequence[tuple[float, float]], duration: float, count: int,
                        length: float, skip_start: float, skip_end: float) -> list[list[Span]]:
    """Up to `count` samples of `length` seconds of speech each, spread evenly over the speech
    between the intro and the outro (the skips shrink for short files as in `plan_samples`).
    Each sample is the list of (start, length) pieces of the recording it is made of. Without
    enough known speech (no transcript, or a silent one) the samples are plain ranges of the
    file, as `plan_samples` places them."""
    if duration <= 0:
        return []
    lo = min(skip_start, duration * 0.1)
    hi = duration - min(skip_end, duration * 0.1)
    kept = [(max(a, lo), min(b, hi)) for a, b in speech if min(b, hi) > max(a, lo)]
    if sum(b - a for a, b in kept) < MIN_SPEECH_S:
        kept = list(speech)  # a short file whose speech sits in its first or last tenth
    total = sum(b - a for a, b in kept)
    if total < MIN_SPEECH_S:
        return [[span] for span in plan_samples(duration, count, length, skip_start, skip_end)]
    samples = []
    for start, size in plan_samples(total, count, length, 0.0, 0.0):
        samples.append(_pieces_at(kept, start, size))
    return samples


def _pieces_at(spans: Sequence[tuple[float, float]], offset: float, size: float) -> list[Span]:
    """The pieces of the recording that hold speech-time [offset, offset + size)."""
    pieces: list[Span] = []
    passed = 0.0
    for a, b in spans:
        span = b - a
        if passed + span > offset and size > 0:
            begin = a + max(0.0, offset - passed)
            take = min(b - begin, size)
            if take > 0:
                pieces.append((begin, take))
                size -= take
                offset += take
        passed += span
        if size <= 1e-9:
            break
    return pieces


def centroid(vectors: Sequence[np.ndarray]) -> np.ndarray:
    import numpy as np
    return unit(np.mean(np.stack(vectors), axis=0))


def score_sample(sample: np.ndarray, enrolled: Mapping[str, Sequence[np.ndarray]],
                 method: str) -> dict[str, float]:
    """Cosine of one sample with each person: against the mean of their clips (centroid) or
    their closest clip (best_clip)."""
    import numpy as np
    scores = {}
    for name, vectors in enrolled.items():
        if method == "centroid":
            scores[name] = float(np.dot(sample, centroid(vectors)))
        else:
            scores[name] = float(max(np.dot(sample, v) for v in vectors))
    return scores


@dataclass(frozen=True)
class Rules:
    threshold: float
    unknown_below: float
    margin: float
    min_agreement: float


@dataclass(frozen=True)
class Decision:
    kind: SpeakerDecision  # match, unknown or review
    speaker: str | None
    candidates: list[tuple[str, float]]  # everyone, best first, by mean score over the
    # samples that hear the talk's voice (see main_voice)
    agreement: float  # share of samples whose best person is the talk's voice
    reason: str
    samples: list[tuple[float, float]] = field(default_factory=list)

    def evidence(self) -> dict:
        return {"kind": self.kind, "speaker": self.speaker, "reason": self.reason,
                "agreement": round(self.agreement, 3),
                "candidates": [[n, round(s, 4)] for n, s in self.candidates],
                "samples": [[round(a, 2), round(b, 2)] for a, b in self.samples]}


def main_voice(per_sample: Sequence[Mapping[str, float]]
               ) -> tuple[list[tuple[str, float]], float]:
    """Everyone ranked by their mean score over the samples that hear the talk's voice, and
    the share of samples that do. The talk's voice is the person first in most samples (a tie
    goes to the higher mean over all samples); the samples where someone else comes first
    (an introduction, questions, a reading) are left out of every mean, so each person is
    scored on the same samples and the talk's voice always ranks first."""
    import numpy as np
    firsts = [max(s, key=s.get) for s in per_sample]  # type: ignore[arg-type]
    tops = Counter(firsts)
    overall = {n: float(np.mean([s[n] for s in per_sample])) for n in per_sample[0]}
    voice = max(tops, key=lambda n: (tops[n], overall[n]))
    heard = [s for s, first in zip(per_sample, firsts, strict=True) if first == voice]
    means = {n: float(np.mean([s[n] for s in heard])) for n in per_sample[0]}
    return sorted(means.items(), key=lambda kv: kv[1], reverse=True), len(heard) / len(firsts)


def decide(per_sample: Sequence[Mapping[str, float]], rules: Rules) -> Decision:
    if not per_sample:
        return Decision(SpeakerDecision.UNKNOWN, None, [], 0.0,
                        "no voice sample could be taken from the talk")
    if not per_sample[0]:
        return Decision(SpeakerDecision.UNKNOWN, None, [], 0.0,
                        "no enrolled speakers to compare with")
    ranked, agreement = main_voice(per_sample)
    best, best_score = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else -1.0
    if best_score < rules.unknown_below:
        return Decision(SpeakerDecision.UNKNOWN, None, ranked, agreement,
                        f"best score {best_score:.3f} is below {rules.unknown_below}")
    problems = []
    if best_score < rules.threshold:
        problems.append(f"best score {best_score:.3f} is under the threshold {rules.threshold}")
    if best_score - runner_up < rules.margin:
        problems.append(f"{ranked[1][0]} is within {rules.margin} ({runner_up:.3f})")
    if agreement < rules.min_agreement:
        problems.append(f"only {agreement:.0%} of samples agree")
    if problems:
        return Decision(SpeakerDecision.REVIEW, None, ranked, agreement, "; ".join(problems))
    return Decision(SpeakerDecision.MATCH, best, ranked, agreement,
                    f"{best_score:.3f}, {best_score - runner_up:+.3f} over the next, "
                    f"{agreement:.0%} of samples agree")


class EmbeddingCache(Protocol):
    """Where clip embeddings are kept between runs (the ledger is one), keyed by the clip's
    content and the backend, so a changed clip or another model never reuses a vector."""

    def hash_of(self, path: Path) -> str: ...

    def cached_embedding(self, digest: str, backend: str) -> np.ndarray | None: ...

    def store_embedding(self, digest: str, backend: str, vector: np.ndarray) -> None: ...

    def drop_embeddings(self, backend: str, keep: set[str]) -> int: ...


def enrolled_embeddings(people: Sequence[Person], embedder: Embedder, ledger: EmbeddingCache,
                        read_clip: Callable[[Path], np.ndarray],
                        unreadable: list[Path] | None = None) -> tuple[
                            dict[str, list[np.ndarray]], int]:
    """Each person's clip vectors, from the ledger's cache (keyed by clip content and backend)
    or embedded now and cached. Vectors of clips no longer in the library are dropped.
    Returns the vectors and how many clips had to be embedded.

    A clip that is not audio (or holds none) is left out and added to `unreadable`: one bad
    file in the library must not stop every talk from being identified."""
    from common.media import MediaError

    vectors: dict[str, list[np.ndarray]] = {}
    present: set[str] = set()
    embedded = 0
    for person in people:
        for clip in person.clips:
            digest = ledger.hash_of(clip)
            present.add(digest)
            cached = ledger.cached_embedding(digest, embedder.cache_key)
            if cached is None:
                try:
                    audio = read_clip(clip)
                except MediaError:
                    audio = None
                if audio is None or len(audio) == 0:
                    if unreadable is not None:
                        unreadable.append(clip)
                    continue
                cached = unit(embedder.embed(audio))
                ledger.store_embedding(digest, embedder.cache_key, cached)
                embedded += 1
            vectors.setdefault(person.name, []).append(unit(cached))
    ledger.drop_embeddings(embedder.cache_key, keep=present)
    return vectors, embedded


@dataclass(frozen=True)
class ClipCheck:
    person: str
    clip: int  # index into the person's clips
    own: float  # with their own person, the clip left out
    best_other: str | None
    other: float  # with the closest other person


@dataclass(frozen=True)
class CheckReport:
    """Leave-one-out over the library: how well each clip finds its own person."""
    clips: list[ClipCheck]
    close_pairs: list[tuple[str, str, float]]  # people whose centroids are too alike
    suggested: Calibrated | None
    # (person, clip, its copy): the same recording enrolled twice (by hand, or by a
    # `speakers add` older than its refusal); the copy is left out of the check.
    copies: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def top1(self) -> float:
        return sum(c.own > c.other for c in self.clips) / len(self.clips) if self.clips else 0.0

    @property
    def suspicious(self) -> list[ClipCheck]:
        """Clips closer to someone else than to their own person: another voice, or no
        speech at all (music, silence), in the wrong person's clips."""
        return [c for c in self.clips if c.best_other is not None and c.other >= c.own]


def leave_one_out(enrolled: Mapping[str, Sequence[np.ndarray]], method: str) -> CheckReport:
    import numpy as np
    checks: list[ClipCheck] = []
    copies = same_recordings(enrolled)
    left_out = {(name, copy) for name, _clip, copy in copies}
    for name, vectors in enrolled.items():
        for i, vector in enumerate(vectors):
            if (name, i) in left_out:
                continue
            # Not against a copy of itself: that would score 1.000 and make the person look
            # better enrolled than they are.
            rest = [w for j, w in enumerate(vectors) if j != i and not same_recording(w, vector)]
            if not rest:
                continue  # a person with one clip cannot be tested against themselves
            others = {n: v for n, v in enrolled.items() if n != name and v}
            library = {**others, name: rest}
            scores = score_sample(vector, library, method)
            best_other = max(others, key=lambda n: scores[n]) if others else None
            checks.append(ClipCheck(name, i, scores[name], best_other,
                                    scores[best_other] if best_other else -1.0))
    centroids = {n: centroid(v) for n, v in enrolled.items() if v}
    names = sorted(centroids)
    pairs = [(a, b, float(np.dot(centroids[a], centroids[b])))
             for i, a in enumerate(names) for b in names[i + 1:]]
    with_others = [c for c in checks if c.best_other is not None]
    suggested = None
    if with_others:
        suggested = suggest([c.own for c in with_others], [c.other for c in with_others],
                            [c.own - c.other for c in with_others if c.own > c.other])
    close = sorted((p for p in pairs if suggested is not None and p[2] >= suggested.threshold),
                   key=lambda t: t[2], reverse=True)
    return CheckReport(checks, close, suggested, copies)


# One recording's vector as it was just embedded and as the float16 cache gives it back differ
# by less than this cosine; clips of one person in different recordings score well under it.
SAME_RECORDING = 0.9999


def same_recording(a: np.ndarray, b: np.ndarray) -> bool:
    import numpy as np
    return float(np.dot(a, b)) >= SAME_RECORDING


def same_recordings(enrolled: Mapping[str, Sequence[np.ndarray]]) -> list[tuple[str, int, int]]:
    """Each person's clips whose vector is an earlier clip's (see SAME_RECORDING): the same
    audio enrolled twice."""
    found = []
    for name, vectors in enrolled.items():
        for j, vector in enumerate(vectors):
            first = next((i for i in range(j) if same_recording(vectors[i], vector)), None)
            if first is not None:
                found.append((name, first, j))
    return found
