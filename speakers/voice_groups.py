"""Voices nobody has named yet, grouped across the archive: one group a person, to name once.

Each talk has one voice vector: the normalised mean of its samples that hear its main voice
(`talk_voice`). Talks filed under the default speaker are grouped by those vectors, as photo
libraries group faces, and with their lesson: a wrong merge is what users hate most, so when
unsure, split.

- Two voices are **linked** when their cosine is at least the backend's `join` score, a level
  that on real voices different people never reached (speakers/calibration.py: GROUPING).
- A group is made within a connected set of linked voices, so a person heard in many talks
  gathers even when two of their talks are only close through a third. To stop chaining
  through loosely similar voices, the set is split by average linkage: the closest clusters
  are joined first, only while their mean cosine is at least `join`, and never two with a
  pair under `floor`. A voice linked to a group but not close enough to it on average waits
  (on real voices, one talk of 32 waited so: make bench-voices).
- A person's corrections stick: voices a person put together stay linked, and a talk taken
  out of a group is never linked with that group's talks again.
- A lone voice waits (no group) until a second talk of it arrives.

The grouping is a function of the set of voices and the corrections alone, not of the order
talks arrived in: `place` recomputes only the connected set a new voice touches, and gives
what a full `regroup` gives. Group ids stay from run to run: a recomputed group keeps the id
of the old group it shares most talks with.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class GroupRule:
    join: float   # two voices this close are linked
    floor: float  # no two voices of a group are further apart than this
    same: float   # two samples of one talk this close hear the same voice


Pair = frozenset[int]  # two talks' ids


def talk_voice(samples: Sequence[np.ndarray], same: float) -> tuple[np.ndarray, int] | None:
    """The talk's main voice: the normalised mean of the samples that hear it, and how many
    do. The main voice is the sample with the most samples within `same` of it (ties: the
    one closest to them in all); those samples are the ones averaged. None without samples."""
    import numpy as np

    if not samples:
        return None
    stack = np.stack([np.asarray(s, dtype=np.float32) for s in samples])
    sims = stack @ stack.T
    close = sims >= same
    best = max(range(len(stack)), key=lambda i: (int(close[i].sum()), float(sims[i].sum())))
    heard = stack[close[best]]
    mean = heard.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm if norm > 0 else mean), int(close[best].sum())


class Voices:
    """The voices of the talks waiting for a name, with a person's corrections."""

    BLOCK = 512  # rows of the similarity matrix made at once (20 MB at 10,000 voices)

    def __init__(self, ids: Sequence[int], vectors: np.ndarray, rule: GroupRule,
                 together: Iterable[Pair] = (), apart: Iterable[Pair] = ()):
        import numpy as np

        order = sorted(range(len(ids)), key=lambda n: ids[n])
        self.ids = [int(ids[n]) for n in order]
        self.vectors = (np.asarray(vectors, dtype=np.float32)[order] if self.ids
                        else np.zeros((0, 1), dtype=np.float32))
        self.rule = rule
        self.at = {talk: n for n, talk in enumerate(self.ids)}
        self.together = {p for p in together if p <= self.at.keys()}
        self.apart = {p for p in apart if p <= self.at.keys()}
        self._pinned: dict[int, set[int]] = {}  # index -> indexes a correction links
        self._kept_apart: dict[int, set[int]] = {}
        for pairs, into in ((self.together, self._pinned), (self.apart, self._kept_apart)):
            for pair in pairs:
                a, b = (self.at[t] for t in pair)
                into.setdefault(a, set()).add(b)
                into.setdefault(b, set()).add(a)

    def _linked(self, rows: Sequence[int]) -> dict[int, set[int]]:
        """For each index in `rows`, the indexes of the voices linked with it."""
        import numpy as np

        out: dict[int, set[int]] = {}
        for start in range(0, len(rows), self.BLOCK):
            block = list(rows[start:start + self.BLOCK])
            near = (self.vectors[block] @ self.vectors.T) >= self.rule.join
            for row, hits in zip(block, near, strict=True):
                linked = set(np.flatnonzero(hits).tolist()) | self._pinned.get(row, set())
                linked -= self._kept_apart.get(row, set())
                linked.discard(row)
                out[row] = linked
        return out

    def _connected_sets(self, starts: Sequence[int]) -> list[list[int]]:
        """The connected sets of linked voices that hold `starts`, found a frontier at a
        time (one matrix product a step, not one a voice)."""
        sets: list[list[int]] = []
        seen: set[int] = set()
        for start in starts:
            if start in seen:
                continue
            part, frontier = {start}, [start]
            while frontier:
                links = self._linked(frontier)
                frontier = sorted({m for near in links.values() for m in near} - part)
                part.update(frontier)
            seen |= part
            sets.append(sorted(part))
        return sets

    def _split(self, members: list[int]) -> list[list[int]]:
        """A connected set as groups no pair of which is under `floor` (or kept apart):
        average linkage, the closest two clusters joined first; a function of the set."""
        import numpy as np

        if len(members) == 1:
            return [members]
        sims = self.vectors[members] @ self.vectors[members].T
        where = {m: k for k, m in enumerate(members)}
        for pins, value in ((self._pinned, 1.0), (self._kept_apart, -1.0)):
            for m in members:
                for other in pins.get(m, ()):
                    if other in where:
                        sims[where[m], where[other]] = value
        total = sims.astype(np.float64)    # sum of similarities between two clusters
        lowest = sims.astype(np.float64)   # their least similar pair
        size = np.ones(len(members))
        alive = np.ones(len(members), dtype=bool)
        clusters = {k: [k] for k in range(len(members))}
        while True:
            mean = total / np.outer(size, size)
            ok = (lowest >= self.rule.floor) & (mean >= self.rule.join)
            ok &= np.outer(alive, alive)
            np.fill_diagonal(ok, False)
            if not ok.any():
                break
            score = np.where(ok, mean, -np.inf)
            x, y = sorted(np.unravel_index(int(np.argmax(score)), score.shape))
            total[x, :] += total[y, :]
            total[:, x] = total[x, :]
            lowest[x, :] = np.minimum(lowest[x, :], lowest[y, :])
            lowest[:, x] = lowest[x, :]
            size[x] += size[y]
            alive[y] = False
            clusters[x] += clusters.pop(y)
        return [sorted(members[k] for k in c) for c in clusters.values()]

    def _grouped(self, sets: list[list[int]]) -> list[list[int]]:
        out = [c for part in sets for c in self._split(part) if len(c) > 1]
        return sorted(([self.ids[i] for i in c] for c in out), key=lambda g: g[0])

    def groups(self) -> list[list[int]]:
        """Every group (talk ids, ascending, groups by their first talk); lone voices out.
        Every voice's links are found at once, a block of rows a matrix product (a frontier
        at a time would read the whole matrix thousands of times: 3.7 s against 0.7 s at
        10,000 voices, make bench-voices), then the connected sets walked."""
        links = self._linked(range(len(self.ids)))
        sets: list[list[int]] = []
        seen: set[int] = set()
        for start in range(len(self.ids)):
            if start in seen:
                continue
            part, todo = {start}, [start]
            while todo:
                for m in links[todo.pop()] - part:
                    part.add(m)
                    todo.append(m)
            seen |= part
            sets.append(sorted(part))
        return self._grouped(sets)

    def around(self, talk: int) -> tuple[list[int], list[list[int]]]:
        """The talks of the connected set `talk` belongs to, and its groups: all that placing
        `talk` can change (the rest of the archive's groups stay as they were)."""
        part = self._connected_sets([self.at[talk]])
        return [self.ids[i] for i in part[0]], self._grouped(part)


def keep_ids(groups: Sequence[Sequence[int]], old: Mapping[int, int],
             next_id: int) -> dict[int, int]:
    """talk -> group id: each group keeps the id of the old group it shares most talks with
    (the larger group first, so a split keeps the id with its larger part); the rest get new
    ids from `next_id`."""
    taken: set[int] = set()
    out: dict[int, int] = {}
    for group in sorted(groups, key=lambda g: (-len(g), g[0])):
        shared: dict[int, int] = {}
        for talk in group:
            if talk in old and old[talk] not in taken:
                shared[old[talk]] = shared.get(old[talk], 0) + 1
        if shared:
            gid = max(shared, key=lambda g: (shared[g], -g))
        else:
            gid, next_id = next_id, next_id + 1
        taken.add(gid)
        out.update({talk: gid for talk in group})
    return out
