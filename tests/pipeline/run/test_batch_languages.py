"""Talks in several languages through `talks --batch` for real (espeak-ng, ffmpeg, tiny.en and
base, SQLite), in two runs of one inbox:

1. the default config (tiny.en, language "en") with an English and a French talk: each talk
   is heard first, the English one is filed, the French one fails at transcribe with the
   sentence that says which language was heard and what to set, and nothing of it is filed;
2. `model = "auto"`, `language = "auto"`, German, Spanish and another English talk added: the
   French talk is taken up again without being heard again, every talk is filed in its own
   language (English by tiny.en, the rest by base), and the language is in the batch's JSON,
   the ledger, the JSON transcripts, the tags and `talks status --json`.

Speaker recognition is off: no speaker model is loaded, and it has no part in this."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from pipeline.filing.tags import read_tags
from tests.support.paths import ROOT
from tests.support.speech import TALKS, make_talk
from tests.support.spoken_languages import ELSEWHERE

pytestmark = [pytest.mark.models]

SECOND_RUN = {"bienen.mp3": "de", "abejas.mp3": "es", "lighthouses.mp3": "en"}


def write_config(home: Path, transcription: str = "") -> Path:
    path = home / "config.toml"
    path.write_text('[input]\nfolders = ["inbox"]\nmin_duration_s = 3.0\nsettle_seconds = 0.5\n'
                    '[output]\nroot = "out"\n[speakers]\nidentify = false\n'
                    '[transcription]\nengine = "faster-whisper"\nmodel_cache = "models"\n'
                    + transcription + '[logging]\nfile = "out/talks.log"\n', encoding="utf-8")
    return path


def batch(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config), "--batch",
                           "--json"], cwd=ROOT, capture_output=True, text=True, timeout=600)


def speak(inbox: Path, name: str, code: str, sentences: list[str] | None = None) -> None:
    if code == "en":
        make_talk(inbox / name, sentences or [], pause_s=0.6, year=2020)
    else:
        talk = ELSEWHERE[code]
        make_talk(inbox / name, list(talk.sentences), voice=talk.voice, pause_s=0.6,
                  year=2020)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    home = tmp_path_factory.mktemp("languages")
    inbox = home / "inbox"
    inbox.mkdir()
    speak(inbox, "bees.mp3", "en", TALKS["bees"][:3])
    speak(inbox, "levain.mp3", "fr")
    first = batch(write_config(home))  # the defaults: tiny.en, language "en"
    filed_after_first = sorted(p.name for folder in ("talks", "transcripts")
                               for p in (home / "out" / folder).rglob("*.*")
                               if p.suffix in (".mp3", ".json"))
    for name, code in SECOND_RUN.items():
        speak(inbox, name, code, TALKS["lighthouses"][:3] if code == "en" else None)
    second = batch(write_config(home, 'model = "auto"\nlanguage = "auto"\n'))
    return SimpleNamespace(home=home, first=first, second=second,
                           filed_after_first=filed_after_first)


def outcomes(result: subprocess.CompletedProcess) -> dict[str, dict]:
    return {f["file"]: f for f in json.loads(result.stdout)["files"]}


def test_an_english_only_model_files_the_english_talk_and_refuses_the_french_one(runs):
    first = runs.first
    assert first.returncode == 1, first.stderr
    files = outcomes(first)
    assert files["bees.mp3"]["status"] == "filed" and files["bees.mp3"]["language"] == "en"
    french = files["levain.mp3"]
    assert french["status"] == "failed" and french["stage"] == "transcribe"
    assert french["destination"] is None and french["language"] == "fr"
    reason = french["reason"]
    # One sentence: what was heard and how sure, why not, and what to set.
    assert reason.startswith("Heard French (fr, ") and "% sure" in reason, reason
    assert "tiny.en transcribes English only" in reason
    assert 'model = "auto"' in reason and "`talks language" in reason and " en`" in reason
    assert reason.endswith(".") and reason.count(". ") == 0
    # Nothing of it filed: the one talk and the transcripts are the English one's.
    assert len(runs.filed_after_first) == 2, runs.filed_after_first
    assert all("Bee" in name for name in runs.filed_after_first), runs.filed_after_first
    assert "bees.mp3: language English (en, " in first.stderr  # the batch says it
    assert "levain.mp3: language French (fr, " in first.stderr


def test_with_model_auto_every_talk_is_filed_in_its_own_language(runs):
    second = runs.second
    assert second.returncode == 0, second.stderr
    files = outcomes(second)
    expected = {"levain.mp3": "fr", **SECOND_RUN}
    assert {name: (f["status"], f["language"]) for name, f in files.items()} == {
        "bees.mp3": ("unchanged", "en"), **{name: ("filed", code)
                                            for name, code in expected.items()}}
    db = sqlite3.connect(runs.home / "out" / ".talks" / "ledger.sqlite")
    rows = db.execute("SELECT path, language, language_probability, language_source, "
                      "transcripts, destination, title FROM files").fetchall()
    assert len(rows) == 5
    for path, language, probability, source, transcripts, destination, title in rows:
        name = Path(path).name
        assert language == {"bees.mp3": "en", **expected}[name]
        assert source == "detected" and probability > 0.5, (name, probability)
        record = json.loads(next(Path(p) for p in json.loads(transcripts)
                                 if p.endswith(".json")).read_text(encoding="utf-8"))
        assert (record["language"], record["language_source"]) == (language, "detected")
        assert record["language_probability"] == pytest.approx(probability)
        assert record["model"] == ("tiny.en" if language == "en" else "base")
        assert read_tags(Path(destination))["language"] == {
            "en": "eng", "fr": "fra", "de": "deu", "es": "spa"}[language]
        if language in ELSEWHERE:  # transcribed in its language: its own words are there
            text = " ".join(s["text"] for s in record["segments"]).lower()
            heard = [w for w in ELSEWHERE[language].words if w in text]
            assert len(heard) >= 2, (name, text)
            # Titled in its language: its own words, joined by its own "and", never English's.
            words = {w.strip(",").lower() for w in title.split()}
            assert words & set(ELSEWHERE[language].words), (name, title)
            assert "and" not in words, (name, title)


def test_each_talk_is_heard_once_and_before_its_chunks(runs):
    log = (runs.home / "out" / "talks.log").read_text(encoding="utf-8")
    heard = [line for line in log.splitlines() if "language heard in" in line]
    names = sorted(line.split(" INFO ")[1].split(":")[0] for line in heard)
    # levain.mp3 was heard in the first run; the second took up what the ledger kept.
    assert names == sorted(["bees.mp3", "levain.mp3", *SECOND_RUN]), heard
    for name in ("levain.mp3", *SECOND_RUN):
        lines = runs.second.stderr.splitlines()
        told = next(i for i, line in enumerate(lines) if f"{name}: language " in line)
        chunk = next(i for i, line in enumerate(lines) if f"{name}: chunk 1/" in line)
        assert told < chunk


def test_status_counts_the_filed_talks_by_language(runs):
    config = runs.home / "config.toml"
    report = subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config),
                             "status", "--json"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)["languages"] == {"en": 2, "fr": 1, "de": 1, "es": 1}
