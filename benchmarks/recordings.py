"""The benchmark recordings: long espeak talks with pauses, made once and kept in work/.

A recording is remade when anything that shapes it changes (length, seed, format, or the
generator in tests/support/speech.py), so a cached file can never belong to other settings.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from benchmarks.paths import WORK_DIR
from tests.support import speech

RECORDINGS_DIR = WORK_DIR / "recordings"


@dataclass(frozen=True)
class Recording:
    audio: Path
    spoken_text: str
    seconds: float  # as measured by ffprobe, not as asked for


def _generator_digest() -> str:
    return hashlib.sha256(Path(speech.__file__).read_bytes()).hexdigest()[:12]


def _duration(path: Path) -> float:
    info = speech.probe(path)
    if info is None:
        raise RuntimeError(f"ffprobe cannot read the benchmark recording {path}")
    return float(info["format"]["duration"])


# A music-like bed: a soft A-minor chord with a 2 Hz tremolo, on for the last 30 s of every
# 90 s, under the speech (never words, so the reference text is unchanged).
MUSIC_BED = ("0.02*(sin(2*PI*220*t)+sin(2*PI*261.6*t)+sin(2*PI*329.6*t))"
             "*(0.6+0.4*sin(2*PI*2*t))*gt(mod(t\\,90)\\,60)")


def with_music(recording: Recording) -> Recording:
    """The same talk with the music-like bed mixed in (cached beside it)."""
    target = recording.audio.with_name(f"{recording.audio.stem}-music{recording.audio.suffix}")
    if not target.is_file() or target.stat().st_mtime < recording.audio.stat().st_mtime:
        partial = target.with_name(f"{target.stem}.partial{target.suffix}")
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(recording.audio),
             "-f", "lavfi", "-i", f"aevalsrc=exprs={MUSIC_BED}:s=16000:d={recording.seconds}",
             "-filter_complex", "[0:a][1:a]amix=inputs=2:duration=first:normalize=0",
             "-ac", "1", str(partial)], check=True)
        partial.replace(target)
    return Recording(target, recording.spoken_text, _duration(target))


def long_talk(seconds: float, *, seed: int = 0, suffix: str = ".mp3") -> Recording:
    """A talk of at least `seconds`, from the cache when it was made the same way."""
    RECORDINGS_DIR.mkdir(parents=True, exist_ok=True)
    stem = f"talk-{seconds:g}s-seed{seed}"
    audio = RECORDINGS_DIR / f"{stem}{suffix}"
    text_file = RECORDINGS_DIR / f"{stem}.txt"
    stamp_file = RECORDINGS_DIR / f"{stem}.json"
    stamp = {"seconds": seconds, "seed": seed, "suffix": suffix,
             "generator": _generator_digest()}
    if (audio.is_file() and text_file.is_file() and stamp_file.is_file()
            and json.loads(stamp_file.read_text()) == stamp):
        return Recording(audio, text_file.read_text(encoding="utf-8"), _duration(audio))
    stamp_file.unlink(missing_ok=True)
    # Made under a temporary name and renamed, so an interrupted run leaves no half file
    # that looks finished.
    partial = audio.with_name(f"{stem}.partial{suffix}")
    text = speech.make_long_talk(partial, seconds, seed=seed)
    partial.replace(audio)
    text_file.write_text(text, encoding="utf-8")
    stamp_file.write_text(json.dumps(stamp))
    return Recording(audio, text, _duration(audio))
