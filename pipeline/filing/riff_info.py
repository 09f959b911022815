"""The RIFF INFO list of a wav (INAM title, IART artist, ICMT comment …), read and written.

mutagen writes ID3 into a wav's `id3 ` chunk but leaves the INFO list alone, and ffmpeg (with
most wav tools) shows the INFO list first; so the filed copy's INFO list is rewritten with the
same values. The chunk walking and in-place resizing come from mutagen's RIFF reader, the one
mutagen itself uses to write the `id3 ` chunk.
"""

from __future__ import annotations

import struct
from pathlib import Path

from common.supported import require

require("mutagen")  # mutagen._riff is private: a version outside the tested range is said first

from mutagen._riff import RiffFile  # noqa: E402


def _info_chunk(riff: RiffFile):
    for chunk in riff.root.subchunks():
        if chunk.id == "LIST" and getattr(chunk, "name", None) == "INFO":
            return chunk
    return None


def read(path: Path) -> dict[bytes, bytes]:
    """Every INFO entry, in file order, without its terminating NUL."""
    with open(path, "rb") as handle:
        chunk = _info_chunk(RiffFile(handle))
        if chunk is None:
            return {}
        return {sub.id.encode("ascii"): sub.read().split(b"\0", 1)[0]
                for sub in chunk.subchunks()}


def _encode(entries: dict[bytes, bytes]) -> bytes:
    out = [b"INFO"]
    for key, value in entries.items():
        if not value:
            continue
        data = value + b"\0"
        out.append(struct.pack("<4sI", key, len(data)) + data + (b"\0" if len(data) % 2 else b""))
    return b"".join(out)


def write(path: Path, entries: dict[bytes, bytes]) -> None:
    """Replace the INFO list with `entries` (added at the end when the file has none)."""
    data = _encode(entries)
    with open(path, "rb+") as handle:
        riff = RiffFile(handle)
        chunk = _info_chunk(riff)
        if chunk is None:
            if len(data) > 4:
                riff.root.insert_chunk("LIST", data)
            return
        chunk.resize(len(data))
        chunk.write(data)
