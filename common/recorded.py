"""When a recording was made, which decides the YEAR folder it is filed under.

Old recordings often have no date tag (a wav from a recorder, an mp3 cut by hand), and a copy
from one disk to another can give every file the day of the copy as its file time. What a
person wrote into a name is then the best witness: "2019-05-12 Evening.mp3", or a folder
"2019" or "2019-05-12 Retreat" inside an input folder. The order, most deliberate first:

1. a full date in the file's own name (a person typed it for this one recording);
2. the recording's date tag;
3. a full date, or a folder named just a year, in the folders between the input folder and
   the file (nearest first); the input folder's own name and those above it are not read,
   as a backup folder is often named after the day of the backup;
4. the file's modification time.

Only unambiguous forms count: year first (2019-05-12, 2019_05_12, 2019.05.12, 20190512),
or day and month first with a four-digit year at the end (12.05.2019, 05-12-2019), which
tell the year but not which of the two is the month. A date in the future is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

_YEAR_FIRST = re.compile(
    r"(?<!\d)(19\d\d|20\d\d)([-_.]?)(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])(?!\d)")
_YEAR_LAST = re.compile(r"(?<!\d)(\d{1,2})([-_.])(\d{1,2})\2(19\d\d|20\d\d)(?!\d)")
_YEAR_ONLY = re.compile(r"(19\d\d|20\d\d)")


@dataclass(frozen=True)
class Recorded:
    """A recording's year, and its date as a tag writes it ("2019-05-12", or "2019" when only
    the year is known)."""

    year: int
    date: str


def _plausible(year: int, month: int = 1, day: int = 1) -> bool:
    try:
        return date(year, month, day) <= date.today()
    except ValueError:  # 2019-02-30
        return False


def date_in_name(name: str, *, whole_year: bool = False) -> Recorded | None:
    """The date written in one file or folder name, if it has an unambiguous one. With
    `whole_year`, a name that is nothing but a year ("2019") counts too."""
    for match in _YEAR_FIRST.finditer(name):
        year, month, day = int(match[1]), int(match[3]), int(match[4])
        if _plausible(year, month, day):
            return Recorded(year, f"{year:04d}-{month:02d}-{day:02d}")
    for match in _YEAR_LAST.finditer(name):
        first, second, year = int(match[1]), int(match[3]), int(match[4])
        # Either order of day and month must make a real date for this to be a date at all.
        if _plausible(year, second, first) or _plausible(year, first, second):
            return Recorded(year, str(year))
    bare = name.strip()
    if whole_year and _YEAR_ONLY.fullmatch(bare) and _plausible(int(bare)):
        return Recorded(int(bare), bare)
    return None


def _folders_below(path: Path, roots: list[Path]) -> list[str]:
    """The names of the folders between the input folder holding `path` and the file, nearest
    first; none when the file is in no input folder."""
    for root in roots:
        try:
            inner = path.parent.relative_to(root)
        except ValueError:
            continue
        return list(reversed(inner.parts))
    return []


def when_recorded(path: Path, tag_year: int | None, roots: list[Path] | None = None, *,
                  file_time_of: Path | None = None) -> Recorded:
    """The recording's year and date, by the order in this module's docstring. `path` is where
    the recording was found (its names are read); `file_time_of` the file whose time stands in
    last (the recording itself unless given: a verified copy keeps the original's time)."""
    named = date_in_name(path.stem)
    if named:
        return named
    if tag_year:
        return Recorded(tag_year, str(tag_year))
    for folder in _folders_below(path, list(roots or [])):
        found = date_in_name(folder, whole_year=True)
        if found:
            return found
    made = datetime.fromtimestamp((file_time_of or path).stat().st_mtime)
    return Recorded(made.year, made.strftime("%Y-%m-%d"))
