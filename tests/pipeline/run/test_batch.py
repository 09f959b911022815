"""The whole headless path for real: espeak speech, ffmpeg, the tiny.en model, SQLite, files.

One inbox is filed once by `talks --batch` (a real subprocess) with faster-whisper, and each
test reads a different aspect of the result; mlx-whisper, the Mac's default, which runs here on
the CPU, files an inbox of its own (one talk of two chunks); the kill/resume and move tests make
inboxes of their own.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import jiwer
import psutil
import pytest

from pipeline.filing.cues import problems_in_file
from tests.support.paths import ROOT  # noqa: E402
from tests.support.speech import (
    TALKS,
    audio_md5,
    make_long_talk,
    make_not_audio,
    make_talk,
    normalize_words,
    sentence_times,
)

pytestmark = [pytest.mark.models]

MAX_WER = 0.15  # tiny.en on espeak-ng speech; measured around 0.02–0.08 here
CHUNK_SECONDS = 20
# mlx runs here on the CPU with a reference BLAS: its encoder takes ~12 s for each 30-s window
# whatever is in it, so its inbox is one talk of two chunks (two windows; five windows cost
# ~160 s of the suite). What the other talks prove (years from a tag and from the file time, a
# unicode folder, the bad file reported, a second run, a full scan) is the runner's, the same
# whatever engine the worker holds, and is heard through with faster-whisper.
MATERIAL = {"faster-whisper": {"sentences": 11, "long_s": 55, "chunk_s": 20, "kill_talk_s": 90},
            "mlx": {"long_s": 16, "chunk_s": 10}}


def write_config(folder: Path, **overrides: str) -> Path:
    max_duration = overrides.pop("max_duration_s", "600.0")
    sections = {
        # The files are made just before the run: a short quiet period, or each run waits.
        "input": f'folders = ["inbox"]\nmin_duration_s = 3.0\nmax_duration_s = {max_duration}\n'
                 f'settle_seconds = {overrides.pop("settle_seconds", "0.5")}',
        "output": f'root = "out"\noriginals = "{overrides.pop("originals", "keep")}"',
        "transcription": f'chunk_seconds = {overrides.pop("chunk_seconds", CHUNK_SECONDS)}\n'
                         f'engine = "{overrides.pop("engine", "faster-whisper")}"\n'
                         'model_cache = "models"\n'
                         'check_language = false',  # English: test_batch_languages.py hears
        "logging": 'file = "out/talks.log"',
    }
    assert not overrides, overrides
    text = "\n".join(f"[{name}]\n{body}\n" for name, body in sections.items())
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def batch(config: Path, *extra: str, wait: bool = True):
    cmd = [sys.executable, "-m", "tui.cli", "--config", str(config), "--batch", "--json", *extra]
    if not wait:
        return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def wer(reference: str, hypothesis: str) -> float:
    return jiwer.wer(normalize_words(reference), normalize_words(hypothesis))


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def filed(tmp_path_factory):
    """Three talks (one over two chunks, one in a unicode subfolder) and one non-audio file,
    filed by one real batch run with faster-whisper."""
    engine = "faster-whisper"
    home = tmp_path_factory.mktemp(f"library-{engine}")
    inbox = home / "inbox"
    (inbox / "Été 2024 – conférences").mkdir(parents=True)
    size = MATERIAL[engine]
    spoken = {
        "bees.mp3": make_talk(inbox / "bees.mp3", TALKS["bees"][:size["sentences"]],
                              year=2019),
        "long kayaking.wav": make_long_talk(inbox / "long kayaking.wav", size["long_s"],
                                            topics=["kayaking"], year=2021),
        "Été 2024 – conférences/pain au levain.m4a": make_talk(
            inbox / "Été 2024 – conférences" / "pain au levain.m4a",
            TALKS["sourdough"][:size["sentences"]]),
    }
    # No date tag: the year must come from the file time, not from today.
    untagged = inbox / "Été 2024 – conférences" / "pain au levain.m4a"
    old = time.mktime((2016, 6, 1, 12, 0, 0, 0, 0, -1))
    os.utime(untagged, (old, old))
    make_not_audio(inbox / "notes.mp3")
    config = write_config(home, engine=engine, chunk_seconds=str(size["chunk_s"]))
    result = batch(config)
    return home, config, spoken, result


# Its own group, so it can run on another worker beside the faster-whisper run (a fixture of
# this module would otherwise put both in the module's one group).
MLX_GROUP = "test_batch.py-mlx"


@pytest.fixture(scope="module")
def filed_by_mlx(tmp_path_factory):
    """One talk of two chunks filed by one real batch run with mlx."""
    pytest.importorskip("mlx_whisper")
    home = tmp_path_factory.mktemp("library-mlx")
    size = MATERIAL["mlx"]
    spoken = {"long kayaking.wav": make_long_talk(home / "inbox" / "long kayaking.wav",
                                                  size["long_s"], topics=["kayaking"],
                                                  year=2021)}
    config = write_config(home, engine="mlx", chunk_seconds=str(size["chunk_s"]))
    result = batch(config)
    return home, config, spoken, result


def summary_of(result: subprocess.CompletedProcess) -> dict:
    return json.loads(result.stdout)


def test_batch_files_every_talk_and_reports_the_bad_one(filed):
    home, _config, spoken, result = filed
    summary = summary_of(result)
    assert result.returncode == 1, result.stderr  # one file failed, the rest were done
    assert summary["filed"] == 3 and summary["failed"] == 1
    failed = [f for f in summary["files"] if f["status"] == "failed"]
    assert failed[0]["file"] == "notes.mp3" and failed[0]["stage"] == "probe"
    assert "move it out of the input folder" in failed[0]["reason"]
    talks = files_under(home / "out" / "talks")
    assert len(talks) == 3
    misc = "Miscellaneous Speakers"
    years = {p.suffix: p.relative_to(home / "out" / "talks").parts[:2] for p in talks}
    assert years[".mp3"] == ("2019", misc)
    assert years[".wav"] == ("2021", misc)
    assert years[".m4a"] == ("2016", misc)  # from the file time
    for talk in talks:
        assert talk.name.startswith(f"{misc} - ")
    # Originals are kept (the default) and byte-identical to their filed copies.
    for rel in spoken:
        assert (home / "inbox" / rel).is_file()


def test_titles_come_from_the_words_of_each_talk(filed):
    home, *_ = filed
    names = " ".join(p.stem.lower() for p in files_under(home / "out" / "talks"))
    assert "bee" in names
    assert "kayak" in names or "river" in names or "paddl" in names
    assert "bread" in names or "dough" in names or "starter" in names or "sourdough" in names


def transcripts_are_accurate_and_valid(home: Path, spoken: dict[str, str], engine: str) -> None:
    """Each filed talk's transcripts: the four formats, where they belong, close to the words
    spoken, valid cues inside the talk and in order, made by `engine`."""
    db = sqlite3.connect(home / "out" / ".talks" / "ledger.sqlite")
    rows = db.execute("SELECT path, transcripts, duration FROM files WHERE state = 'filed'")
    seen = 0
    for path, transcripts, duration in rows:
        rel = Path(path).relative_to(home / "inbox").as_posix()
        paths = {Path(p).suffix: Path(p) for p in json.loads(transcripts)}
        assert set(paths) == {".txt", ".srt", ".vtt", ".json"}
        for p in paths.values():
            assert p.name.endswith(f" (Transcript){p.suffix}")
            assert home / "out" / "transcripts" in p.parents
        text = paths[".txt"].read_text(encoding="utf-8")
        error = wer(spoken[rel], text)
        assert error <= MAX_WER, (rel, error, text)
        data = json.loads(paths[".json"].read_text(encoding="utf-8"))
        assert data["engine"] == engine
        for p in paths.values():
            assert problems_in_file(p, duration) == [], p
        segs = data["segments"]
        assert segs and all(0 <= s["start"] <= s["end"] <= duration + 0.5 for s in segs)
        assert all(a["start"] <= b["start"] for a, b in zip(segs, segs[1:], strict=False))
        srt = paths[".srt"].read_text(encoding="utf-8").strip().split("\n\n")
        assert len(srt) == len(segs)
        assert all(block.split("\n")[1].count(" --> ") == 1 for block in srt)
        vtt = paths[".vtt"].read_text(encoding="utf-8")
        assert vtt.startswith("WEBVTT\n\n") and vtt.count(" --> ") == len(segs)
        seen += 1
    assert seen == len(spoken)


def test_transcripts_are_accurate_and_in_four_valid_formats(filed):
    home, _config, spoken, _result = filed
    transcripts_are_accurate_and_valid(home, spoken, "faster-whisper")


def long_talk_chunks(home: Path) -> list[tuple[float, float, str | None]]:
    db = sqlite3.connect(home / "out" / ".talks" / "ledger.sqlite")
    (file_id,) = db.execute("SELECT id FROM files WHERE path LIKE '%long kayaking.wav'").fetchone()
    return db.execute("SELECT start, end, text FROM chunks WHERE file_id = ? ORDER BY idx",
                      (file_id,)).fetchall()


def test_long_talk_was_cut_in_pauses_into_more_than_two_chunks(filed):
    home, _config, spoken, _result = filed
    chunks = long_talk_chunks(home)
    assert len(chunks) >= 3
    assert all(text is not None for _s, _e, text in chunks)
    joined = " ".join(text for *_x, text in chunks)
    # No word split or doubled at a cut: the joined chunk texts match the script as a whole.
    assert wer(spoken["long kayaking.wav"], joined) <= MAX_WER


@pytest.mark.mlx
@pytest.mark.xdist_group(MLX_GROUP)
def test_an_mlx_run_files_its_talk_end_to_end_with_valid_cues(filed_by_mlx):
    home, _config, spoken, result = filed_by_mlx
    assert result.returncode == 0, result.stderr
    summary = summary_of(result)
    assert summary["filed"] == 1 and summary["failed"] == 0, result.stderr
    (talk,) = files_under(home / "out" / "talks")
    assert talk.relative_to(home / "out" / "talks").parts[:2] == ("2021", "Miscellaneous Speakers")
    assert any(w in talk.stem.lower() for w in ("kayak", "river", "paddl"))  # from its words
    # The cues in order and inside the talk: the second chunk's times carried over the cut.
    transcripts_are_accurate_and_valid(home, spoken, "mlx")
    chunks = long_talk_chunks(home)
    assert len(chunks) == 2 and all(text for *_x, text in chunks)
    assert wer(spoken["long kayaking.wav"], " ".join(text for *_x, text in chunks)) <= MAX_WER
    log = (home / "out" / "talks.log").read_text(encoding="utf-8")
    for label in ("worker started", "model loaded", "chunk 2/2", "model unloaded"):
        assert f"memory {label}" in log, label


def test_second_run_files_nothing_new_even_after_a_rename(filed):
    home, config, _spoken, _result = filed
    before = files_under(home / "out")
    (home / "inbox" / "bees.mp3").rename(home / "inbox" / "renamed bees.mp3")
    again = batch(config)
    summary = summary_of(again)
    assert summary["filed"] == 0 and summary["unchanged"] == 3, again.stderr
    ignore = {"talks.log"}
    assert [p for p in files_under(home / "out") if p.name not in ignore and p.suffix not in
            (".sqlite-wal", ".sqlite-shm")] == \
           [p for p in before if p.name not in ignore and p.suffix not in
            (".sqlite-wal", ".sqlite-shm")]


def test_memory_checkpoints_reach_the_log(filed):
    home, *_ = filed
    log = (home / "out" / "talks.log").read_text(encoding="utf-8")
    for label in ("file start", "after probe", "worker started", "model loaded", "chunk 1/",
                  "model unloaded", "file done"):
        assert f"memory {label}" in log, label


def test_duration_filter_skips_without_failing(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    make_talk(inbox / "short.wav", TALKS["bees"][:2])
    config = write_config(tmp_path, max_duration_s="4.0")
    result = batch(config)
    summary = summary_of(result)
    assert result.returncode == 0
    assert summary["skipped"] == 1 and summary["filed"] == 0
    assert "max_duration_s" in summary["files"][0]["reason"]
    assert not (tmp_path / "out" / "talks").exists()


def ledger_chunks(ledger: Path) -> list[tuple[int, int | None]]:
    if not ledger.exists():
        return []
    db = sqlite3.connect(ledger, timeout=5)
    try:
        return db.execute("SELECT idx, run_id FROM chunks ORDER BY idx").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


# faster-whisper only: what a kill and a resume test (the worker dies with its parent, the
# ledger's saved chunks are kept and not redone) is the run's, the same whatever engine the
# worker holds; mlx's whole batch is heard through above (its kill cost 70-85 s here).
@pytest.mark.parametrize("engine", ["faster-whisper"])
def test_killed_batch_resumes_at_the_next_chunk_without_duplicates(tmp_path, engine):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    spoken = make_long_talk(inbox / "long.mp3", MATERIAL[engine]["kill_talk_s"],
                            topics=["lighthouses", "bees"], year=2020)
    config = write_config(tmp_path, chunk_seconds="10", engine=engine)
    ledger = tmp_path / "out" / ".talks" / "ledger.sqlite"
    proc = batch(config, wait=False)
    deadline = time.monotonic() + 300
    workers: list[psutil.Process] = []
    while time.monotonic() < deadline:
        done = [c for c in ledger_chunks(ledger) if c[1] is not None]
        workers = psutil.Process(proc.pid).children(recursive=True) or workers
        if len(done) >= 2:
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    first = [c for c in ledger_chunks(ledger) if c[1] is not None]
    total = len(ledger_chunks(ledger))
    assert 2 <= len(first) < total
    # The worker must not go on alone once its parent is gone.
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive
    assert not (tmp_path / "out" / "talks").exists()

    result = batch(config)
    assert result.returncode == 0, result.stderr
    assert f"{len(first)} done before" in result.stderr
    after = ledger_chunks(ledger)
    assert len(after) == total
    first_run = first[0][1]
    # Chunks finished before the kill were not transcribed again.
    assert [c for c in after if c[1] == first_run] == first
    assert all(run_id is not None for _idx, run_id in after)
    talks = files_under(tmp_path / "out" / "talks")
    assert len(talks) == 1
    assert len(files_under(tmp_path / "out" / "transcripts")) == 4
    text = next(p for p in files_under(tmp_path / "out" / "transcripts") if p.suffix == ".txt")
    heard = text.read_text(encoding="utf-8")
    # tiny.en hears this talk's "lighthouse" as "light has" and 10-s chunks cut words at
    # their edges (0.16 here), so the bound is looser than MAX_WER; a chunk lost or heard
    # twice is ~25 of the talk's ~150 words, which the word count catches.
    assert wer(spoken, heard) <= 0.22
    assert abs(len(heard.split()) - len(spoken.split())) <= 0.1 * len(spoken.split())


def backup_of(home: Path) -> Path:
    (backup,) = files_under(home / "out" / "raw")
    return backup


def test_move_mode_removes_the_original_only_after_a_verified_copy(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    original = inbox / "patience.mp3"
    make_talk(original, TALKS["forgiveness"][:5], year=2018)
    data = original.read_bytes()
    config = write_config(tmp_path, originals="move")
    result = batch(config)
    assert result.returncode == 0, result.stderr
    assert not original.exists()
    (talk,) = files_under(tmp_path / "out" / "talks")
    # The filed copy is the original plus talks' tags: the same audio, frame for frame.
    assert talk.read_bytes() != data and audio_md5(talk) == audio_md5(backup_of(tmp_path))
    (backup,) = files_under(tmp_path / "out" / "raw")
    assert backup.read_bytes() == data and backup.parent.name == "2018"


# Full scan is the runner's, not the engine's: heard through with faster-whisper.
def test_full_scan_redoes_but_never_duplicates(filed):
    home, config, _spoken, _result = filed
    before = files_under(home / "out" / "talks")
    result = batch(config, "--full-scan")
    summary = summary_of(result)
    assert summary["filed"] == 3, result.stderr
    assert files_under(home / "out" / "talks") == before
    assert len(files_under(home / "out" / "transcripts")) == 12
    # Each redone talk's words left the index as it was started over and came back once.
    db = sqlite3.connect(home / "out" / ".talks" / "ledger.sqlite")
    assert db.execute("SELECT COUNT(*) FROM search_talks").fetchone()[0] == 3
    passages = db.execute("SELECT COUNT(*) FROM search_passages").fetchone()[0]
    assert db.execute("SELECT COUNT(*) FROM search_words").fetchone()[0] == passages
    assert db.execute("SELECT COUNT(*) FROM search_words WHERE search_words MATCH 'pollination'"
                      ).fetchone()[0] >= 1
    db.close()


def test_a_search_hit_lands_within_two_seconds_of_the_words(filed):
    """Issue 31: each bees sentence's own word, searched in the filed archive, is reported
    where espeak said it (its sentence's start, and its share of the sentence's length)."""
    from pipeline.api.search import search_archive
    from pipeline.config.settings import load_config

    home, config_path, _spoken, _result = filed
    config = load_config(config_path)
    sentences = TALKS["bees"][:MATERIAL["faster-whisper"]["sentences"]]
    times = sentence_times(sentences)
    words = [set(normalize_words(s).split()) for s in sentences]
    found, errors = 0, []
    for i, sentence in enumerate(sentences):
        own = sorted(words[i] - set().union(*(w for j, w in enumerate(words) if j != i)),
                     key=len)
        if not own:
            continue
        word = own[-1]
        # Only the bees talk is from 2019.
        hits = [h for t in search_archive(config, word, years=(2019, 2019)) for h in t.hits]
        if not hits:
            continue  # tiny.en heard it otherwise
        found += 1
        start, end = times[i]
        spoken = normalize_words(sentence).split()
        share = spoken.index(word) / len(spoken)
        expected = start + share * (end - start)
        errors.append(min(abs(h.at - expected) for h in hits))
    assert found >= 8, f"only {found} of {len(sentences)} sentences' words found"
    assert max(errors) <= 2.0, errors
