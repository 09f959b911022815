"""The compact filed copy: long silences cut out, mono mp3 at 64 kbit/s.

What is cut comes from the speech detection that transcription already ran (the Silero VAD
inside faster-whisper, whose stretches the ledger keeps per chunk), not from a loudness gate:
a quiet talk stays whole, a long pause shrinks to `compact_pause_s`. Every cut is placed on
an exact sample of the compact copy's rate, so the map from original times to compact times
is exact, and the transcripts of a compact talk line up with its audio.

The recording is decoded once by one ffmpeg, the kept samples are streamed to a second ffmpeg
that encodes them; neither the whole recording nor the whole copy is ever in memory.
"""

from __future__ import annotations

import bisect
import json
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from common.errors import TalksError
from pipeline.asr.base import Segment
from pipeline.filing.cues import repair

RATE = 24_000          # Hz: plenty for a voice, and a rate mp3 encodes well at 64 kbit/s
BITRATE = "64k"
_BYTES_PER_SAMPLE = 2  # s16le mono
_BLOCK_SAMPLES = RATE  # one second at a time through the pipe


class CompactError(TalksError):
    """The compact copy could not be made; the sentence says what to do."""


@dataclass(frozen=True)
class TimeMap:
    """Kept pieces of the original as sample ranges at RATE: (original start, length)."""

    pieces: tuple[tuple[int, int], ...]
    original_samples: int

    @property
    def compact_seconds(self) -> float:
        return sum(n for _, n in self.pieces) / RATE

    @property
    def original_seconds(self) -> float:
        return self.original_samples / RATE

    @cached_property
    def _starts(self) -> list[int]:
        return [a for a, _ in self.pieces]

    @cached_property
    def _before(self) -> list[int]:
        """Compact samples before each piece."""
        out, at = [], 0
        for _, length in self.pieces:
            out.append(at)
            at += length
        return out

    def to_compact(self, t: float) -> float:
        """An original time on the compact copy's clock. A time inside a cut lands on the
        cut itself, which on the compact clock is one instant (the end of one piece is the
        start of the next)."""
        i = bisect.bisect_right(self._starts, round(t * RATE)) - 1
        if i < 0:
            return 0.0
        start, length = self.pieces[i]
        inside = min(max(round(t * RATE) - start, 0), length)
        return (self._before[i] + inside) / RATE

    def as_json(self) -> list[list[float]]:
        """[compact start, original start, length] in seconds, for the .json transcript."""
        out, at = [], 0
        for start, length in self.pieces:
            out.append([round(at / RATE, 3), round(start / RATE, 3), round(length / RATE, 3)])
            at += length
        return out


def plan_pieces(speech: Sequence[tuple[float, float]], duration: float,
                pause_s: float) -> TimeMap:
    """The pieces to keep: every stretch of speech, with at most `pause_s` of the silence
    between two stretches (half after the one, half before the next), and at most half of
    it before the first and after the last."""
    total = int(round(duration * RATE))
    half = int(round(pause_s * RATE / 2))
    spans = sorted((max(0, int(round(a * RATE))), min(total, int(round(b * RATE))))
                   for a, b in speech)
    spans = [(a, b) for a, b in spans if b > a]
    padded: list[list[int]] = []
    for a, b in spans:
        a, b = max(0, a - half), min(total, b + half)
        if padded and a <= padded[-1][1]:
            padded[-1][1] = max(padded[-1][1], b)
        else:
            padded.append([a, b])
    return TimeMap(tuple((a, b - a) for a, b in padded), total)


def expected_bytes(time_map: TimeMap) -> int:
    """About what the compact copy will weigh: its length at the constant bit rate."""
    return int(time_map.compact_seconds * int(BITRATE.rstrip("k")) * 1000 / 8) + 4096


def map_segments(segments: Sequence[Segment], time_map: TimeMap) -> list[Segment]:
    """The transcript's segments on the compact clock, made valid cues again: a cue that lay
    in a pause that was cut has no length left, and takes its room from its neighbours."""
    moved = [Segment(time_map.to_compact(seg.start),
                     max(time_map.to_compact(seg.start), time_map.to_compact(seg.end)),
                     seg.text) for seg in segments]
    return repair(moved, time_map.compact_seconds).segments


def encode(src: Path, time_map: TimeMap, target: Path) -> None:
    """Write the kept pieces of `src` to `target` as mono mp3, the source's tags carried
    over by ffmpeg (talks' own tags go on afterwards)."""
    decoder_args = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(src), "-vn", "-ac", "1",
                    "-ar", str(RATE), "-f", "s16le", "pipe:"]
    encoder_args = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "s16le", "-ar", str(RATE),
                    "-ac", "1", "-i", "pipe:", "-i", str(src), "-map", "0:a",
                    "-map_metadata", "1", "-c:a", "libmp3lame", "-b:a", BITRATE,
                    "-id3v2_version", "3", "-f", "mp3", str(target)]
    with tempfile.TemporaryFile() as dec_err, tempfile.TemporaryFile() as enc_err:
        decoder = subprocess.Popen(decoder_args, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=dec_err)
        encoder = subprocess.Popen(encoder_args, stdin=subprocess.PIPE,
                                   stdout=subprocess.DEVNULL, stderr=enc_err)
        assert decoder.stdout is not None and encoder.stdin is not None
        try:
            _stream_kept(decoder.stdout, encoder.stdin, time_map.pieces)
        except BrokenPipeError:
            pass  # the encoder died: its stderr says why, below
        finally:
            encoder.stdin.close()
            decoder.stdout.close()
        dec_code, enc_code = decoder.wait(), encoder.wait()
        if dec_code != 0 or enc_code != 0:
            err = enc_err if enc_code else dec_err
            err.seek(0)
            lines = [ln for ln in err.read().decode("utf-8", "replace").splitlines() if ln]
            raise CompactError(f"ffmpeg could not make the compact copy of {src.name} "
                               f"({lines[-1] if lines else 'no details'}); set [output] "
                               "filed_audio = \"original\" to file it as it is.")


def _stream_kept(source, sink, pieces: Sequence[tuple[int, int]]) -> None:
    """Copy the samples inside `pieces` from one s16le pipe to another, a block at a time."""
    position = 0  # sample index of the next byte read
    pending = b""
    index = 0
    while index < len(pieces):
        block = source.read(_BLOCK_SAMPLES * _BYTES_PER_SAMPLE)
        if not block:
            break
        block = pending + block
        usable = len(block) - len(block) % _BYTES_PER_SAMPLE
        pending = block[usable:]
        count = usable // _BYTES_PER_SAMPLE
        end = position + count
        while index < len(pieces):
            start, length = pieces[index]
            a, b = max(start, position), min(start + length, end)
            if a < b:
                sink.write(block[(a - position) * _BYTES_PER_SAMPLE:
                                 (b - position) * _BYTES_PER_SAMPLE])
            if start + length <= end:
                index += 1
            else:
                break
        position = end
    # Let the decoder finish rather than die on a closed pipe.
    while source.read(1 << 16):
        pass


def check_copy(path: Path, expected_seconds: float) -> float:
    """Read the copy back with ffprobe: one mono mp3 stream of the expected length."""
    proc = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format",
                           "-show_streams", str(path)], capture_output=True, text=True)
    try:
        info = json.loads(proc.stdout)
        stream = next(s for s in info["streams"] if s.get("codec_type") == "audio")
        seconds = float(info["format"]["duration"])
    except (ValueError, KeyError, StopIteration):
        raise CompactError(f"The compact copy {path.name} could not be read back: check the "
                           "disk, then run again.") from None
    # mp3 frames are 1152 samples; allow a few of them at either end.
    if stream.get("codec_name") != "mp3" or int(stream.get("channels", 0)) != 1 or \
            abs(seconds - expected_seconds) > 0.25:
        raise CompactError(f"The compact copy {path.name} is not what was written "
                           f"({stream.get('codec_name')}, {seconds:.2f} s for "
                           f"{expected_seconds:.2f} s): check the disk, then run again.")
    return seconds
