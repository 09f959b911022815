"""When a recording was made: a date in its name, its tag, a dated folder, its file time."""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

import pytest

from common.recorded import Recorded, date_in_name, when_recorded

NEXT_YEAR = date.today().year + 1


@pytest.mark.parametrize(("name", "found"), [
    ("2019-05-12 Evening service", Recorded(2019, "2019-05-12")),
    ("sermon_2019_05_12", Recorded(2019, "2019-05-12")),
    ("Lecture 1998.11.30", Recorded(1998, "1998-11-30")),
    ("REC_20190512_143000", Recorded(2019, "2019-05-12")),   # a recorder's time stamp
    ("GMT20210302-180012_Recording", Recorded(2021, "2021-03-02")),  # Zoom
    ("Audio Recording 2020-11-08 at 10.30.15", Recorded(2020, "2020-11-08")),  # QuickTime
    ("12.05.2019 Vortrag", Recorded(2019, "2019")),           # day or month first: year only
    ("5-31-2019 talk", Recorded(2019, "2019")),
    ("2019-02-30 talk", None),                                # no such day
    ("2019-13-01 talk", None),                                # no such month
    (f"{NEXT_YEAR}-01-01 talk", None),                        # not yet
    ("2000 Years of Church History", None),                   # a year in a title is not a date
    ("Sermons 1999-2004", None),
    ("2019-05 retreat", None),                                # a month is not a day
    ("Track 20190512345", None),                              # part of a longer number
    ("ZOOM0001", None),
    ("2019", None),                                           # a bare year, in a file name
])
def test_the_dates_a_name_can_tell(name, found):
    assert date_in_name(name) == found


def test_a_folder_named_just_a_year_tells_it():
    assert date_in_name("2019", whole_year=True) == Recorded(2019, "2019")
    assert date_in_name("Summer 2019", whole_year=True) is None
    assert date_in_name(str(NEXT_YEAR), whole_year=True) is None


def recording(path: Path, made: tuple[int, int, int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not decoded here")
    stamp = time.mktime((*made, 12, 0, 0, 0, 0, -1))
    os.utime(path, (stamp, stamp))
    return path


def test_the_order_name_then_tag_then_folder_then_file_time(tmp_path):
    inbox = tmp_path / "inbox"
    copied = (2026, 1, 15)  # every file copied onto this disk on one day
    plain = recording(inbox / "evening.mp3", copied)
    assert when_recorded(plain, None, [inbox]) == Recorded(2026, "2026-01-15")
    assert when_recorded(plain, 2011, [inbox]) == Recorded(2011, "2011")
    named = recording(inbox / "2009-10-04 evening.mp3", copied)
    assert when_recorded(named, 2011, [inbox]) == Recorded(2009, "2009-10-04")
    in_year = recording(inbox / "Lectures" / "2014" / "week 3" / "evening.mp3", copied)
    assert when_recorded(in_year, None, [inbox]) == Recorded(2014, "2014")
    assert when_recorded(in_year, 2013, [inbox]) == Recorded(2013, "2013")
    retreat = recording(inbox / "2015-08-20 Retreat" / "2016" / "talk 2.mp3", copied)
    assert when_recorded(retreat, None, [inbox]) == Recorded(2016, "2016")  # nearest first


def test_the_input_folder_and_those_above_it_are_not_read(tmp_path):
    # A backup folder is often named after the day the backup was made.
    backup = tmp_path / "Backup 2024-01-05" / "2020"
    talk = recording(backup / "evening.mp3", (2018, 3, 1))
    assert when_recorded(talk, None, [backup]) == Recorded(2018, "2018-03-01")
    # A file found in no input folder is judged by its own name and time alone.
    assert when_recorded(talk, None, []) == Recorded(2018, "2018-03-01")


def test_the_file_time_can_come_from_a_verified_copy(tmp_path):
    original = tmp_path / "inbox" / "evening.mp3"  # gone: moved to raw/ after filing
    copy = recording(tmp_path / "raw" / "evening.mp3", (2012, 7, 8))
    assert when_recorded(original, None, [tmp_path / "inbox"], file_time_of=copy) \
        == Recorded(2012, "2012-07-08")
