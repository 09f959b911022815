"""decide() and the sample plan, table by table: every rule, each on its own and together."""

from __future__ import annotations

import pytest

from pipeline.config.settings import SpeakersConfig, decision_values
from speakers.calibration import CALIBRATED, calibrated
from speakers.decisions import SpeakerDecision
from speakers.voice_match import (
    Rules,
    decide,
    plan_speech_samples,
    score_sample,
    speech_spans,
)

MATCH, REVIEW, UNKNOWN = SpeakerDecision.MATCH, SpeakerDecision.REVIEW, SpeakerDecision.UNKNOWN
RULES = Rules(threshold=0.5, unknown_below=0.3, margin=0.1, min_agreement=0.6)


def samples(*rows: dict[str, float]) -> list[dict[str, float]]:
    return list(rows)


# (why, per-sample scores, rules, kind, speaker, words the reason must hold)
CASES = [
    ("clear match", samples({"Ann": 0.8, "Bob": 0.2}, {"Ann": 0.7, "Bob": 0.1}), RULES,
     MATCH, "Ann", "100% of samples agree"),
    ("nobody close", samples({"Ann": 0.2, "Bob": 0.1}), RULES, UNKNOWN, None, "below 0.3"),
    ("just under the unknown line", samples({"Ann": 0.299, "Bob": 0.1}), RULES,
     UNKNOWN, None, "below 0.3"),
    ("at the unknown line: listed for review", samples({"Ann": 0.3, "Bob": 0.1}), RULES,
     REVIEW, None, "under the threshold"),
    ("at the threshold exactly", samples({"Ann": 0.5, "Bob": 0.1}), RULES, MATCH, "Ann", ""),
    ("under the threshold", samples({"Ann": 0.49, "Bob": 0.1}), RULES, REVIEW, None,
     "under the threshold 0.5"),
    ("runner-up too close", samples({"Ann": 0.8, "Bob": 0.75}), RULES, REVIEW, None,
     "Bob is within 0.1"),
    ("margin met exactly", samples({"Ann": 0.8, "Bob": 0.7}), RULES, MATCH, "Ann", ""),
    ("a tie is never a match", samples({"Ann": 0.8, "Bob": 0.8}), RULES, REVIEW, None,
     "within"),
    ("samples disagree", samples({"Ann": 0.9, "Bob": 0.2, "Cy": 0.1},
                                 {"Ann": 0.5, "Bob": 0.9, "Cy": 0.2},
                                 {"Ann": 0.5, "Bob": 0.2, "Cy": 0.9}), RULES, REVIEW, None,
     "only 33% of samples agree"),
    ("two samples of three put Bob first: his voice, scored where he is heard",
     samples({"Ann": 0.9, "Bob": 0.2}, {"Ann": 0.55, "Bob": 0.6}, {"Ann": 0.56, "Bob": 0.6}),
     RULES, REVIEW, None, "Ann is within 0.1 (0.555)"),
    # A host's introduction fills the first sample: scored over all five, Ann's mean would
    # be 0.60, under the threshold; over the four that hear her it is 0.70.
    ("an introduction by someone enrolled does not pull the speaker down",
     samples({"Ann": 0.2, "Bob": 0.8}, *[{"Ann": 0.7, "Bob": 0.1}] * 4),
     Rules(threshold=0.65, unknown_below=0.3, margin=0.1, min_agreement=0.6), MATCH, "Ann",
     "80% of samples agree"),
    ("an introduction and questions: three samples of five still name the speaker",
     samples({"Ann": 0.1, "Bob": 0.2}, *[{"Ann": 0.8, "Bob": 0.2}] * 3,
             {"Ann": 0.1, "Bob": 0.15}),
     Rules(threshold=0.65, unknown_below=0.3, margin=0.1, min_agreement=0.6), MATCH, "Ann",
     "0.800, +0.600 over the next, 60% of samples agree"),
    ("the voice of two samples in five is not enough",
     samples(*[{"Ann": 0.9, "Bob": 0.1, "Cy": 0.1}] * 2, {"Ann": 0.1, "Bob": 0.7, "Cy": 0.2},
             {"Ann": 0.2, "Bob": 0.1, "Cy": 0.6}, {"Ann": 0.3, "Bob": 0.5, "Cy": 0.2}),
     RULES, REVIEW, None, "only 40% of samples agree"),
    ("most samples agree", samples({"Ann": 0.9, "Bob": 0.2}, {"Ann": 0.8, "Bob": 0.3},
                                   {"Ann": 0.5, "Bob": 0.55}), RULES, MATCH, "Ann", "67%"),
    ("two problems at once", samples({"Ann": 0.45, "Bob": 0.4}), RULES, REVIEW, None,
     "under the threshold 0.5; Bob is within"),
    ("a library of one: threshold alone decides", samples({"Ann": 0.6}), RULES, MATCH, "Ann",
     ""),
    ("a library of one, too low", samples({"Ann": 0.4}), RULES, REVIEW, None, "threshold"),
    ("no one enrolled", samples({}), RULES, UNKNOWN, None, "no enrolled speakers"),
    ("no samples", [], RULES, UNKNOWN, None, "no voice sample could be taken"),
]


@pytest.mark.parametrize(("why", "per_sample", "rules", "kind", "speaker", "reason"), CASES,
                         ids=[c[0] for c in CASES])
def test_decide(why, per_sample, rules, kind, speaker, reason) -> None:
    decision = decide(per_sample, rules)
    assert (decision.kind, decision.speaker) == (kind, speaker), decision
    assert reason in decision.reason
    if per_sample and per_sample[0]:
        # The evidence always ranks everyone, best first, by the mean over the samples
        # that put the talk's voice first.
        means = [s for _n, s in decision.candidates]
        assert means == sorted(means, reverse=True)
        assert {n for n, _s in decision.candidates} == set(per_sample[0])
        firsts = [max(s, key=s.get) for s in per_sample]
        voice = decision.candidates[0][0]
        assert firsts.count(voice) == max(firsts.count(n) for n in firsts)
        assert decision.agreement == pytest.approx(firsts.count(voice) / len(per_sample))
        heard = [s for s, first in zip(per_sample, firsts, strict=True) if first == voice]
        assert decision.candidates[0][1] == pytest.approx(
            sum(s[voice] for s in heard) / len(heard))


def test_best_clip_and_centroid_scoring() -> None:
    import numpy as np

    a1, a2 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    sample = np.array([1.0, 0.0, 0.0])
    enrolled = {"Ann": [a1, a2], "Bob": [np.array([0.0, 0.0, 1.0])]}
    best = score_sample(sample, enrolled, "best_clip")
    mean = score_sample(sample, enrolled, "centroid")
    assert best["Ann"] == pytest.approx(1.0)  # the closest clip
    assert mean["Ann"] == pytest.approx(1 / np.sqrt(2))  # the mean of both, made unit
    assert best["Bob"] == mean["Bob"] == pytest.approx(0.0)


# --- where samples come from -------------------------------------------------------------

def test_speech_spans_merge_segments_close_together() -> None:
    segments = [(5.0, 7.0), (0.0, 2.0), (2.2, 3.0), (7.1, 7.0), (10.0, 12.0), (11.0, 11.5)]
    assert speech_spans(segments) == [(0.0, 3.0), (5.0, 7.0), (10.0, 12.0)]


def spoken(sample: list[tuple[float, float]]) -> float:
    return sum(length for _start, length in sample)


def test_samples_are_taken_from_speech_only() -> None:
    # A talk of 600 s: music until 100 s, speech 100–300 and 400–590, applause after.
    speech = [(100.0, 300.0), (400.0, 590.0)]
    plan = plan_speech_samples(speech, 600.0, count=5, length=20.0, skip_start=60.0,
                               skip_end=60.0)
    assert len(plan) == 5
    for sample in plan:
        assert spoken(sample) == pytest.approx(20.0)
        for start, length in sample:
            inside = any(a - 1e-9 <= start and start + length <= b + 1e-9 for a, b in speech)
            assert inside, sample
            assert 60.0 <= start and start + length <= 540.0  # intro and outro skipped
    starts = [s[0][0] for s in plan]
    assert starts == sorted(starts) and starts[0] < 200 < starts[-1]  # spread over the talk


def test_a_sample_may_span_a_pause() -> None:
    speech = [(10.0, 14.0), (20.0, 30.0)]
    (sample,) = plan_speech_samples(speech, 40.0, count=1, length=8.0, skip_start=0,
                                    skip_end=0)
    assert spoken(sample) == pytest.approx(8.0)
    assert len(sample) == 2 and sample[0][0] >= 10.0 and sample[1][0] == 20.0


def test_a_short_talk_is_heard_whole() -> None:
    # 30 s of speech, room for one 20 s sample: it takes all 30 s rather than leave a third.
    (sample,) = plan_speech_samples([(0.0, 30.0)], 30.0, count=5, length=20.0,
                                    skip_start=0, skip_end=0)
    assert spoken(sample) == pytest.approx(30.0)
    # 70 s: three samples of 23.3 s, back to back, every second of speech used once.
    plan = plan_speech_samples([(0.0, 70.0)], 70.0, count=5, length=20.0, skip_start=0,
                               skip_end=0)
    assert [round(spoken(s), 2) for s in plan] == [23.33] * 3
    assert plan[1][0][0] == pytest.approx(plan[0][0][0] + spoken(plan[0]))


def test_little_speech_gives_fewer_shorter_samples() -> None:
    plan = plan_speech_samples([(3.0, 9.0)], 30.0, count=5, length=20.0, skip_start=60.0,
                               skip_end=60.0)
    assert len(plan) == 1 and spoken(plan[0]) == pytest.approx(6.0)


def test_without_known_speech_the_file_is_sampled_evenly() -> None:
    plan = plan_speech_samples([], 300.0, count=3, length=20.0, skip_start=60.0,
                               skip_end=60.0)
    assert [len(s) for s in plan] == [1, 1, 1]
    assert plan[0][0][0] == pytest.approx(30.0)  # a tenth of the file is skipped
    assert plan_speech_samples([], 0.0, 3, 20.0, 60.0, 60.0) == []


# --- thresholds per backend ----------------------------------------------------------------

def test_zero_means_the_backends_calibrated_value() -> None:
    for backend, values in CALIBRATED.items():
        got = decision_values(SpeakersConfig(backend=backend))
        assert got == values
        assert values.unknown_below < values.threshold
    mine = decision_values(SpeakersConfig(backend="campplus", threshold=0.7, margin=0.02))
    assert (mine.threshold, mine.margin) == (0.7, 0.02)
    assert mine.unknown_below == calibrated("campplus").unknown_below
