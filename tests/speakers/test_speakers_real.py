"""Identification on real human speech: the two people of pyannote.audio's sample call
(fetched from PyPI by scripts/fetch-test-speech.sh during `make test`), beside flite voices.
Checks rankings and decisions with the default rules, not a fixed score."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.media import decode_range, probe
from pipeline.config.settings import load_config
from pipeline.stages.identify import read_clip, rules_of
from speakers.voice_match import decide, plan_samples, score_sample
from tests.support.paths import ROOT  # noqa: E402
from tests.support.voices import REAL_DIR, make_talk_by, real_speakers, tts_speakers

pytestmark = [pytest.mark.models, pytest.mark.xdist_group("real-speech")]

A, B = "pyannote-speaker90", "pyannote-speaker91"


@pytest.fixture(scope="module")
def voices(tmp_path_factory):
    real = real_speakers(REAL_DIR)
    assert A in real and B in real, (
        f"real test speech is missing in {REAL_DIR}: run scripts/fetch-test-speech.sh "
        "(make test does)")
    flite = tts_speakers(tmp_path_factory.mktemp("flite"), clips_per_voice=2)
    return real, flite


# A clip's vector, once per module: the same clip in several libraries is embedded once (the
# model is deterministic), so only the talks are new work in each identification.
_VECTORS: dict[tuple[int, Path], object] = {}


def clip_vector(embedder, clip: Path):
    key = (id(embedder), clip)
    if key not in _VECTORS:
        _VECTORS[key] = embedder.embed(read_clip(clip))
    return _VECTORS[key]


def identify(embedder, talk: Path, library: dict[str, list[Path]]):
    config = load_config(ROOT / "config.toml")  # the shipped default rules
    enrolled = {name: [clip_vector(embedder, c) for c in clips]
                for name, clips in library.items()}
    duration = probe(talk).duration
    # Real turns are short: 5 s samples (the shortest that ranked every real person right).
    samples = plan_samples(duration, 3, 5.0, 0.0, 0.0)
    per_sample = [score_sample(embedder.embed(decode_range(talk, s, n)), enrolled, "centroid")
                  for s, n in samples]
    return decide(per_sample, rules_of(config))


def test_real_people_are_ranked_first_among_real_and_synthetic_voices(voices, embedder,
                                                                        tmp_path):
    real, flite = voices
    library = {A: real[A][:1], B: real[B][:2], **{f"flite-{v}": c for v, c in flite.items()}}
    for person, held_out in ((A, real[A][1:]), (B, real[B][2:])):
        talk = tmp_path / f"{person}.wav"
        make_talk_by(held_out, talk, 20.0)
        decision = identify(embedder, talk, library)
        assert decision.candidates[0][0] == person, decision
        assert decision.kind in ("match", "review")  # never "nobody is close"


def test_a_real_person_not_enrolled_is_not_filed_under_someone_else(voices, embedder,
                                                                    tmp_path):
    real, flite = voices
    library = {A: real[A], **{f"flite-{v}": c for v, c in flite.items()}}
    talk = tmp_path / "stranger.wav"
    make_talk_by(real[B], talk, 20.0)
    decision = identify(embedder, talk, library)
    assert decision.kind != "match", decision
    assert decision.speaker is None
