"""Tags on the filed copy, for every format: written after the copy is verified, read back
with mutagen and with ffprobe; the original and the raw backup untouched; the ledger knows
the tagged copy; a relabel rewrites them; a container that takes no tags is still filed."""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import pytest

from pipeline.config.settings import load_config
from pipeline.filing.filed_copy import plan_filing, retag_filed
from pipeline.filing.place import file_talk, release_original
from pipeline.filing.relabel import relabel
from pipeline.filing.tags import ORIGINAL_TITLE, read_tags
from pipeline.ledger import Ledger, content_hash
from pipeline.run.logs import setup_logging
from pipeline.run.states import FileState
from tests.support.probe_tags import ffprobe_tags

FORMATS = ["mp3", "m4a", "mp4", "flac", "ogg", "opus", "wav"]
TEXT = ("Suspension bridges carry a road on cables hung from towers. The main cables of a "
        "suspension bridge pass over the towers and are anchored on both banks.")
SOURCE_TAGS = {"title": "Sunday Recording 14", "artist": "Church Desk", "genre": "Speech",
               "comment": "recorded on the small desk", "date": "2019-05-04"}
RECORDED = 1_557_000_000  # the source's file time (May 2019)


def make_source(path: Path, tags: dict[str, str] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = [a for k, v in (tags or {}).items() for a in ("-metadata", f"{k}={v}")]
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=f=220:d=3",
                    *meta, str(path)], check=True)
    os.utime(path, (RECORDED, RECORDED))
    return path


def home(tmp_path: Path, extra: str = "", output: str = "") -> Path:
    config = tmp_path / "config.toml"
    config.write_text('[input]\nfolders = ["inbox"]\nextensions = [".mp3", ".m4a", ".mp4", '
                      '".flac", ".ogg", ".opus", ".wav", ".aac"]\n[output]\nroot = "out"\n'
                      + output + '[speakers]\nfolder = "library"\n[logging]\n'
                      'file = "out/talks.log"\n' + extra, encoding="utf-8")
    return config


def titled_row(ledger: Ledger, src: Path, title: str = "Suspension Bridges",
               speaker: str = "Ann Lee", year: int = 2019):
    row, _ = ledger.register(src, ledger.hash_of(src))
    ledger.advance(row.id, FileState.PROBED, year=year, duration=3.0)
    ledger.save_plan(row.id, [(0.0, 3.0)])
    ledger.save_chunk(row.id, 0, TEXT, [{"start": 0.2, "end": 2.8, "text": TEXT}], 1, 0.1)
    ledger.advance(row.id, FileState.TRANSCRIBED)
    ledger.advance(row.id, FileState.IDENTIFIED, speaker=speaker)
    ledger.advance(row.id, FileState.TITLED, title=title)
    return ledger.get(row.id)


def organize(config, ledger: Ledger, row):
    """What the organize stage does (runner._organize), minus the events."""
    filing = plan_filing(config, ledger, row, find_speech=lambda: None)
    filed = file_talk(config, row, filing.segments, filing.meta, row.title, row.speaker,
                      row.year, lambda stem: ledger.update(row.id, planned_name=stem),
                      make_copy=filing.make_copy, ext=filing.ext)
    if ledger.get(row.id).state != FileState.FILED:
        ledger.advance(row.id, FileState.FILED, destination=str(filed.talk),
                       transcripts=[str(p) for p in filed.transcripts])
    return filed


@pytest.mark.parametrize("ext", FORMATS)
def test_tags_are_written_on_the_filed_copy_only_and_read_back_by_mutagen_and_ffprobe(
        tmp_path, ext):
    config = load_config(home(tmp_path))
    src = make_source(tmp_path / "inbox" / f"sunday.{ext}", SOURCE_TAGS)
    before = content_hash(src)
    with Ledger(config.output.ledger_path) as ledger:
        row = titled_row(ledger, src)
        filed = organize(config, ledger, row)
        row = ledger.get(row.id)
        # The ledger knows the copy as it is on disk, and still knows the talk by its original.
        assert row.filed_hash == content_hash(filed.talk) != before
        assert row.hash == before
    assert content_hash(src) == before  # the original: never touched
    assert filed.raw is not None and content_hash(filed.raw) == before  # nor the raw backup
    assert filed.talk.stat().st_mtime == pytest.approx(RECORDED)  # the recording's time kept

    ours = read_tags(filed.talk)
    probed = ffprobe_tags(filed.talk)
    for tags in (ours, probed):
        assert tags["title"] == "Suspension Bridges"
        assert tags["artist"] == "Ann Lee"
        assert tags["album"] == "Talks 2019"
        assert tags["genre"] == "Speech"  # carried over from the source
        assert tags["date"].startswith("2019-05-04")  # the source's own date is kept
        assert tags["comment"] == f"recorded on the small desk\n{ORIGINAL_TITLE}Sunday Recording 14"
    assert ours["excerpt"].startswith("Suspension bridges carry a road")
    if ext not in ("wav",):  # a wav's INFO list has no field for it; its ID3 chunk has
        excerpt = probed.get("lyrics") or probed.get("lyrics-eng") or probed.get("description")
        assert excerpt and excerpt.startswith("Suspension bridges carry a road")
    # The tagged copy still plays to the end.
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", str(filed.talk), "-f", "null", "-"],
                             capture_output=True, text=True)
    assert decoded.returncode == 0 and not decoded.stderr


@pytest.mark.parametrize(("name", "year", "date"), [
    ("evening.flac", 2019, "2019-05-04"),             # the file time (May 2019)
    ("2017-11-02 evening.flac", 2017, "2017-11-02"),  # a date in the name beats the file time
    ("2017/evening.flac", 2017, "2017"),              # a year folder inside the input folder
    # The probe found 2015 in a tag other than "date" (an mp4's creation_time): the date
    # written must not say otherwise.
    ("evening.flac", 2015, "2015"),
])
def test_a_source_without_tags_gets_its_file_name_as_original_title_and_its_date(
        tmp_path, name, year, date):
    config = load_config(home(tmp_path, '[tags]\nalbum = "{speaker} · {year}"\n'))
    src = make_source(tmp_path / "inbox" / name)
    with Ledger(config.output.ledger_path) as ledger:
        filed = organize(config, ledger, titled_row(ledger, src, year=year))
    for tags in (read_tags(filed.talk), ffprobe_tags(filed.talk)):
        assert tags["comment"] == f"{ORIGINAL_TITLE}{Path(name).stem}"
        assert tags["album"] == f"Ann Lee · {year}"
        assert tags["date"] == date  # the source had no date tag


def test_relabel_rewrites_the_tags_and_the_ledger_follows(tmp_path):
    config = load_config(home(tmp_path))
    src = make_source(tmp_path / "inbox" / "sunday.m4a", SOURCE_TAGS)
    with Ledger(config.output.ledger_path) as ledger:
        row = titled_row(ledger, src, speaker=config.speakers.default_speaker)
        organize(config, ledger, row)
        done = relabel(config, ledger, str(row.id), "Bea Park")
        row = ledger.get(row.id)
        assert row.filed_hash == content_hash(done.talk)
    tags = read_tags(done.talk)
    assert tags["artist"] == ffprobe_tags(done.talk)["artist"] == "Bea Park"
    # Relabelled twice, the source's title is still said once, not as our own title.
    assert tags["comment"].count(ORIGINAL_TITLE) == 1
    assert ORIGINAL_TITLE + "Sunday Recording 14" in tags["comment"]
    assert done.talk.stat().st_mtime == pytest.approx(RECORDED)
    assert not list(done.talk.parent.glob(".*.part"))


def test_an_interrupted_tagged_filing_is_recognised_and_move_checks_the_tagged_copy(tmp_path):
    config = load_config(home(tmp_path, output='originals = "move"\n'))
    src = make_source(tmp_path / "inbox" / "sunday.mp3", SOURCE_TAGS)
    with Ledger(config.output.ledger_path) as ledger:
        row = titled_row(ledger, src)
        filed = organize(config, ledger, row)
        # A second run (killed before it recorded "filed") finds the tagged copy as its own.
        again = organize(config, ledger, ledger.get(row.id))
        assert again.talk == filed.talk
        assert sorted(p.name for p in filed.talk.parent.iterdir()) == [filed.talk.name]
        # "move": the original goes only while the tagged copy is what was recorded.
        assert release_original(config, ledger.get(row.id), again)
    assert not src.exists()


def test_a_container_that_takes_no_tags_is_filed_untagged_with_a_log_note(tmp_path):
    config = load_config(home(tmp_path))
    setup_logging(config.logging)
    src = make_source(tmp_path / "inbox" / "radio.aac")  # raw ADTS: mutagen cannot tag it
    with Ledger(config.output.ledger_path) as ledger:
        row = titled_row(ledger, src)
        filed = organize(config, ledger, row)
        assert ledger.get(row.id).filed_hash == content_hash(src)
        assert retag_filed(config, ledger, row.id) is False
    assert content_hash(filed.talk) == content_hash(src)
    logging.getLogger("talks").handlers[0].flush()
    log = config.logging.file.read_text(encoding="utf-8")
    assert "tags not written to the filed copy of radio.aac" in log
    assert "filed without them" in log


def test_a_damaged_container_is_still_filed(tmp_path):
    config = load_config(home(tmp_path))
    setup_logging(config.logging)
    src = make_source(tmp_path / "inbox" / "broken.m4a")
    data = bytearray(src.read_bytes())
    # Break the size of the "moov" box: the audio still decodes (ffmpeg skips to it), but
    # mutagen cannot rewrite a file whose boxes do not add up.
    at = data.find(b"moov") - 4
    data[at:at + 4] = (len(data) * 3).to_bytes(4, "big")
    src.write_bytes(bytes(data))
    with Ledger(config.output.ledger_path) as ledger:
        filed = organize(config, ledger, titled_row(ledger, src))
    assert content_hash(filed.talk) == content_hash(src)
    logging.getLogger("talks").handlers[0].flush()
    assert "tags not written to the filed copy of broken.m4a" in \
        config.logging.file.read_text(encoding="utf-8")


def test_tags_off_files_the_exact_original(tmp_path):
    config = load_config(home(tmp_path, "[tags]\nwrite = false\n"))
    src = make_source(tmp_path / "inbox" / "sunday.ogg", SOURCE_TAGS)
    with Ledger(config.output.ledger_path) as ledger:
        filed = organize(config, ledger, titled_row(ledger, src))
    assert content_hash(filed.talk) == content_hash(src)
    assert read_tags(filed.talk)["title"] == "Sunday Recording 14"


@pytest.mark.parametrize("ext", FORMATS)
def test_the_talks_language_is_tagged_as_taggers_write_it(tmp_path, ext):
    # ISO 639-2's three letters: ID3's TLAN (mp3, and a wav's ID3 chunk and INFO list),
    # Vorbis's LANGUAGE, and a freeform LANGUAGE atom in MP4.
    config = load_config(home(tmp_path))
    src = make_source(tmp_path / "inbox" / f"sunday.{ext}", SOURCE_TAGS)
    with Ledger(config.output.ledger_path) as ledger:
        row = titled_row(ledger, src)
        ledger.update(row.id, language="fr", language_probability=0.91,
                      language_source="detected")
        filed = organize(config, ledger, ledger.get(row.id))
    assert read_tags(filed.talk)["language"] == "fra"
    assert ffprobe_tags(filed.talk).get("language") == "fra"
    assert read_tags(filed.talk)["title"] == "Suspension Bridges"  # the rest as before


def test_a_talk_without_a_language_gets_no_language_tag(tmp_path):
    config = load_config(home(tmp_path))
    src = make_source(tmp_path / "inbox" / "sunday.mp3", SOURCE_TAGS)
    with Ledger(config.output.ledger_path) as ledger:
        filed = organize(config, ledger, titled_row(ledger, src))
    assert read_tags(filed.talk)["language"] == ""
    assert "language" not in ffprobe_tags(filed.talk)
