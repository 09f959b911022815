"""Checks that the synthetic speech material is what other tests take it to be.

Every other audio test trusts these helpers for the format, length and date tag
of its input, so a quiet change in espeak-ng or ffmpeg should fail here first,
with a plain message, rather than as a puzzling pipeline failure elsewhere.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.support import speech

TOOLS = ("espeak-ng", "flite", "sox", "ffmpeg", "ffprobe")

def test_the_speech_tools_are_installed() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    assert not missing, f"{', '.join(missing)} missing: run `make test`, which installs them"


SENTENCES = speech.TALKS["bees"][:3]
PAUSE_S = 1.0


def ffprobe(path: Path) -> subprocess.CompletedProcess[str]:
    # Called directly rather than through speech.probe, so the helpers are
    # judged by ffprobe itself and not by their own code.
    return subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
         str(path)],
        capture_output=True, text=True, check=False,
    )


def probed(path: Path) -> dict:
    done = ffprobe(path)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def sentences_of(text: str) -> list[str]:
    # Every talk sentence ends with its only full stop, so the text splits cleanly.
    return [p if p.endswith(".") else p + "." for p in text.split(". ")]


def audio_streams(info: dict) -> list[dict]:
    return [s for s in info["streams"] if s["codec_type"] == "audio"]


def all_tags(info: dict) -> dict[str, str]:
    # Ogg keeps tags on the stream, the other containers on the format.
    tags: dict[str, str] = {}
    for holder in [info["format"], *info["streams"]]:
        tags.update({k.lower(): v for k, v in holder.get("tags", {}).items()})
    return tags


@pytest.fixture(scope="module")
def odd_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Spaces and accents in the path, as real inboxes have.
    folder = tmp_path_factory.mktemp("speech") / "Été talks – ü"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def reference_wav(odd_dir: Path) -> tuple[Path, float]:
    """The talk as plain wav, whose exact length the other formats are held to."""
    path = odd_dir / "reference talk.wav"
    speech.make_talk(path, SENTENCES, pause_s=PAUSE_S, year=2019)
    with wave.open(str(path), "rb") as w:
        return path, w.getnframes() / w.getframerate()


def test_wav_is_16k_mono_pcm_with_silent_pauses(reference_wav: tuple[Path, float]) -> None:
    path, seconds = reference_wav
    with wave.open(str(path), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16_000, 1, 2)
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    # Three spoken sentences of a few seconds each, plus two pauses.
    assert 2 * PAUSE_S + 3 * 1.5 < seconds < 2 * PAUSE_S + 3 * 8
    assert np.abs(samples).max() > 1000, "the talk should contain audible speech"

    # The pauses are digital silence: find the runs of exact zeros that are at
    # least the pause long; there must be one per gap between sentences.
    zero = np.concatenate(([0], (samples == 0).astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(zero))
    runs = edges[1::2] - edges[0::2]
    assert (runs >= int(PAUSE_S * 16_000)).sum() >= len(SENTENCES) - 1


@pytest.mark.parametrize("suffix", [".wav", ".mp3", ".m4a", ".mp4", ".flac"])
def test_made_talk_probes_as_audio_with_year(
    odd_dir: Path, reference_wav: tuple[Path, float], suffix: str
) -> None:
    path = odd_dir / f"bees talk – näme{suffix}"
    text = speech.make_talk(path, SENTENCES, pause_s=PAUSE_S, year=2019)
    assert text == " ".join(SENTENCES)

    info = probed(path)
    (audio,) = audio_streams(info)
    assert int(audio["channels"]) == 1
    assert int(audio["sample_rate"]) == 16_000
    # Encoders pad a little (mp3 and aac frames), never by more than a fraction of a second.
    assert float(info["format"]["duration"]) == pytest.approx(reference_wav[1], abs=0.2)
    assert info["format"]["tags"]["date"] == "2019"
    if suffix == ".mp3":
        assert 32_000 <= int(info["format"]["bit_rate"]) <= 48_000


def test_untagged_talk_has_no_date(odd_dir: Path) -> None:
    path = odd_dir / "no year.m4a"
    speech.make_talk(path, SENTENCES[:1])
    tags = all_tags(probed(path))
    assert not {"date", "creation_time", "year"} & tags.keys()


def test_flite_voices_and_black_video(odd_dir: Path) -> None:
    path = odd_dir / "flite video.mp4"
    speech.make_talk(path, SENTENCES[:1], tool="flite", voice="slt", year=2023, video=True)
    info = probed(path)
    kinds = sorted(s["codec_type"] for s in info["streams"])
    assert kinds == ["audio", "video"]
    assert all_tags(info)["date"] == "2023"
    with pytest.raises(ValueError):
        speech.make_talk(odd_dir / "x.wav", SENTENCES[:1], tool="flite", voice="en-us")


def test_long_talk_reaches_target_and_varies(odd_dir: Path) -> None:
    path = odd_dir / "long talk.mp3"
    target = 60.0
    text = speech.make_long_talk(path, target, topics=["bees", "sourdough"], pause_s=0.5,
                                 year=2020)
    seconds = float(probed(path)["format"]["duration"])
    # At least the target, and over it by no more than one sentence and a pause.
    assert target <= seconds < target + 10

    parts = sentences_of(text)
    assert set(parts) & set(speech.TALKS["bees"])
    assert set(parts) & set(speech.TALKS["sourdough"])
    assert len(set(parts)) >= 10, "a long talk should draw on many sentences"


def test_long_talk_reshuffles_each_round(odd_dir: Path) -> None:
    # Once every sentence has been used, the next round comes in a new order,
    # so the talk is neither one phrase looped nor one paragraph repeated.
    path = odd_dir / "two rounds.wav"
    pool = speech.TALKS["forgiveness"]
    parts = sentences_of(speech.make_long_talk(path, 80.0, topics=["forgiveness"], pause_s=0.2))
    assert len(parts) >= 2 * len(pool)
    first, second = parts[: len(pool)], parts[len(pool) : 2 * len(pool)]
    assert sorted(first) == sorted(pool) == sorted(second)
    assert first != second
    assert all(a != b for a, b in zip(parts, parts[1:], strict=False))


def test_silence_is_silent_and_as_long_as_asked(odd_dir: Path) -> None:
    wav = odd_dir / "quiet.wav"
    speech.make_silence(wav, 3.5)
    with wave.open(str(wav), "rb") as w:
        assert w.getnframes() == 3.5 * 16_000
        assert not any(w.readframes(w.getnframes()))
    mp3 = odd_dir / "quiet.mp3"
    speech.make_silence(mp3, 3.5)
    assert float(probed(mp3)["format"]["duration"]) == pytest.approx(3.5, abs=0.15)


@pytest.mark.parametrize("suffix", [".mp3", ".wav", ".m4a", ".mp4", ".ogg"])
def test_not_audio_is_rejected_by_ffprobe(odd_dir: Path, suffix: str) -> None:
    path = odd_dir / f"not really{suffix}"
    speech.make_not_audio(path)
    assert path.stat().st_size > 0
    assert ffprobe(path).returncode != 0


def test_not_audio_flac_has_no_playable_stream(odd_dir: Path) -> None:
    # ffprobe trusts the .flac name enough to exit 0, but finds a stream with no
    # channels and no length: a reader must look at those, not the exit code.
    path = odd_dir / "not really.flac"
    speech.make_not_audio(path)
    done = ffprobe(path)
    if done.returncode == 0:
        info = json.loads(done.stdout)
        assert all(int(s.get("channels", 0)) == 0 for s in audio_streams(info))
        assert "duration" not in info["format"]


def test_unknown_suffix_is_refused(odd_dir: Path) -> None:
    with pytest.raises(ValueError, match="no encoder"):
        speech.make_talk(odd_dir / "talk.xyz", SENTENCES[:1])


def test_normalize_words() -> None:
    assert speech.normalize_words("  Hello,   World! It's  a “lens”—bright. ") == (
        "hello world its a lens bright"
    )
    assert speech.normalize_words("Été: ÇA va?") == "été ça va"


@pytest.mark.parametrize("tool", ["espeak-ng", "flite"])
def test_the_same_sentence_is_the_same_audio_every_time(tool: str) -> None:
    # Benchmarks and WER checks compare runs: their speech must not change from run to run.
    voice = "en-us" if tool == "espeak-ng" else "slt"
    sentence = "Every lantern on the harbour wall was lit by nine."
    first = speech._synthesize(sentence, voice=voice, speed=160, tool=tool)
    made = first.read_bytes()
    first.unlink()  # out of the cache: the next call makes it again
    again = speech._synthesize(sentence, voice=voice, speed=160, tool=tool)
    assert again.read_bytes() == made


@pytest.mark.parametrize("language", sorted(speech.TALKS_IN))
def test_talks_in_each_language_follow_the_rules_of_the_english_ones(language: str) -> None:
    """Several topics of about eight plain sentences, no digits, each repeating its topic
    word (its key, in some form) so a keyword title can find it."""
    talks = speech.TALKS_IN[language]
    assert len(talks) >= 4
    for topic, sentences in talks.items():
        assert 8 <= len(sentences) <= 11, topic
        text = " ".join(sentences)
        assert not any(ch.isdigit() for ch in text), topic
        assert all(s.endswith(".") and s.count(". ") == 0 for s in sentences), topic
        stem = topic[:4].lower()
        assert text.lower().count(stem) >= 3, (topic, text.lower().count(stem))


@pytest.mark.parametrize("language", sorted(speech.TALKS_IN))
def test_each_language_is_spoken_by_its_espeak_voice(odd_dir: Path, language: str) -> None:
    sentence = next(iter(speech.TALKS_IN[language].values()))[0]
    path = odd_dir / f"{language}.wav"
    assert speech.make_talk(path, [sentence], voice=speech.ESPEAK_VOICES[language]) == sentence
    with wave.open(str(path)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        seconds = w.getnframes() / w.getframerate()
    assert 1.0 < seconds < 10.0
    assert np.abs(samples).max() > 3_000  # speech, not a voice espeak-ng fell silent on
