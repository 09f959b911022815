"""Real talks have other voices in them: a host introduces the speaker, people ask questions at
the end. Through the real program (`talks --batch`, tiny.en, CAM++, the default 5 samples of
20 s), with real city council members (speakerbox, fetched by `make test`): four people
enrolled from one meeting, talks made of speech from the others.

A talk by an enrolled person, introduced by another enrolled person and closed by two
questioners, is filed under its speaker; one by somebody never enrolled, introduced by an
enrolled host, is filed under nobody (least of all the host)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.ledger import Ledger
from tests.support.paths import ROOT  # noqa: E402
from tests.support.voices import (
    REAL_DIR,
    SAMPLE_RATE,
    Utterance,
    _decode,
    _write,
    speakerbox_utterances,
)

pytestmark = [pytest.mark.models, pytest.mark.xdist_group("real-speech")]

ENROLL_MEETING = "9f581faa5ece"  # every council member speaks in it
ENROLLED = ("gonzalez", "herbold", "lewis", "juarez")
HOST, ASKERS = "herbold", ("lewis", "juarez")
MISC = "Miscellaneous Speakers"


def speech_of(utts: list[Utterance], person: str, seconds: float | None = None) -> np.ndarray:
    """A person's speech outside the enrollment meeting, utterances joined by short pauses."""
    pause = np.zeros(int(0.5 * SAMPLE_RATE), np.float32)
    parts = []
    for u in utts:
        if u.person == person and u.meeting != ENROLL_MEETING:
            parts += [_decode(u.path), pause]
    pcm = np.concatenate(parts)
    return pcm if seconds is None else pcm[: int(seconds * SAMPLE_RATE)]


def framed_talk(utts: list[Utterance], speaker: str) -> np.ndarray:
    """2 s of silence, 35 s of the host's introduction, the speaker's talk, 15 s from each of
    two questioners, 2 s of silence: the first sample falls in the introduction and the last
    mostly in the questions (samples skip a tenth of the file at each end)."""
    silence = np.zeros(2 * SAMPLE_RATE, np.float32)
    return np.concatenate([silence, speech_of(utts, HOST, 35.0), speech_of(utts, speaker),
                           *(speech_of(utts, who, 15.0) for who in ASKERS), silence])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    utts = [u for u in speakerbox_utterances(REAL_DIR) if u.seconds >= 2.0]
    assert utts, (f"real test speech is missing in {REAL_DIR}: run "
                  "scripts/fetch-test-speech.sh (make test does)")
    home = tmp_path_factory.mktemp("framed")
    for u in utts:
        if u.meeting == ENROLL_MEETING and u.person in ENROLLED:
            folder = home / "library" / u.person.title()
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy2(u.path, folder / u.path.name)
    for speaker in ("gonzalez", "strauss"):  # Strauss is never enrolled
        _write(framed_talk(utts, speaker), home / "inbox" / f"{speaker} framed.mp3")
    config = home / "config.toml"
    config.write_text('[input]\nfolders = ["inbox"]\nsettle_seconds = 0.5\n'
                      '[output]\nroot = "out"\n[speakers]\nfolder = "library"\n'
                      '[transcription]\ncheck_language = false\n'  # English: not heard first
                      '[logging]\nfile = "out/log"\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config),
                             "--batch"], cwd=ROOT, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr
    with Ledger(home / "out" / ".talks" / "ledger.sqlite") as ledger:
        return {Path(row.path).name: (row.speaker, row.speaker_evidence or {},
                                      ledger.scores(row.id)) for row in ledger.all_files()}


def test_an_introduced_and_questioned_talk_is_filed_under_its_speaker(run) -> None:
    speaker, evidence, scores = run["gonzalez framed.mp3"]
    assert (evidence["kind"], speaker) == ("match", "Gonzalez"), evidence
    # The introduction was really sampled: the host comes first in the first sample, which
    # a mean over every sample would have counted against the speaker.
    firsts = [max(scores, key=lambda p: scores[p][n]) for n in range(len(scores[HOST.title()]))]
    assert firsts[0] == HOST.title(), (firsts, evidence)
    heard = firsts.count("Gonzalez") / len(firsts)
    assert evidence["agreement"] == pytest.approx(heard, abs=1e-3) and heard >= 0.6


def test_a_stranger_introduced_by_an_enrolled_host_is_not_named(run) -> None:
    speaker, evidence, _scores = run["strauss framed.mp3"]
    assert evidence["kind"] != "match", evidence
    assert speaker == MISC, evidence
