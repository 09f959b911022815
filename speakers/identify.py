"""Who is speaking: a few samples spread over the talk, scored against every enrolled person.

The decision keeps its evidence. It is a **match** only when the best person clears the
threshold, beats the runner-up by a margin, and most samples agree; **unknown** when nobody
comes close; **review** in between, so the program says it is unsure instead of guessing.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.ledger import Ledger
from speakers.embedding import Embedder, unit
from speakers.library import Person

MATCH, UNKNOWN, REVIEW = "match", "unknown", "review"
CLIP_SECONDS_READ = 90.0  # enrolled clips are short; never read more of one than this


def plan_samples(duration: float, count: int, length: float, skip_start: float,
                 skip_end: float) -> list[tuple[float, float]]:
    """(start, length) of up to `count` samples spread evenly over the talk, past the intro
    and before the outro. Short files shrink the skips (to a tenth of the file each) and then
    the number of samples, so there is always at least one sample."""
    if duration <= 0:
        return []
    lo = min(skip_start, duration * 0.1)
    hi = duration - min(skip_end, duration * 0.1)
    usable = hi - lo
    if usable <= length:
        return [(lo, max(usable, min(length, duration)))]
    count = max(1, min(count, int(usable // length)))
    if count == 1:
        return [(lo + (usable - length) / 2, length)]
    step = (usable - length) / (count - 1)
    return [(lo + i * step, length) for i in range(count)]


def centroid(vectors: Sequence[np.ndarray]) -> np.ndarray:
    return unit(np.mean(np.stack(vectors), axis=0))


def score_sample(sample: np.ndarray, enrolled: Mapping[str, Sequence[np.ndarray]],
                 method: str) -> dict[str, float]:
    """Cosine of one sample with each person: against the mean of their clips (centroid) or
    their closest clip (best_clip)."""
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
    kind: str  # match, unknown, review
    speaker: str | None
    candidates: list[tuple[str, float]]  # everyone, best first, by mean score over samples
    agreement: float  # share of samples whose best person is the overall best
    reason: str
    samples: list[tuple[float, float]] = field(default_factory=list)

    def evidence(self) -> dict:
        return {"kind": self.kind, "speaker": self.speaker, "reason": self.reason,
                "agreement": round(self.agreement, 3),
                "candidates": [[n, round(s, 4)] for n, s in self.candidates],
                "samples": [[round(a, 2), round(b, 2)] for a, b in self.samples]}


def decide(per_sample: Sequence[Mapping[str, float]], rules: Rules) -> Decision:
    if not per_sample or not per_sample[0]:
        return Decision(UNKNOWN, None, [], 0.0, "no enrolled speakers to compare with")
    names = list(per_sample[0])
    means = {n: float(np.mean([s[n] for s in per_sample])) for n in names}
    ranked = sorted(means.items(), key=lambda kv: kv[1], reverse=True)
    best, best_score = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else -1.0
    tops = Counter(max(s, key=s.get) for s in per_sample)  # type: ignore[arg-type]
    agreement = tops[best] / len(per_sample)
    if best_score < rules.unknown_below:
        return Decision(UNKNOWN, None, ranked, agreement,
                        f"best score {best_score:.3f} is below {rules.unknown_below}")
    problems = []
    if best_score < rules.threshold:
        problems.append(f"best score {best_score:.3f} is under the threshold {rules.threshold}")
    if best_score - runner_up < rules.margin:
        problems.append(f"{ranked[1][0]} is within {rules.margin} ({runner_up:.3f})")
    if agreement < rules.min_agreement:
        problems.append(f"only {agreement:.0%} of samples agree")
    if problems:
        return Decision(REVIEW, None, ranked, agreement, "; ".join(problems))
    return Decision(MATCH, best, ranked, agreement,
                    f"{best_score:.3f}, {best_score - runner_up:+.3f} over the next, "
                    f"{agreement:.0%} of samples agree")


def enrolled_embeddings(people: Sequence[Person], embedder: Embedder, ledger: Ledger,
                        read_clip: Callable[[Path], np.ndarray]) -> tuple[
                            dict[str, list[np.ndarray]], int]:
    """Each person's clip vectors, from the ledger's cache (keyed by clip content and backend)
    or embedded now and cached. Vectors of clips no longer in the library are dropped.
    Returns the vectors and how many clips had to be embedded."""
    vectors: dict[str, list[np.ndarray]] = {}
    present: set[str] = set()
    embedded = 0
    for person in people:
        for clip in person.clips:
            digest = ledger.hash_of(clip)
            present.add(digest)
            cached = ledger.cached_embedding(digest, embedder.name)
            if cached is None:
                cached = unit(embedder.embed(read_clip(clip)))
                ledger.store_embedding(digest, embedder.name, cached)
                embedded += 1
            vectors.setdefault(person.name, []).append(unit(cached))
    ledger.drop_embeddings(embedder.name, keep=present)
    return vectors, embedded


@dataclass(frozen=True)
class CheckReport:
    """Leave-one-out over the library: how well each clip finds its own person."""
    clips: int
    top1: float  # share of clips whose own person ranks first without them
    genuine: list[float]   # each clip with its own person (without it)
    impostor: list[float]  # each clip with every other person
    close_pairs: list[tuple[str, str, float]]  # people whose centroids are too alike
    misses: list[tuple[str, str, float]]  # (clip's person, who ranked first, score)
    suggested_threshold: float | None


def leave_one_out(enrolled: Mapping[str, Sequence[np.ndarray]], method: str) -> CheckReport:
    genuine: list[float] = []
    impostor: list[float] = []
    misses: list[tuple[str, str, float]] = []
    hits = trials = 0
    for name, vectors in enrolled.items():
        for i, vector in enumerate(vectors):
            others = {n: (list(v) if n != name else [w for j, w in enumerate(v) if j != i])
                      for n, v in enrolled.items()}
            others = {n: v for n, v in others.items() if v}
            if name not in others or len(others) < 2:
                continue  # a person with one clip cannot be tested against themselves
            scores = score_sample(vector, others, method)
            trials += 1
            top = max(scores, key=scores.get)  # type: ignore[arg-type]
            if top == name:
                hits += 1
            else:
                misses.append((name, top, scores[top]))
            genuine.append(scores[name])
            impostor.extend(s for n, s in scores.items() if n != name)
    centroids = {n: centroid(v) for n, v in enrolled.items() if v}
    names = sorted(centroids)
    pairs = sorted(((a, b, float(np.dot(centroids[a], centroids[b])))
                    for i, a in enumerate(names) for b in names[i + 1:]),
                   key=lambda t: t[2], reverse=True)
    suggested = None
    if genuine and impostor:
        # Midway between the highest impostor and the lowest genuine score when they are
        # apart; otherwise the value that misclassifies the fewest of both.
        hi_imp, lo_gen = max(impostor), min(genuine)
        if lo_gen > hi_imp:
            suggested = (hi_imp + lo_gen) / 2
        else:
            candidates = sorted(set(genuine) | set(impostor))
            suggested = min(candidates, key=lambda t: sum(g < t for g in genuine)
                            + sum(x >= t for x in impostor))
        suggested = math.floor(suggested * 1000) / 1000
    close = [p for p in pairs if suggested is not None and p[2] >= suggested]
    return CheckReport(trials, hits / trials if trials else 0.0, genuine, impostor, close,
                       misses, suggested)
