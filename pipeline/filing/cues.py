"""Transcript cues that every subtitle player accepts, whatever an engine returned.

A cue is valid when it has text, ends after it starts, starts no earlier than the cue before
it ends (in order, no overlap) and lies inside the recording. Engines do not promise that:
mlx-whisper can emit a timestamp smaller than the one before it, and a cue can come back with
no length at all. `repair` turns what came back into valid cues without losing words; `check`
is the one validator, used by the writer before anything is written and by the tests on every
transcript they produce (through `problems_in_file`, which reads the written files back).

Times are whole milliseconds here, as the .srt and .vtt formats hold them: two cues that are
distinct in float seconds must not collapse into one millisecond on the way out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.asr.base import Segment

# A cue whose length had to be guessed gets this much per word (speech runs at 2–3 words a
# second), within the room its neighbours leave.
GUESS_SECONDS_PER_WORD = 0.4
END_TOLERANCE_S = 0.001


@dataclass(frozen=True)
class Repaired:
    segments: list[Segment]
    notes: list[str]  # one line per change, for the log


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def _span(start_ms: int, end_ms: int) -> str:
    return f"{start_ms / 1000:.3f}–{end_ms / 1000:.3f} s"


def repair(segments: Sequence[Segment], duration: float | None = None,
           floor: float = 0.0) -> Repaired:
    """Valid cues from the engine's segments, in the order they were spoken.

    The order the engine emitted them in is the order of the words, so it is kept; times
    are what gets fixed. A cue that runs backwards has its two times swapped; one that
    starts before the previous one ends starts when it ends; one that runs into the next
    cue ends where the next begins; one with no length gets a length guessed from its
    words, within the room its neighbours leave; a cue with no room at all has its words
    joined to a neighbour (never dropped); everything is held inside [floor, duration]."""
    notes: list[str] = []
    lo_ms = _ms(floor)
    hi_ms = _ms(duration) if duration is not None else None
    raw = [(s.text.strip(), _ms(s.start), _ms(s.end)) for s in segments if s.text.strip()]
    out: list[list] = []  # [start_ms, end_ms, text]
    carried = ""  # words of a leading cue that had no room, for the next cue
    for i, (text, given_start, given_end) in enumerate(raw):
        start, end = given_start, given_end
        what = f"cue {_span(given_start, given_end)} ({text[:40]!r})"
        if end < start:
            start, end = end, start
            notes.append(f"{what} ran backwards: its times were swapped")
        prev_end = out[-1][1] if out else lo_ms
        if start < prev_end:
            if out:
                notes.append(f"{what} began before the cue before it ended: it now starts "
                             f"at {prev_end / 1000:.3f} s")
            start = prev_end
        # Where the next cue begins, if that is after this one's start (a neighbour that is
        # itself out of place says nothing about where this one should end).
        ceiling = hi_ms
        following = next((a for _, a, _ in raw[i + 1:] if a > start), None)
        if following is not None and (ceiling is None or following < ceiling):
            ceiling = following
        if ceiling is not None and end > ceiling and start < ceiling:
            notes.append(f"{what} ran into the next cue or past the end: it now ends at "
                         f"{ceiling / 1000:.3f} s")
            end = ceiling
        if hi_ms is not None and start >= hi_ms:
            end = start  # it begins where the recording has ended: no room
        if end <= start and (ceiling is None or ceiling > start):
            guess = max(200, round(GUESS_SECONDS_PER_WORD * 1000 * len(text.split())))
            end = start + guess if ceiling is None else min(start + guess, ceiling)
            notes.append(f"{what} had no length: it was given {(end - start) / 1000:.3f} s")
        if end <= start:  # no room at all between its neighbours
            if out:
                out[-1][2] = f"{out[-1][2]} {text}"
                notes.append(f"{what} had no room: its words were joined to the cue before")
            else:
                carried = f"{carried} {text}".strip()
                notes.append(f"{what} had no room: its words were joined to the cue after")
            continue
        if carried:
            text, carried = f"{carried} {text}", ""
        out.append([start, end, text])
    if carried:  # every cue lacked room: one cue holds all the words, at the end
        end = hi_ms if hi_ms is not None else (out[-1][1] if out else lo_ms) + 1
        out.append([max(lo_ms, end - 1), end, carried])
    return Repaired([Segment(a / 1000, b / 1000, t) for a, b, t in out], notes)


def check(segments: Sequence[Segment], duration: float | None = None) -> list[str]:
    """Every way these cues would be invalid in a subtitle file, as sentences (empty: valid).
    Times are compared as the files hold them, in whole milliseconds."""
    problems: list[str] = []
    prev_end = 0
    hi_ms = _ms(duration + END_TOLERANCE_S) if duration is not None else None
    for n, seg in enumerate(segments, start=1):
        start, end = _ms(seg.start), _ms(seg.end)
        where = f"cue {n} ({_span(start, end)})"
        if not seg.text.strip():
            problems.append(f"{where} has no text")
        if end <= start:
            problems.append(f"{where} does not end after it starts")
        if start < prev_end:
            problems.append(f"{where} starts before the cue before it ends "
                            f"({prev_end / 1000:.3f} s)")
        if hi_ms is not None and end > hi_ms:
            problems.append(f"{where} ends after the recording ({duration:.3f} s)")
        prev_end = max(prev_end, end)
    return problems


class InvalidTranscript(ValueError):
    pass


def require_valid(segments: Sequence[Segment], duration: float | None = None) -> None:
    problems = check(segments, duration)
    if problems:
        raise InvalidTranscript("; ".join(problems[:5]))


# --- reading written transcripts back (for the tests, and anyone checking a library) -------

_CLOCK = r"(\d+):(\d{2}):(\d{2})[,.](\d{3})"
_CUE_LINE = re.compile(rf"^{_CLOCK} --> {_CLOCK}\s*$")


def _seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def _read_timed_text(text: str) -> list[Segment]:
    """The cues of an .srt or .vtt file: a time line, then text lines up to a blank line."""
    cues: list[Segment] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = _CUE_LINE.match(lines[i].strip())
        i += 1
        if not match:
            continue
        body = []
        while i < len(lines) and lines[i].strip():
            body.append(lines[i].strip())
            i += 1
        g = match.groups()
        cues.append(Segment(_seconds(*g[:4]), _seconds(*g[4:]), " ".join(body)))
    return cues


def read_cues(path: Path) -> list[Segment]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        data = json.loads(text)
        return [Segment(float(s["start"]), float(s["end"]), str(s["text"]))
                for s in data.get("segments", [])]
    if path.suffix == ".vtt" and not text.startswith("WEBVTT"):
        raise InvalidTranscript(f"{path.name} does not start with WEBVTT")
    return _read_timed_text(text)


def problems_in_file(path: Path, duration: float | None = None) -> list[str]:
    """`check` over a written .srt, .vtt or .json transcript; for .srt also that the cues are
    numbered 1, 2, 3 …. Without `duration`, the recording's length comes from the .json
    transcript of the same name, when there is one."""
    try:
        cues = read_cues(path)
    except (ValueError, KeyError, TypeError) as exc:
        return [f"{path.name} cannot be read: {exc}"]
    problems: list[str] = []
    text = path.read_text(encoding="utf-8")
    if duration is None:
        # The JSON transcript says how long the recording is; an .srt or .vtt beside it
        # is held to the same length.
        sibling = path.with_suffix(".json")
        if sibling.is_file():
            try:
                duration = json.loads(sibling.read_text(encoding="utf-8")).get("duration")
            except ValueError:
                duration = None
    if path.suffix == ".srt":
        numbers = [line.strip() for line, nxt in zip(text.splitlines(), text.splitlines()[1:],
                                                     strict=False)
                   if _CUE_LINE.match(nxt.strip())]
        if numbers != [str(n) for n in range(1, len(cues) + 1)]:
            problems.append(f"{path.name}: cues are not numbered 1 to {len(cues)}")
    return [f"{path.name}: {p}" for p in check(cues, duration)] + problems
