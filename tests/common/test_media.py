"""Decoding one range of a recording into 16 kHz mono float32, straight from ffmpeg's pipe."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from common.media import MediaError, decode_range
from tests.support.speech import make_not_audio, make_talk


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("media") / "talk.mp3"
    make_talk(path, ["Apples fall in autumn.", "Pears ripen later in the year."], pause_s=1.0)
    return path


def ffmpeg_reference(path: Path, start: float, duration: float) -> np.ndarray:
    """The same range decoded by ffmpeg to a byte string in one go, the plain way."""
    out = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-ss", str(start), "-t",
                          str(duration), "-i", str(path), "-vn", "-f", "f32le", "-acodec",
                          "pcm_f32le", "-ac", "1", "-ar", "16000", "pipe:"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype=np.float32)


@pytest.mark.parametrize(("start", "duration"), [(0.0, 2.0), (0.7, 1.3), (1.5, 60.0)])
def test_a_range_is_exactly_what_ffmpeg_decodes(talk: Path, start: float, duration: float):
    got = decode_range(talk, start, duration)
    expected = ffmpeg_reference(talk, start, duration)
    assert got.dtype == np.float32 and got.ndim == 1
    assert len(got) > 16_000 // 2  # some real audio came through
    assert np.array_equal(got, expected)
    got[:10] = 0.0  # writable: the engine may work on it in place


def test_a_range_past_the_end_is_empty(talk: Path):
    assert decode_range(talk, 600.0, 5.0).shape == (0,)


def test_a_file_that_is_not_audio_is_one_sentence_with_what_to_do(tmp_path: Path):
    bad = tmp_path / "notes.mp3"
    make_not_audio(bad)
    with pytest.raises(MediaError, match=r"notes\.mp3 could not be decoded at 0 s .*check "
                                         r"that it plays, or move it out"):
        decode_range(bad, 0.0, 10.0)


def test_damage_decoded_past_is_told_and_a_healthy_file_says_nothing(tmp_path: Path):
    # A recording hit by a disk error mid-file: ffmpeg decodes past the damage (a gap in the
    # audio, exit code 0), and says so at the error level, which a healthy file never does,
    # wherever a range starts.
    source = tmp_path / "source.wav"
    make_talk(source, ["Apples fall in autumn.", "Pears ripen later in the year.",
                       "Plums come last of all."], pause_s=1.0)
    formats = {".mp3": ["-c:a", "libmp3lame", "-b:a", "64k"], ".m4a": ["-c:a", "aac"],
               ".ogg": ["-c:a", "libvorbis"], ".flac": ["-c:a", "flac"]}
    for ext, codec in formats.items():
        healthy = tmp_path / f"healthy{ext}"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(source), "-ar", "44100",
                        *codec, str(healthy)], check=True)
        for start in (0.0, 1.37, 3.9, 6.05):
            damage: list[str] = []
            assert len(decode_range(healthy, start, 3.0, damage)) > 0
            assert damage == [], (ext, start)
    data = bytearray((tmp_path / "healthy.mp3").read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4000] = np.random.default_rng(1).integers(0, 256, 4000,
                                                                   dtype=np.uint8).tobytes()
    damaged = tmp_path / "damaged.mp3"
    damaged.write_bytes(bytes(data))
    damage = []
    pcm = decode_range(damaged, 0.0, 60.0, damage)
    assert len(pcm) > 16000 * 5  # decoded past it, to the end
    assert len(damage) == 1 and "Invalid data found" in damage[0], damage
    assert not damage[0].startswith("[")  # "[mp3float @ 0x…]" is no help to a person
    assert decode_range(damaged, 0.0, 60.0).shape == pcm.shape  # the callers that don't ask
