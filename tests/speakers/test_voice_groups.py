"""Grouping unnamed voices: people gathered, chains split, corrections kept, the same groups
whatever the order of arrival, ids kept. Vectors are made with known cosines (the real-voice
measure is `make bench-voices`)."""

from __future__ import annotations

import random

import numpy as np

from speakers.voice_groups import GroupRule, Voices, keep_ids, talk_voice

RULE = GroupRule(join=0.70, floor=0.60, same=0.5)
DIM = 64


def person(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=DIM)
    return v / np.linalg.norm(v)


def heard(centre: np.ndarray, rng: np.random.Generator, spread: float = 0.25) -> np.ndarray:
    """A talk of the person at `centre`: close to it (cosine about 0.9 with 0.25)."""
    v = centre + spread * rng.normal(size=DIM) / np.sqrt(DIM)
    return v / np.linalg.norm(v)


def archive(seed: int = 0):
    rng = np.random.default_rng(seed)
    people = [person(rng) for _ in range(3)]
    ids, vectors, truth = [], [], {}
    talk = 1
    for p, centre in enumerate(people):
        for _ in range(4):
            ids.append(talk)
            vectors.append(heard(centre, rng))
            truth[talk] = p
            talk += 1
    for _ in range(2):  # two strangers heard once each
        ids.append(talk)
        vectors.append(person(rng))
        talk += 1
    return ids, np.stack(vectors), truth


def test_each_person_is_one_group_and_a_lone_voice_waits():
    ids, vectors, truth = archive()
    groups = Voices(ids, vectors, RULE).groups()
    assert groups == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]
    assert 13 not in sum(groups, []) and 14 not in sum(groups, [])


def test_voices_close_only_through_a_third_are_not_chained_into_one_group():
    # a~b and b~c clear the join score, a~c is far under the floor: not one group.
    a = np.array([1.0, 0.0, 0.0])
    c = np.array([np.cos(1.5), np.sin(1.5), 0.0])
    b = (a + c) / np.linalg.norm(a + c)  # cos 0.73 with each
    assert float(a @ b) > RULE.join and float(a @ c) < RULE.floor
    groups = Voices([1, 2, 3], np.stack([a, b, c]), RULE).groups()
    assert len(groups) == 1 and len(groups[0]) == 2  # b joins one side; the other waits


def test_the_groups_do_not_depend_on_the_order_talks_arrived_in():
    ids, vectors, _truth = archive(seed=3)
    full = Voices(ids, vectors, RULE).groups()
    rng = random.Random(7)
    for _ in range(5):
        order = list(range(len(ids)))
        rng.shuffle(order)
        # Placed one by one, each new talk recomputing only what it touches.
        placed: dict[int, frozenset[int]] = {}
        for k in range(1, len(order) + 1):
            so_far = [ids[n] for n in order[:k]]
            voices = Voices(so_far, vectors[order[:k]], RULE)
            touched, groups = voices.around(ids[order[k - 1]])
            for talk in touched:
                placed.pop(talk, None)
            for group in groups:
                for talk in group:
                    placed[talk] = frozenset(group)
        assert sorted({tuple(sorted(g)) for g in placed.values()}) == \
            sorted(tuple(g) for g in full)


def test_a_persons_corrections_stick():
    ids, vectors, _truth = archive()
    apart = {frozenset((2, t)) for t in (1, 3, 4)}  # talk 2 taken out of its group
    together = {frozenset((4, 5))}  # two groups a person said are one
    groups = Voices(ids, vectors, RULE, together=together, apart=apart).groups()
    assert all(2 not in g for g in groups)
    merged = next(g for g in groups if 4 in g)
    assert 5 in merged


def test_group_ids_stay_when_a_group_grows_and_new_groups_get_new_ids():
    old = {1: 7, 2: 7, 3: 9, 4: 9}
    new = keep_ids([[1, 2, 5], [3, 4], [6, 8]], old, next_id=10)
    assert new == {1: 7, 2: 7, 5: 7, 3: 9, 4: 9, 6: 10, 8: 10}


def test_a_talks_voice_leaves_out_the_samples_of_another_voice():
    rng = np.random.default_rng(1)
    speaker, host = person(rng), person(rng)
    samples = [heard(host, rng), heard(speaker, rng), heard(speaker, rng), heard(speaker, rng)]
    voice, used = talk_voice(samples, same=0.5)
    assert used == 3
    assert float(voice @ speaker) > 0.95 and float(voice @ host) < 0.5
    assert talk_voice([], same=0.5) is None
