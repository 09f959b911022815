"""Long talks of real human speech, for the benchmark (kept in work/, never committed).

Real speech that installs offline is short: speakerbox's 73 utterances of 9 Seattle city
council members (5 meetings, ~19 min), pyannote's sample (two people on a phone line) and
two CMU ARCTIC sentences (scripts/fetch-test-speech.sh takes them from their packages). A
talk of a given length lays them end to end — each meeting's utterances in the order they
were said, 0.8 s apart — and starts over, in another order of the meetings, as often as it
takes. Seed 0 starts with the meetings in the archive's order; any other seed starts with
them shuffled, so talks of different seeds hold different speech and their windows fall in
different places (the benchmark pools several, as it does espeak scripts). No human
transcript exists for it, so the reference is a whole-file run of the base model (a larger
model than the tiny.en being measured), made once and kept beside it.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
import zipfile
from pathlib import Path

from benchmarks.paths import ROOT
from benchmarks.recordings import RECORDINGS_DIR, Recording, _duration

SPEECH = ROOT / "tests" / "data" / "real"
PAUSE_S = 0.8
RATE = 16_000


def _pieces() -> list[tuple[str, bytes]]:
    """(name, 16 kHz mono WAV bytes) of every real utterance, meetings in order."""
    with zipfile.ZipFile(SPEECH / "speakerbox" / "diarized.zip") as archive:
        wavs = [n for n in archive.namelist() if n.endswith(".wav")]

        def when(name: str) -> tuple[str, int]:
            meeting, _person, span = name.split("/")
            return meeting, int(span.split("-")[0])

        pieces = [(n, archive.read(n)) for n in sorted(wavs, key=when)]
    for extra in ("pyannote/sample.wav", "arctic/male/arctic_a0007.wav",
                  "arctic/slt/arctic_a0009.wav"):
        pieces.append((extra, (SPEECH / extra).read_bytes()))
    return pieces


def _fetch() -> None:
    if not (SPEECH / "speakerbox" / "diarized.zip").is_file():
        subprocess.run([str(ROOT / "scripts" / "fetch-test-speech.sh")], check=True)


def real_talk(seconds: float, seed: int = 0) -> Path:
    """An mp3 of `seconds` of real speech, or a little more: whole utterances (cached)."""
    _fetch()
    RECORDINGS_DIR.mkdir(parents=True, exist_ok=True)
    pieces = _pieces()
    digest = hashlib.sha256(b"".join(hashlib.sha256(b).digest() for _n, b in pieces))
    stamp = {"seconds": seconds, "seed": seed, "material": digest.hexdigest()[:16],
             "pause_s": PAUSE_S}
    audio = RECORDINGS_DIR / f"real-{seconds:g}s-seed{seed}.mp3"
    stamp_file = audio.with_suffix(".json")
    if audio.is_file() and stamp_file.is_file() and json.loads(stamp_file.read_text()) == stamp:
        return audio
    work = RECORDINGS_DIR / f".real-{seconds:g}s"
    work.mkdir(exist_ok=True)
    rng = random.Random(seed)
    meetings: dict[str, list[tuple[str, bytes]]] = {}
    for name, data in pieces:
        meetings.setdefault(name.split("/")[0], []).append((name, data))
    order = list(meetings)
    if seed:
        rng.shuffle(order)
    listing, total, n = [], 0.0, 0
    silence = work / "pause.wav"
    _ffmpeg(["-f", "lavfi", "-i", f"anullsrc=r={RATE}:cl=mono", "-t", f"{PAUSE_S}", silence])
    while total < seconds:
        for meeting in order:
            for _name, data in meetings[meeting]:
                if total >= seconds:
                    break
                piece = work / f"{n:05d}.wav"
                _ffmpeg(["-f", "wav", "-i", "pipe:", "-ac", "1", "-ar", str(RATE), piece],
                        data)
                listing += [piece, silence]
                total += _duration(piece) + PAUSE_S
                n += 1
        rng.shuffle(order)  # the next round meets the meetings in another order
    concat = work / "list.txt"
    concat.write_text("".join(f"file '{p}'\n" for p in listing), encoding="utf-8")
    partial = audio.with_name(f"{audio.stem}.partial.mp3")
    _ffmpeg(["-f", "concat", "-safe", "0", "-i", concat, "-ac", "1", "-ar", str(RATE),
             "-b:a", "64k", partial])
    partial.replace(audio)
    stamp_file.write_text(json.dumps(stamp))
    for p in work.iterdir():
        p.unlink()
    work.rmdir()
    return audio


def _ffmpeg(args: list, stdin: bytes | None = None) -> None:
    subprocess.run(["ffmpeg", "-nostdin" if stdin is None else "-hide_banner", "-v", "error",
                    "-y", *map(str, args)], input=stdin, check=True)


def reference(audio: Path) -> str:
    """The base model's transcript of the whole talk (made once, kept beside it).

    Made in a child process: a model loaded here would leave the benchmark's own process
    at ~1 GB, and every process it starts afterwards would report that as its kernel
    high-water mark (Linux carries the parent's peak through fork and exec)."""
    text_file = audio.with_suffix(".base.txt")
    stamp = audio.with_suffix(".json").read_text()
    stamp_file = audio.with_suffix(".base.json")
    if not (text_file.is_file() and stamp_file.is_file() and stamp_file.read_text() == stamp):
        subprocess.run([sys.executable, "-m", "benchmarks.real_talks", str(audio)], cwd=ROOT,
                       check=True)
    return text_file.read_text(encoding="utf-8")


def _transcribe_whole(audio: Path) -> None:
    from faster_whisper import WhisperModel

    from pipeline.asr.models import resolve_ct2_model

    model = WhisperModel(resolve_ct2_model("base", Path("~/.cache/talks/models").expanduser(),
                                           False),
                         device="cpu", compute_type="int8", cpu_threads=2,
                         local_files_only=True)
    segments, _info = model.transcribe(str(audio), language="en", beam_size=5,
                                       condition_on_previous_text=False, vad_filter=True)
    text = " ".join(s.text.strip() for s in segments)
    audio.with_suffix(".base.txt").write_text(text, encoding="utf-8")
    audio.with_suffix(".base.json").write_text(audio.with_suffix(".json").read_text())


def real_recording(seconds: float, seed: int = 0) -> Recording:
    audio = real_talk(seconds, seed)
    return Recording(audio, reference(audio), _duration(audio))


if __name__ == "__main__":  # the child that reference() starts
    _transcribe_whole(Path(sys.argv[1]))
