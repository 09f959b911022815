"""ffprobe and ffmpeg, run as commands: look at a recording, decode one range of it.

Nothing here decodes a whole long recording into memory: probing reads headers only, and
decoding always asks ffmpeg for one time range, piped back as 16 kHz mono float32.

It lives below both pipeline/ and speakers/ (which needs a probe and a cut to enroll clips),
so neither has to import the other for it. The three command lines are written out here
rather than built with ffmpeg-python, which brought 20 modules and the unmaintained `future`
package into every process that imports this (~50 ms of each start).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:  # numpy is imported where it is used: the batch and the app never
    import numpy as np  # load it (~15 MB), only the workers that do the audio work

from common.chaos import chaos_point
from common.errors import Fault, TalksError

SAMPLE_RATE = 16_000  # what every model here hears: Whisper and the speaker models


class MediaError(TalksError):
    """A recording that cannot be used; the message says what to do."""


class FfmpegMissing(Fault):
    """Not the recording's fault: no recording can be read until ffmpeg is installed."""


@dataclass(frozen=True)
class Probe:
    duration: float
    audio_streams: int
    video_streams: int
    codec: str
    year: int | None  # from the recording's own date tag, when it has one


FFMPEG_MISSING = ("ffmpeg/ffprobe were not found on PATH: install ffmpeg "
                  "(apt-get install ffmpeg, or brew install ffmpeg) and run again.")

# Tag keys that carry a recording date, in the order we trust them.
_DATE_TAGS = ("date", "creation_time", "year", "tdrc", "tyer", "tdat",
              "com.apple.quicktime.creationdate", "originaldate", "original_date")


def require_ffmpeg() -> None:
    if not shutil.which("ffmpeg") or not shutil.which("ffprobe"):
        raise FfmpegMissing(FFMPEG_MISSING)


def _first_line(stderr: bytes | str | None) -> str:
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else (stderr or "")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else "no details"


def year_from_tags(tags: dict[str, str]) -> int | None:
    lowered = {k.lower(): v for k, v in tags.items()}
    for key in _DATE_TAGS:
        value = lowered.get(key)
        if not value:
            continue
        match = re.search(r"\b(1[89]\d\d|2[01]\d\d)\b", str(value))
        if match:
            return int(match.group(1))
    return None


def vanished(path: Path) -> MediaError:
    """The sentence for a recording that went away while it was being read (moved to another
    folder, deleted, its disk unplugged): not a damaged file, so not "check that it plays"."""
    return MediaError(f"{path.name} was moved or deleted while talks was reading it: nothing "
                      "was filed from it; put it back in an input folder (under any name) and "
                      "the next run goes on from where this one stopped.")


def probe(path: Path) -> Probe:
    """Duration and streams from the container's headers; raises MediaError with a fix."""
    require_ffmpeg()
    proc = subprocess.run(["ffprobe", "-show_format", "-show_streams", "-of", "json",
                           str(path)], stdin=subprocess.DEVNULL, capture_output=True)
    try:
        if proc.returncode != 0:
            raise ValueError(_first_line(proc.stderr))
        info = json.loads(proc.stdout.decode("utf-8", "replace"))
    except ValueError as exc:  # ffprobe failed, or printed something that is not JSON
        if not path.exists():
            raise vanished(path) from None
        raise MediaError(f"{path.name} could not be read as audio ({exc}): check that it "
                         "plays, or move it out of the input folder.") from None
    streams = info.get("streams", [])
    # A text file named .flac probes as a flac stream with no channels: not audio either.
    audio = [s for s in streams if s.get("codec_type") == "audio"
             and int(s.get("channels") or 0) > 0 and int(s.get("sample_rate") or 0) > 0]
    video = [s for s in streams if s.get("codec_type") == "video"
             and not s.get("disposition", {}).get("attached_pic")]
    if not audio:
        raise MediaError(f"{path.name} has no audio stream: it is not a recording talks can "
                         "file; move it out of the input folder.")
    fmt = info.get("format", {})
    duration = _float(fmt.get("duration")) or _float(audio[0].get("duration"))
    if not duration:
        duration = measure_duration(path)
    elif audio[0].get("codec_name") == "mp3":
        # An mp3's length comes from its first frame's (Xing/VBRI) header or a guess from the
        # bitrate; joined or damaged VBR files lie. Reading the packets (no decoding) is cheap.
        duration = _packet_duration(path) or duration
    tags = dict(fmt.get("tags", {}))
    tags.update({k: v for k, v in audio[0].get("tags", {}).items() if k not in tags})
    return Probe(duration=duration, audio_streams=len(audio), video_streams=len(video),
                 codec=str(audio[0].get("codec_name", "?")), year=year_from_tags(tags))


def _float(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def measure_duration(path: Path) -> float:
    """For containers whose headers hold no duration: let ffmpeg stream through it once.

    ffmpeg decodes to the null muxer and reports the last timestamp; nothing reaches Python."""
    proc = subprocess.run(["ffmpeg", "-nostdin", "-v", "info", "-i", str(path), "-vn",
                           "-f", "null", "-"], capture_output=True, text=True)
    seconds = _last_time(proc.stderr) if proc.returncode == 0 else None
    if seconds is None:
        raise MediaError(f"{path.name} has no readable duration ({_first_line(proc.stderr)}): "
                         "check that it plays, or move it out of the input folder.")
    if seconds <= 0:
        raise MediaError(f"{path.name} holds no audio to speak of: move it out of the input "
                         "folder.")
    return seconds


def _packet_duration(path: Path) -> float | None:
    """The time of the last audio packet, read by ffmpeg without decoding anything."""
    proc = subprocess.run(["ffmpeg", "-nostdin", "-v", "info", "-i", str(path), "-map",
                           "0:a:0", "-c", "copy", "-f", "null", "-"],
                          capture_output=True, text=True)
    return _float(_last_time(proc.stderr)) if proc.returncode == 0 else None


def _last_time(stderr: str) -> float | None:
    """The last `time=HH:MM:SS.ss` of ffmpeg's progress lines, in seconds: how far it got."""
    times = re.findall(r"time=(\d+):(\d+):(\d+(?:\.\d+)?)", stderr)
    if not times:
        return None
    h, m, s = times[-1]
    return int(h) * 3600 + int(m) * 60 + float(s)


def decode_range(path: Path, start: float, duration: float,
                 damage: list[str] | None = None) -> np.ndarray:
    """Samples of [start, start+duration) as 16 kHz mono float32, decoded by ffmpeg alone.

    `damage`: when given, what ffmpeg said of damaged data it decoded past (a recording cut
    short or hit by a disk error mid-file still decodes, with a gap) is added to it; a
    healthy file, seeked anywhere, makes ffmpeg say nothing at this level.

    ffmpeg's output is read straight into one array sized for the range, so a 300 s chunk
    costs its 19 MB once: reading the pipe into bytes first (as `.run(capture_stdout=True)`
    does) held the pieces, their join and the array copy at once, ~3× that, and left
    hundreds of 64 KB holes in the heap for the decoder's allocations to fall into."""
    import numpy as np
    require_ffmpeg()
    args = ["ffmpeg", "-nostdin", "-v", "error", *_range(path, start, duration), "-vn",
            "-f", "f32le", "-acodec", "pcm_f32le", "-ac", "1", "-ar", str(SAMPLE_RATE), "pipe:"]
    # A few samples of slack: ffmpeg may round the range's end up to a whole frame.
    samples = np.empty(int(max(duration, 0.0) * SAMPLE_RATE) + SAMPLE_RATE // 10,
                       dtype=np.float32)
    # stderr goes to a file: a damaged file can print more errors than a pipe holds.
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=errors)
        assert proc.stdout is not None
        filled = _read_into(proc.stdout, samples)
        # `-t` bounds the output, so nothing should be left; whatever is, is past the range
        # (read to the end all the same, so ffmpeg finishes rather than dying on a closed pipe).
        while proc.stdout.read(1 << 16):
            pass
        proc.stdout.close()
        returncode = proc.wait()
        if returncode != 0:
            if not path.exists():
                raise vanished(path)
            errors.seek(0)
            raise MediaError(f"{path.name} could not be decoded at {start:.0f} s "
                             f"({_first_line(errors.read())}): check that it plays, or move "
                             "it out of the input folder.")
        if damage is not None and os.fstat(errors.fileno()).st_size:
            errors.seek(0)
            damage.append(re.sub(r"^\[[^]]* @ 0x[0-9a-f]+\] ", "", _first_line(errors.read())))
    return samples[:filled // 4]  # whole samples only


def _range(path: Path, start: float, duration: float) -> list[str]:
    """ffmpeg's input options for [start, start+duration) of a recording: seeking before
    `-i` jumps to the start instead of decoding everything up to it."""
    return ["-ss", str(max(0.0, start)), "-t", str(duration), "-i", str(path)]


def _read_into(stream: BinaryIO, samples: np.ndarray) -> int:
    """Fill the array's bytes from the stream until it is full or the stream ends."""
    view = memoryview(samples).cast("B")
    filled = 0
    while filled < len(view):
        count = stream.readinto(view[filled:])  # type: ignore[attr-defined]
        if not count:
            break
        filled += count
    return filled


def cut_sample(path: Path, start: float, duration: float, target: Path) -> Path:
    """Write [start, start+duration) of a recording to `target` (format from its suffix)."""
    require_ffmpeg()
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written under a hidden name first: a clip cut short by a kill is never taken for one.
    partial = target.with_name(f".{target.stem}.part{target.suffix}")
    chaos_point("speakers.cut")
    try:
        proc = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y",
                               *_range(path, start, duration), "-vn", "-ac", "1",
                               "-ar", str(SAMPLE_RATE), str(partial)],
                              stdin=subprocess.DEVNULL, capture_output=True)
        if proc.returncode != 0:  # the partial clip goes below, with any other failure
            raise MediaError(f"Could not cut {duration:.0f} s at {start:.0f} s from "
                             f"{path.name} ({_first_line(proc.stderr)}).")
        chaos_point("speakers.add")
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def cut_pieces(path: Path, pieces: list[tuple[float, float]], target: Path) -> Path:
    """Write the (start, length) pieces of a recording, joined, to `target` (16 kHz mono)."""
    require_ffmpeg()
    if not pieces:
        raise MediaError(f"No speech was given to cut from {path.name}.")
    target.parent.mkdir(parents=True, exist_ok=True)
    chains = [f"[0:a]atrim=start={a:.3f}:duration={n:.3f},asetpts=PTS-STARTPTS[p{i}]"
              for i, (a, n) in enumerate(pieces)]
    joined = "".join(f"[p{i}]" for i in range(len(pieces)))
    graph = ";".join(chains) + f";{joined}concat=n={len(pieces)}:v=0:a=1[out]"
    partial = target.with_name(f".{target.stem}.part{target.suffix}")
    proc = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(path),
                           "-filter_complex", graph, "-map", "[out]", "-ac", "1",
                           "-ar", str(SAMPLE_RATE), str(partial)], capture_output=True)
    if proc.returncode != 0:
        partial.unlink(missing_ok=True)
        raise MediaError(f"Could not cut the speech of {path.name} "
                         f"({_first_line(proc.stderr)}).")
    partial.replace(target)  # a finished clip or none
    return target


def frame_levels_db(pcm: np.ndarray, frame_s: float = 0.02) -> np.ndarray:
    """Loudness of each short frame in dBFS: the basis of silence finding."""
    import numpy as np
    n = int(SAMPLE_RATE * frame_s)
    frames = len(pcm) // n
    if frames == 0:
        return np.zeros(0, dtype=np.float32)
    blocks = pcm[: frames * n].reshape(frames, n).astype(np.float64)
    rms = np.sqrt(np.mean(blocks * blocks, axis=1))
    return (20 * np.log10(np.maximum(rms, 1e-10))).astype(np.float32)


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of every run of True in a boolean array."""
    import numpy as np
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(),
                    strict=True))


@dataclass(frozen=True)
class Squeezed:
    pcm: np.ndarray
    # (position in squeezed audio, position in original audio) pairs, both in seconds,
    # one per kept piece: enough to map a timestamp back.
    pieces: tuple[tuple[float, float], ...]

    def to_original(self, t: float) -> float:
        result = t
        for squeezed_start, original_start in self.pieces:
            if squeezed_start <= t:
                result = original_start + (t - squeezed_start)
        return result


def squeeze_silence(pcm: np.ndarray, threshold_db: float, min_silence_s: float,
                    keep_s: float = 0.4) -> Squeezed:
    """Shorten every silence longer than `min_silence_s` to `keep_s`, remembering where.

    Only the engine's input is squeezed: the filed recording is never altered, and the map
    turns transcript times back into times of the original."""
    import numpy as np
    frame_s = 0.02
    levels = frame_levels_db(pcm, frame_s)
    quiet = levels < threshold_db
    n = int(SAMPLE_RATE * frame_s)
    keep_frames = max(1, int(keep_s / frame_s))
    min_frames = max(keep_frames + 1, int(min_silence_s / frame_s))
    kept: list[np.ndarray] = []
    pieces: list[tuple[float, float]] = []
    squeezed_pos = 0
    piece_start = 0  # frame where the current kept piece begins
    for i, j in true_runs(quiet):
        if j - i >= min_frames:
            half = keep_frames // 2
            cut_from, cut_to = i + half, j - (keep_frames - half)
            kept.append(pcm[piece_start * n: cut_from * n])
            pieces.append((squeezed_pos / SAMPLE_RATE, piece_start * frame_s))
            squeezed_pos += (cut_from - piece_start) * n
            piece_start = cut_to
    kept.append(pcm[piece_start * n:])
    pieces.append((squeezed_pos / SAMPLE_RATE, piece_start * frame_s))
    return Squeezed(pcm=np.concatenate(kept) if kept else pcm, pieces=tuple(pieces))
