"""How the filed copy of a talk is made: the original verified and tagged, or a compact copy.

Order matters for never losing a recording and for the ledger to keep knowing the talk:

    original: copy → fsync → hash equals the original's → tag → fsync → hash → ledger → name
    compact:  encode kept speech → fsync → read back (mp3, mono, length) → tag → fsync
              → hash → ledger → name

The copy is tagged while it is still a hidden `.part` file nobody else sees, and takes its
name only after the ledger holds the hash of exactly what is on disk (`filed_hash`), so a
resumed run, a relabel, a re-filing and `originals = "move"` all recognise it. The original
and the raw backup are never tagged.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from common.recorded import when_recorded
from pipeline.asr.base import Segment
from pipeline.config.settings import Config
from pipeline.filing import compact
from pipeline.filing.place import copy_verified, link_no_clobber, part_name
from pipeline.filing.tags import TagError, TalkTags, tag_in_place_safely, talk_tags, write_tags
from pipeline.filing.talk_record import talk_segments
from pipeline.ledger import FileRow, Ledger, content_hash
from pipeline.run.events import CompactMade, Event
from pipeline.run.logs import get_logger

MakeCopy = Callable[[Path, Path], str]  # (original, final name) → hash of the filed copy
COMPACT_WORTH = 0.9  # a compact copy is made only when it is at most this share of the size


@dataclass
class Filing:
    """What the organize stage files for one talk."""

    segments: list[Segment]
    meta: dict
    ext: str
    make_copy: MakeCopy
    time_map: compact.TimeMap | None = None
    notes: list[str] = field(default_factory=list)


def tags_for(config: Config, ledger: Ledger, row: FileRow, source: Path) -> TalkTags:
    text = " ".join(c.text or "" for c in ledger.chunks(row.id))
    # The date written when the source has none. The probe may have taken the year from a
    # tag other than "date" (an mp4's creation_time): then the year alone, so the date tag
    # never contradicts the folder and album the talk is filed under.
    found = when_recorded(Path(row.path), None, config.input.folders, file_time_of=source)
    day = found.date if not row.year or found.year == row.year else str(row.year)
    return talk_tags(config.tags, row.title or "", row.speaker or "", row.year or 0,
                     day, text, Path(row.path).name, row.language)


def _fsync(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _tag_or_note(path: Path, tags: TalkTags | None, name: str) -> None:
    """Tag the hidden copy; a container that will not take tags is filed without them."""
    if tags is None:
        return
    try:
        write_tags(path, tags)
    except TagError as exc:
        get_logger().warning("tags not written to the filed copy of %s: %s; it is filed "
                             "without them", name, exc)


def plan_filing(config: Config, ledger: Ledger, row: FileRow,
                find_speech: Callable[[], None]) -> Filing:
    """The copy maker, the transcript's segments (on the copy's clock) and the JSON header
    additions for one talk. `find_speech` runs the VAD worker for chunks whose speech the
    transcription did not record (only needed for a compact copy)."""
    src = Path(row.path)
    segments = talk_segments(ledger, row)
    tags = tags_for(config, ledger, row, src) if config.tags.write else None

    def record(digest: str) -> None:
        ledger.update(row.id, filed_hash=digest)

    def make_verbatim(original: Path, final: Path) -> str:
        digest = ""

        def finish(tmp: Path) -> None:
            nonlocal digest
            _tag_or_note(tmp, tags, original.name)
            digest = content_hash(tmp)
            record(digest)

        copy_verified(original, final, row.hash, keep_times=True, finish=finish)
        return digest

    verbatim = Filing(segments, {}, src.suffix.lower(), make_verbatim)
    if config.output.filed_audio != "compact":
        return verbatim
    chunks = ledger.chunks(row.id)
    if any(c.speech is None for c in chunks):
        find_speech()
        chunks = ledger.chunks(row.id)
    speech = [(a, b) for c in chunks for a, b in (c.speech or [])]
    time_map = compact.plan_pieces(speech, row.duration or 0.0, config.output.compact_pause_s)
    expected_bytes = compact.expected_bytes(time_map)
    if expected_bytes >= COMPACT_WORTH * row.size:
        # Already small (a low-rate m4a, few pauses): a "compact" copy would be as big or
        # bigger than the recording, so the recording itself is filed.
        get_logger().info("compact copy of %s not made: about %d bytes against %d as it is; "
                          "filed as it is", row.name, expected_bytes, row.size)
        return verbatim

    def make_compact(original: Path, final: Path) -> str:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = part_name(final)
        try:
            compact.encode(original, time_map, tmp)
            _fsync(tmp)
            compact.check_copy(tmp, time_map.compact_seconds)
            _tag_or_note(tmp, tags, original.name)
            _fsync(tmp)
            digest = content_hash(tmp)
            record(digest)
            shutil.copystat(original, tmp)  # the filed talk keeps the recording's own dates
            link_no_clobber(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        return digest

    return Filing(compact.map_segments(segments, time_map), compact_meta(time_map), ".mp3",
                  make_compact, time_map)


def compact_meta(time_map: compact.TimeMap) -> dict:
    """What the .json transcript of a compact talk says about its clock."""
    return {"time_base": "compact",
            "compact": {"original_duration": round(time_map.original_seconds, 3),
                        "duration": round(time_map.compact_seconds, 3),
                        "pieces": time_map.as_json()}}


def filed_transcript(ledger: Ledger, row: FileRow) -> tuple[list[Segment], dict]:
    """The segments on the filed copy's clock and the .json header additions, for writing a
    filed talk's transcripts again (relabel, rename): a compact talk's stay on its clock."""
    segments = talk_segments(ledger, row)
    kept = (row.compact or {}).get("pieces")
    if not kept:
        return segments, {}
    time_map = compact.TimeMap(tuple((int(a), int(n)) for a, n in kept),
                               int(row.compact.get("original_samples", 0)))
    return compact.map_segments(segments, time_map), compact_meta(time_map)


def compact_report(row: FileRow, filing: Filing, talk: Path) -> CompactMade | None:
    """Seconds and bytes a compact copy saved, for the ledger, the log and the faces."""
    if filing.time_map is None:
        return None
    return CompactMade(row.name, round(filing.time_map.original_seconds, 2),
                       round(filing.time_map.compact_seconds, 2), row.size,
                       talk.stat().st_size)


def record_compact(ledger: Ledger, row: FileRow, made: CompactMade, filing: Filing,
                   on_event: Callable[[Event], None]) -> None:
    assert filing.time_map is not None
    ledger.update(row.id, compact={"original_seconds": made.original_seconds,
                                   "compact_seconds": made.compact_seconds,
                                   "original_bytes": made.original_bytes,
                                   "compact_bytes": made.compact_bytes,
                                   # the time map, in samples, for rewriting the transcripts
                                   "original_samples": filing.time_map.original_samples,
                                   "pieces": [list(p) for p in filing.time_map.pieces]})
    get_logger().info("compact copy of %s: %.1f s → %.1f s (%.1f s saved), %d → %d bytes "
                      "(%d saved)", row.name, made.original_seconds, made.compact_seconds,
                      made.seconds_saved, made.original_bytes, made.compact_bytes,
                      made.bytes_saved)
    on_event(made)


def retag_filed(config: Config, ledger: Ledger, file_id: int) -> bool:
    """Write a filed talk's tags again from the ledger (after a relabel, a speaker rename or
    a re-filing); the copy is replaced in one rename and the ledger learns its new hash.
    Returns False (and logs why) when its container takes no tags."""
    row = ledger.get(file_id)
    talk = Path(row.destination or "")
    if not config.tags.write or not talk.is_file():
        return False
    def record(tmp: Path) -> None:
        ledger.update(file_id, filed_hash=content_hash(tmp))

    try:
        tag_in_place_safely(talk, tags_for(config, ledger, row, talk), record)
    except TagError as exc:
        get_logger().warning("tags of %s not rewritten: %s", talk.name, exc)
        return False
    return True
