"""Recordings as users really have them, through a real `talks --batch`: other sample rates
and channels, video tracks, flac/ogg/opus, an mp3 whose header lies about its length, a file
still being copied in, symlinked folders (and a loop), the output root inside the inbox, the
same recording under two names, and a 3-hour recording through probe and chunk planning."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import jiwer
import pytest

from common.media import decode_range, measure_duration, probe
from pipeline.stages.chunking import plan_chunks, quietest_point
from tests.support.paths import ROOT  # noqa: E402
from tests.support.speech import TALKS, audio_md5, make_talk, normalize_words

MAX_WER = 0.25  # tiny.en on espeak speech after lossy re-encoding


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args],
                   check=True)


def config(home: Path, root: str = "out", settle: float = 0.0, extra: str = "") -> Path:
    path = home / "config.toml"
    path.write_text(
        '[input]\nfolders = ["inbox"]\nmin_duration_s = 1.0\n'
        f'settle_seconds = {settle}\n'
        'extensions = [".mp3", ".wav", ".mp4", ".m4a", ".flac", ".ogg", ".opus"]\n'
        f'[output]\nroot = "{root}"\n[speakers]\nidentify = false\n'
        '[transcription]\ncheck_language = false\n'
        'chunk_seconds = 20\n[logging]\nfile = "talks.log"\n' + extra,
        encoding="utf-8")
    return path


def batch(home: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    done = subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(home / "config.toml"),
                           "--batch", "--json", *extra], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    assert "Traceback" not in done.stderr, done.stderr
    return done, json.loads(done.stdout or "{}")


def by_file(summary: dict) -> dict[str, dict]:
    return {f["file"]: f for f in summary["files"]}


# --- formats -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def formats(tmp_path_factory):
    """One short talk in every shape, filed by one batch run."""
    home = tmp_path_factory.mktemp("formats")
    inbox = home / "inbox"
    inbox.mkdir()
    source = home / "source.wav"
    spoken = make_talk(source, TALKS["bees"][:3])
    said = {}
    ffmpeg("-i", str(source), "-ar", "44100", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "96k",
           str(inbox / "stereo 44k.mp3"))
    ffmpeg("-i", str(source), "-ar", "48000", "-ac", "2", "-c:a", "aac", "-b:a", "96k",
           str(inbox / "stereo 48k.m4a"))
    ffmpeg("-i", str(source), "-f", "lavfi", "-i", "testsrc=s=160x120:r=10", "-shortest",
           "-map", "0:a", "-map", "1:v", "-ar", "48000", "-ac", "2", "-c:a", "aac",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
           str(inbox / "with video.mp4"))
    ffmpeg("-i", str(source), "-ar", "44100", "-c:a", "flac", str(inbox / "lossless.flac"))
    ffmpeg("-i", str(source), "-ar", "44100", "-ac", "2", "-c:a", "libvorbis",
           str(inbox / "vorbis.ogg"))
    ffmpeg("-i", str(source), "-ar", "48000", "-c:a", "libopus", "-b:a", "32k",
           str(inbox / "voice.opus"))
    for name in ("stereo 44k.mp3", "stereo 48k.m4a", "with video.mp4", "lossless.flac",
                 "vorbis.ogg", "voice.opus"):
        said[name] = spoken
    # A VBR mp3 whose Xing header counts only its first half: two VBR files joined byte by
    # byte, as a broken recorder or a careless cut leaves them.
    second = home / "second.wav"
    said_second = make_talk(second, TALKS["lighthouses"][:3])
    halves = [home / "a.mp3", home / "b.mp3"]
    ffmpeg("-i", str(source), "-ar", "44100", "-c:a", "libmp3lame", "-q:a", "5", str(halves[0]))
    ffmpeg("-i", str(second), "-ar", "44100", "-c:a", "libmp3lame", "-q:a", "5",
           str(halves[1]))
    (inbox / "lying vbr.mp3").write_bytes(halves[0].read_bytes() + halves[1].read_bytes())
    said["lying vbr.mp3"] = f"{spoken} {said_second}"
    config(home)
    result, summary = batch(home)
    return home, said, result, summary, probe(halves[0]).duration


@pytest.mark.models
def test_every_format_is_filed_with_its_words(formats):
    home, said, result, summary, _half = formats
    assert result.returncode == 0, result.stderr
    files = by_file(summary)
    assert set(files) == set(said), files
    db = sqlite3.connect(home / "out" / ".talks" / "ledger.sqlite")
    for name, text in said.items():
        assert files[name]["status"] == "filed", files[name]
        filed = Path(files[name]["destination"])
        # The filed copy is tagged: its audio is the original's.
        assert audio_md5(filed) == audio_md5(home / "inbox" / name)
        (transcripts,) = db.execute("SELECT transcripts FROM files WHERE path LIKE ?",
                                    (f"%/{name}",)).fetchone()
        txt = next(Path(p) for p in json.loads(transcripts) if p.endswith(".txt"))
        heard = txt.read_text(encoding="utf-8")
        error = jiwer.wer(normalize_words(text), normalize_words(heard))
        assert error <= MAX_WER, (name, error, heard)
    # Healthy files get no damage note; two mp3 files joined byte by byte do, at the join.
    damaged = [line for line in (home / "talks.log").read_text("utf-8").splitlines()
               if "is damaged (ffmpeg" in line]
    assert len(damaged) == 1 and "lying vbr.mp3: the audio between" in damaged[0], damaged


@pytest.mark.models
def test_a_vbr_mp3_whose_header_lies_is_measured_to_its_real_end(formats):
    home, _said, _result, _summary, half = formats
    path = home / "inbox" / "lying vbr.mp3"
    header = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                             "-of", "csv=p=0", str(path)], capture_output=True, text=True)
    truth = measure_duration(path)  # every frame decoded: what the file really holds
    assert truth > half * 1.7
    assert abs(float(header.stdout) - truth) > 2.0, (header.stdout, truth)  # the header lies
    assert abs(probe(path).duration - truth) < 0.5
    db = sqlite3.connect(home / "out" / ".talks" / "ledger.sqlite")
    (duration,) = db.execute("SELECT duration FROM files WHERE path LIKE '%lying vbr.mp3'"
                             ).fetchone()
    assert abs(duration - truth) < 0.5


# --- the inbox as it really is --------------------------------------------------------------

@pytest.fixture(scope="module")
def talk(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("talk") / "talk.mp3"
    make_talk(path, TALKS["kayaking"][:3], year=2022)
    return path


WRITER = """
import os, sys, time
# Copies the talk in small pieces, one every 0.15 s (enough for 2 minutes), until the test
# says (a file): then the rest at once. The copy is still growing for as long as the test
# needs it to be, however slow the machine.
data, stop = open(sys.argv[1], "rb").read(), sys.argv[3]
step = max(1, len(data) // 800)
at = 0
with open(sys.argv[2], "wb", buffering=0) as out:
    while at < len(data) and not os.path.exists(stop):
        out.write(data[at:at + step])
        at += step
        time.sleep(0.15)
    out.write(data[at:])
"""


def wait_until(condition, what: str, deadline_s: float = 120.0) -> None:
    """Until `condition()` holds; the deadline only guards against a hang."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


@pytest.mark.models
def test_a_file_still_being_copied_in_is_not_filed_until_complete(tmp_path, talk):
    home = tmp_path
    (home / "inbox").mkdir()
    config(home, settle=1.5)
    arriving, stop = home / "inbox" / "arriving.mp3", home / "stop"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(talk), str(arriving),
                               str(stop)])
    try:
        wait_until(lambda: arriving.exists() and arriving.stat().st_size > 0,
                   "the copy began")
        result, summary = batch(home)
        assert writer.poll() is None, "the copy ended before the run looked"
        assert result.returncode == 0, result.stderr
        (entry,) = summary["files"]
        assert entry["status"] == "waiting" and "still being copied" in entry["reason"]
        assert not (home / "out" / "talks").exists()
    finally:
        stop.touch()
        assert writer.wait(timeout=60) == 0
    assert arriving.read_bytes() == talk.read_bytes()
    # The next run comes once the file has been left alone for the quiet period (the file
    # system's own times say when, as the run reads them), not a guessed moment later.
    wait_until(lambda: time.time() - max(os.stat(arriving).st_mtime,
                                         os.stat(arriving).st_ctime) >= 1.5 + 0.05,
               "the quiet period passed")
    result, summary = batch(home)
    assert result.returncode == 0, result.stderr
    (filed,) = (home / "out" / "talks").rglob("*.mp3")
    assert audio_md5(filed) == audio_md5(talk)  # the whole recording, not a part of it


@pytest.mark.models
def test_symlinked_folders_are_followed_once_and_loops_end(tmp_path, talk):
    home = tmp_path
    elsewhere = home / "elsewhere" / "talks of 2022"
    elsewhere.mkdir(parents=True)
    (elsewhere / "linked talk.mp3").write_bytes(talk.read_bytes())
    inbox = home / "inbox"
    inbox.mkdir()
    (inbox / "via link").symlink_to(elsewhere, target_is_directory=True)
    (inbox / "same folder again").symlink_to(elsewhere, target_is_directory=True)
    (inbox / "loop").symlink_to(inbox, target_is_directory=True)
    (elsewhere / "back up").symlink_to(home / "elsewhere", target_is_directory=True)
    config(home)
    result, summary = batch(home)
    assert result.returncode == 0, result.stderr
    assert [f["file"] for f in summary["files"]] == ["linked talk.mp3"]
    assert summary["filed"] == 1 and len(list((home / "out" / "talks").rglob("*.mp3"))) == 1


@pytest.mark.models
def test_output_root_inside_the_input_folder_is_never_read_as_input(tmp_path, talk):
    home = tmp_path
    (home / "inbox").mkdir()
    (home / "inbox" / "talk.mp3").write_bytes(talk.read_bytes())
    config(home, root="inbox/library")
    first, summary = batch(home)
    assert first.returncode == 0 and summary["filed"] == 1, first.stderr
    again, summary = batch(home)
    assert again.returncode == 0
    assert [f["file"] for f in summary["files"]] == ["talk.mp3"]  # not the filed copy
    assert summary["unchanged"] == 1
    assert len(list((home / "inbox" / "library" / "talks").rglob("*.mp3"))) == 1


@pytest.mark.models
def test_the_same_recording_under_two_names_is_filed_once_and_the_other_noted(tmp_path, talk):
    home = tmp_path
    (home / "inbox" / "copies").mkdir(parents=True)
    (home / "inbox" / "talk.mp3").write_bytes(talk.read_bytes())
    (home / "inbox" / "copies" / "talk (copy).mp3").write_bytes(talk.read_bytes())
    config(home)
    result, summary = batch(home)
    assert result.returncode == 0, result.stderr
    files = by_file(summary)
    assert files["talk.mp3"]["status"] == "filed"
    noted = files["talk (copy).mp3"]
    assert noted["status"] == "duplicate" and "the same recording as" in noted["reason"]
    assert noted["destination"] == files["talk.mp3"]["destination"]
    assert len(list((home / "out" / "talks").rglob("*.mp3"))) == 1
    assert (home / "inbox" / "copies" / "talk (copy).mp3").exists()  # left alone
    assert "duplicate" in result.stderr


@pytest.mark.models
def test_a_name_that_is_not_utf8_fails_alone_saying_how_to_rename_it(tmp_path, talk):
    # A disk or zip from an older system keeps names in Latin-1: "café" as the byte 0xE9,
    # which is not UTF-8. Such a name cannot go into the ledger, the log or the run's event
    # file; before, the first one ended the whole run on a UnicodeEncodeError.
    home = tmp_path
    inbox = home / "inbox"
    inbox.mkdir()
    (inbox / "good.mp3").write_bytes(talk.read_bytes())
    bad_file = inbox / os.fsdecode(b"caf\xe9 talk.mp3")
    bad_file.write_bytes(talk.read_bytes())
    bad_folder = inbox / os.fsdecode(b"Pr\xe9dications")
    bad_folder.mkdir()
    (bad_folder / "sermon.mp3").write_bytes(talk.read_bytes())
    config(home)
    result, summary = batch(home)
    assert result.returncode == 1, result.stderr  # failures: cron should look
    files = by_file(summary)
    assert files["good.mp3"]["status"] == "filed"
    for shown, path in (("caf\\xe9 talk.mp3", "caf\\xe9 talk.mp3"),
                        ("sermon.mp3", "Pr\\xe9dications/sermon.mp3")):
        failed = files[shown]
        assert failed["status"] == "failed" and failed["stage"] == "discover"
        assert "not UTF-8 text" in failed["reason"] and path in failed["reason"]
        assert "rename it" in failed["reason"]
        assert f"{shown}: FAILED at discover" in result.stderr
    assert summary["filed"] == 1 and summary["failed"] == 2
    assert bad_file.read_bytes() == talk.read_bytes()  # left as it was
    assert (bad_folder / "sermon.mp3").read_bytes() == talk.read_bytes()
    assert "not UTF-8 text" in (home / "talks.log").read_text(encoding="utf-8")
    status = subprocess.run([sys.executable, "-m", "tui.cli", "--config",
                             str(home / "config.toml"), "status", "--json"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    counts = json.loads(status.stdout)["counts"]
    assert (counts["filed"], counts["failed"], counts["new"]) == (1, 2, 0), counts
    # Renamed, it is filed like any other.
    bad_file.rename(inbox / "café talk.mp3")
    again, summary = batch(home)
    files = by_file(summary)
    assert files["café talk.mp3"]["status"] == "duplicate"  # the same bytes as good.mp3
    assert files["good.mp3"]["status"] == "unchanged"
    assert [f for f in summary["files"] if f["status"] == "failed"] == [files["sermon.mp3"]]


# --- three hours --------------------------------------------------------------------------

@pytest.mark.slow
def test_a_three_hour_recording_goes_through_probe_and_chunk_planning(tmp_path, talk):
    """Made with sox (a talk and a pause, repeated to 3 hours, as 8 kHz µ-law: 86 MB, quick
    to write); transcribing all of it is the benchmark's job."""
    speech, piece = tmp_path / "speech.wav", tmp_path / "piece.wav"
    ffmpeg("-i", str(talk), "-ar", "16000", "-ac", "1", str(speech))  # sox may lack mp3
    subprocess.run(["sox", "-D", str(speech), str(piece), "pad", "0", "2"], check=True)
    seconds = float(subprocess.run(["soxi", "-D", str(piece)], capture_output=True,
                                   text=True, check=True).stdout)
    repeats = int(3 * 3600 / seconds) + 1
    long_file = tmp_path / "three hours.wav"
    subprocess.run(["sox", "-D", str(piece), "-r", "8000", "-e", "u-law", str(long_file),
                    "repeat", str(repeats - 1)], check=True)
    began = time.monotonic()
    info = probe(long_file)
    probed_in = time.monotonic() - began
    assert abs(info.duration - repeats * seconds) < 2.0, info
    assert info.duration > 3 * 3600
    plan = plan_chunks(info.duration, 300.0,
                       lambda lo, hi: quietest_point(decode_range(long_file, lo, hi - lo), lo))
    assert plan[0][0] == 0.0 and abs(plan[-1][1] - info.duration) < 0.01
    assert all(a[1] == b[0] for a, b in zip(plan, plan[1:], strict=False))  # no gap, no overlap
    assert 34 <= len(plan) <= 40
    assert all(0 < end - start <= 300 * 1.2 for start, end in plan)
    print(f"3-hour recording: probed in {probed_in:.1f} s, {len(plan)} chunks planned")


def test_the_default_config_takes_ogg_and_opus():
    from pipeline.config.settings import InputConfig

    assert {".ogg", ".opus"} <= set(InputConfig().extensions)
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    assert '".ogg"' in text and '".opus"' in text
    assert os.path.exists(ROOT / "config.toml")
