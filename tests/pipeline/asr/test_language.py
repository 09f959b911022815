"""A talk's language, heard once from its opening minutes by base's encoder (asr/language.py):
espeak-ng talks in French, German, Spanish and English, one behind a 20 s tone, each named
right and surely; the window it is heard from; the names and codes; an engine is always
given one language. The clips are made once for the module (three sentences, ~13 s each)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from common.media import SAMPLE_RATE, decode_range, measure_duration
from pipeline.asr.language import (
    LANGUAGE_CODES,
    OPENING_SECONDS,
    WINDOW_SECONDS,
    Heard,
    detect_language,
    is_language_code,
    iso639_2,
    language_name,
    listening_window,
)
from pipeline.asr.models import is_english_only, model_for, resolve_ct2_model
from tests.support.speech import TALKS, make_talk
from tests.support.spoken_languages import ELSEWHERE

RATE = SAMPLE_RATE
TONE_SECONDS = 20.0
LONG_TONE_SECONDS = OPENING_SECONDS + 30.0
FRENCH_LITTLE_WORDS = {"à", "au", "de", "des", "du", "et", "la", "le", "les", "que", "un", "une",
                       "est", "on", "nous", "vous", "en", "pour"}
ENGLISH_LITTLE_WORDS = {"the", "and", "of", "to", "is", "we", "you", "that", "it"}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """base joined once for the module (its parts are installed with talks)."""
    cache = tmp_path_factory.mktemp("models")
    resolve_ct2_model("base", cache, allow_download=False)
    return cache


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A talk of three sentences in each language, and the French one behind a 20 s tone."""
    folder = tmp_path_factory.mktemp("languages")
    made = {"en": folder / "en.wav"}
    make_talk(made["en"], TALKS["bees"][:3], pause_s=0.6)
    for code, talk in ELSEWHERE.items():
        made[code] = folder / f"{code}.wav"
        make_talk(made[code], list(talk.sentences), voice=talk.voice, pause_s=0.6)
    made["fr behind a tone"] = behind_a_tone(made["fr"], TONE_SECONDS,
                                             folder / "tone then fr.wav")
    # A prelude longer than the opening minutes heard at a time: the speech is looked for on.
    made["fr behind minutes of tone"] = behind_a_tone(made["fr"], LONG_TONE_SECONDS,
                                                      folder / "long tone then fr.wav")
    return made


def behind_a_tone(talk: Path, seconds: float, path: Path) -> Path:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=frequency=440:sample_rate={RATE}:duration={seconds}",
                    "-i", str(talk), "-filter_complex",
                    "[0:a]volume=0.3[tone];[tone][1:a]concat=n=2:v=0:a=1",
                    "-ac", "1", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def heard(clips: dict[str, Path], cache_dir: Path) -> dict[str, Heard]:
    found = {}
    for name, path in clips.items():
        began = time.monotonic()
        found[name] = detect_language(path, measure_duration(path), cache_dir)
        print(f"{name}: {found[name].language} {found[name].probability:.2f} in "
              f"{time.monotonic() - began:.2f} s (model load included)")
    return found


@pytest.mark.models
@pytest.mark.parametrize("name", ["fr", "de", "es", "en"])
def test_each_language_is_named_right_and_surely(clips, heard, name):
    assert measure_duration(clips[name]) < 13.5  # three sentences
    found = heard[name]
    assert found.language == name, found.ranked
    assert found.probability > 0.5, found.ranked
    assert found.ranked[0] == (found.language, found.probability)
    assert len(found.ranked) == 5 and [p for _, p in found.ranked] == sorted(
        (p for _, p in found.ranked), reverse=True)
    assert 0 < found.seconds < 15
    assert 8 < found.speech_seconds < 13.5  # three sentences, without their pauses


@pytest.mark.models
def test_a_tone_before_the_talk_is_not_what_is_heard(clips, heard):
    from pipeline.asr.lean_frontend import speech_stretches

    path = clips["fr behind a tone"]
    stretches = speech_stretches(decode_range(path, 0.0, measure_duration(path)))
    assert stretches and stretches[0][0] / RATE > TONE_SECONDS - 0.5  # the tone is no speech
    found = heard["fr behind a tone"]
    assert found.language == "fr" and found.probability > 0.5, found.ranked


@pytest.mark.models
def test_a_prelude_longer_than_the_opening_minutes_is_heard_past(clips, heard):
    found = heard["fr behind minutes of tone"]
    assert found.language == "fr" and found.probability > 0.5, found.ranked
    assert 8 < found.speech_seconds < 13.5  # the talk's three sentences, found past the tone


def test_short_speech_is_heard_once_then_silence():
    pcm = np.zeros(40 * RATE, dtype=np.float32)
    pcm[5 * RATE:8 * RATE] = 1.0  # 3 s of "speech", a 2 s pause, then 4 s more
    pcm[10 * RATE:14 * RATE] = 2.0
    pcm[30 * RATE:30 * RATE + RATE // 2] = 3.0  # half a second: a cough, left out
    window = listening_window(pcm, [(5 * RATE, 8 * RATE), (10 * RATE, 14 * RATE),
                                    (30 * RATE, 30 * RATE + RATE // 2)], RATE)
    assert len(window) == WINDOW_SECONDS * RATE
    speech = np.concatenate([np.full(3 * RATE, 1.0), np.full(4 * RATE, 2.0)])
    assert np.array_equal(window[:len(speech)], speech) and not window[len(speech):].any()


def test_long_speech_gives_whole_stretches_spread_from_its_first_to_its_last():
    stretch = 8 * RATE  # 30 stretches of 8 s, each a second apart, every sample its index
    pcm = np.arange(30 * 9 * RATE, dtype=np.float32)
    stretches = [(i * 9 * RATE, i * 9 * RATE + stretch) for i in range(30)]
    window = listening_window(pcm, stretches, RATE)
    assert len(window) == WINDOW_SECONDS * RATE
    # Four stretches fill 30 s: the first, the last, two evenly between; the last one cut.
    firsts = [int(window[i * stretch]) // (9 * RATE) for i in range(4)]
    assert firsts == [0, 10, 19, 29]
    for i, first in enumerate(firsts):  # each one whole, as it was heard
        piece = window[i * stretch:(i + 1) * stretch]
        start = first * 9 * RATE
        assert np.array_equal(piece, np.arange(start, start + len(piece), dtype=np.float32))


def test_no_speech_at_all_gives_the_opening_as_it_is():
    pcm = np.linspace(0, 1, 12 * RATE, dtype=np.float32)
    window = listening_window(pcm, [], RATE)
    assert len(window) == WINDOW_SECONDS * RATE
    assert np.array_equal(window[:len(pcm)], pcm) and not window[len(pcm):].any()


def test_names_codes_and_the_model_for_each_language():
    import faster_whisper.tokenizer

    # The table knows every language the installed Whisper tokenizer knows, and no other.
    assert set(LANGUAGE_CODES) == set(faster_whisper.tokenizer._LANGUAGE_CODES)
    assert (language_name("fr"), language_name("de"), language_name("yue")) == (
        "French", "German", "Cantonese")
    assert language_name("xx") == "xx" and not is_language_code("auto")
    assert (iso639_2("fr"), iso639_2("de"), iso639_2("en"), iso639_2("xx")) == (
        "fra", "deu", "eng", "")
    assert all(len(iso639_2(code)) == 3 for code in LANGUAGE_CODES)
    assert (model_for("auto", "en"), model_for("auto", "fr")) == ("tiny.en", "base")
    assert model_for("base", "en") == "base" and model_for("tiny.en", "fr") == "tiny.en"


def test_english_only_models_are_known_by_name_and_by_their_vocabulary(tmp_path, cache_dir):
    assert is_english_only("tiny.en") and is_english_only("small.en")
    assert not is_english_only("base")
    tiny = resolve_ct2_model("tiny.en", tmp_path, allow_download=False)
    base = resolve_ct2_model("base", cache_dir, allow_download=False)
    assert is_english_only(tiny) and not is_english_only(base)  # folders: by the vocabulary


def test_an_engine_is_made_for_one_language_only(tmp_path):
    from pipeline.asr import create_engine

    with pytest.raises(ValueError, match="one language"):
        create_engine("faster-whisper", "tiny.en", tmp_path, False, "auto", 2, "int8", 1)


@pytest.mark.models
@pytest.mark.mlx
def test_the_mlx_engine_is_told_the_talks_language(cache_dir):
    """The mlx engine takes the talk's language as faster-whisper does: base told "fr" has a
    French tokenizer, so every window is decoded as French (what it then writes, French words
    through a whole `talks --batch` with mlx, is measured by benchmarks/languages_batch.py:
    base's encoder takes ~20-45 s a window on this CPU, too long for `make test`)."""
    pytest.importorskip("mlx_whisper")
    from pipeline.asr.base import EngineSettings
    from pipeline.asr.mlx_engine import MlxEngine

    base = resolve_ct2_model("base", cache_dir, allow_download=False)
    engine = MlxEngine(EngineSettings(model_dir=base, language="fr", threads=2,
                                      compute_type="float32", beam_size=1), cache_dir)
    engine.load()
    try:
        windows = engine._windows
        assert windows is not None and windows.tokenizer.language == "fr"
        assert windows.tokenizer.sot_sequence[1] == windows.tokenizer.to_language_token("fr")
    finally:
        engine.unload()
