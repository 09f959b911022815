"""A talk's transcript in four forms: plain text, SubRip, WebVTT and JSON with times."""

from __future__ import annotations

import json
from collections.abc import Sequence

from pipeline.asr.base import Segment
from pipeline.filing.cues import require_valid

FORMATS = ("txt", "srt", "vtt", "json")
PARAGRAPH_GAP_S = 2.0  # a pause this long starts a new paragraph in the .txt


def _clock(seconds: float, decimal: str) -> str:
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{decimal}{ms:03d}"


def to_txt(segments: Sequence[Segment]) -> str:
    paragraphs: list[list[str]] = []
    last_end = None
    for seg in segments:
        if last_end is None or seg.start - last_end >= PARAGRAPH_GAP_S:
            paragraphs.append([])
        paragraphs[-1].append(seg.text)
        last_end = seg.end
    return "\n\n".join(" ".join(p) for p in paragraphs) + "\n"


def to_srt(segments: Sequence[Segment]) -> str:
    blocks = [f"{i}\n{_clock(s.start, ',')} --> {_clock(s.end, ',')}\n{s.text}\n"
              for i, s in enumerate(segments, start=1)]
    return "\n".join(blocks)


def to_vtt(segments: Sequence[Segment]) -> str:
    blocks = [f"{_clock(s.start, '.')} --> {_clock(s.end, '.')}\n{s.text}\n" for s in segments]
    return "WEBVTT\n\n" + "\n".join(blocks)


def to_json(segments: Sequence[Segment], meta: dict) -> str:
    body = {**meta, "segments": [{"start": round(s.start, 3), "end": round(s.end, 3),
                                  "text": s.text} for s in segments]}
    return json.dumps(body, ensure_ascii=False, indent=2) + "\n"


def render(fmt: str, segments: Sequence[Segment], meta: dict) -> str:
    """One transcript file's text. The cues are checked first (pipeline/filing/cues.py): a cue a
    player would reject raises InvalidTranscript instead of being written."""
    require_valid(segments, meta.get("duration"))
    if fmt == "txt":
        # A summary (from [titles] summary) heads the plain text, set apart from the words.
        head = f"Summary: {meta['summary']}\n\n---\n\n" if meta.get("summary") else ""
        return head + to_txt(segments)
    if fmt == "srt":
        return to_srt(segments)
    if fmt == "vtt":
        return to_vtt(segments)
    if fmt == "json":
        return to_json(segments, meta)
    raise ValueError(fmt)
