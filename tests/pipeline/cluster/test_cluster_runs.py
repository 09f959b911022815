"""Runs through a real local Ray cluster (`ray start` with worker processes): the archive a
cluster files is the archive this machine files alone, and a worker killed in the middle of
a transcription costs only its chunk in progress.

One cluster for the module (three CPUs); the talks are espeak-ng and flite speech of a few
seconds, transcribed by tiny.en, and a speaker library of two flite voices, so the voice
embedding runs on the cluster too.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support.paths import ROOT
from tests.support.ray_cluster import LocalCluster, local_cluster
from tests.support.speech import TALKS, make_long_talk, make_talk
from tests.support.voices import make_talk_by, tts_speakers

pytestmark = [pytest.mark.models, pytest.mark.cluster, pytest.mark.xdist_group("cluster")]

# Tell the run's process whether it imported Ray, once it is done.
RUN = ("import atexit, sys\n"
       "atexit.register(lambda: print('ray imported:', 'ray' in sys.modules, file=sys.stderr))\n"
       "from tui.cli import main\n"
       "sys.argv = ['talks'] + sys.argv[1:]\n"
       "sys.exit(main())\n")


def write_config(home: Path, address: str = "", shared: dict[str, str] | None = None) -> Path:
    table = ", ".join(f'"{a}" = "{b}"' for a, b in (shared or {}).items())
    text = ('[input]\nfolders = ["inbox"]\nmin_duration_s = 3.0\nsettle_seconds = 0.2\n'
            '[output]\nroot = "out"\n'
            '[speakers]\nfolder = "people"\nsample_offset_s = 0.0\nskip_end_s = 0.0\n'
            'sample_seconds = 4.0\n'
            '[transcription]\nchunk_seconds = 10\nmodel_cache = "models"\n'
            'check_language = false\nthreads = 1\nstreams = 1\n'
            f'[cluster]\naddress = "{address}"\nshared_paths = {{{table}}}\n')
    path = home / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run(config: Path, env: dict[str, str] | None = None, wait: bool = True):
    cmd = [sys.executable, "-c", RUN, "--config", str(config), "--batch", "--json"]
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    if not wait:
        return subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True,
                          timeout=300)


def archive(home: Path) -> dict[str, str]:
    """Every filed talk and transcript by its path in the output root; a transcript's words."""
    out = home / "out"
    found = {}
    for sub in ("talks", "transcripts"):
        for path in sorted((out / sub).rglob("*")):
            if path.is_file():
                found[str(path.relative_to(out))] = (
                    path.read_text(encoding="utf-8") if path.suffix == ".txt" else "")
    return found


@pytest.fixture(scope="module")
def cluster():
    with local_cluster(cpus=3) as started:
        yield started


@pytest.fixture(scope="module")
def material(tmp_path_factory) -> Path:
    """Three short talks, one by a person of the library."""
    home = tmp_path_factory.mktemp("material")
    people = tts_speakers(home / "clips", clips_per_voice=2, sentences_per_clip=2,
                          voices=("kal", "slt"))
    (home / "people").mkdir()
    for person, clips in people.items():
        for n, clip in enumerate(clips, start=1):
            shutil.copy(clip, home / "people" / f"{person}_{n}.wav")
    inbox = home / "inbox"
    inbox.mkdir()
    make_talk(inbox / "bees.mp3", TALKS["bees"][:3], year=2019)
    make_talk(inbox / "patience.mp3", TALKS["forgiveness"][:3], year=2020)
    make_talk_by("kal", inbox / "by kal.wav", 12, clips_per_voice=2, sentences_per_clip=2)
    return home


def copy_of(material: Path, where: Path) -> Path:
    shutil.copytree(material / "inbox", where / "inbox")
    shutil.copytree(material / "people", where / "people")
    return where


@pytest.fixture(scope="module")
def both_runs(material, cluster: LocalCluster, tmp_path_factory):
    alone = copy_of(material, tmp_path_factory.mktemp("alone"))
    together = copy_of(material, tmp_path_factory.mktemp("together"))
    done_alone = run(write_config(alone))
    done_together = run(write_config(together, cluster.address), cluster.env)
    return alone, done_alone, together, done_together


def test_a_cluster_files_the_archive_this_machine_files(both_runs):
    alone, done_alone, together, done_together = both_runs
    assert done_alone.returncode == 0, done_alone.stderr
    assert done_together.returncode == 0, done_together.stderr
    assert json.loads(done_together.stdout)["filed"] == 3
    filed = archive(together)
    assert filed == archive(alone)  # the same paths, titles, speakers and words
    assert any("/kal" in p for p in filed), filed  # the voice was recognised on the cluster
    log = (together / "out" / "talks.log").read_text(encoding="utf-8")
    assert log.count("transcribe on Ray node") == 3 and log.count("identify on Ray node") == 3


def test_only_a_run_with_a_cluster_imports_ray(both_runs):
    _alone, done_alone, _together, done_together = both_runs
    assert "ray imported: False" in done_alone.stderr
    assert "ray imported: True" in done_together.stderr


def chunks_done(ledger: Path, talk: str = "") -> int:
    """Chunks saved in the ledger (of the talk whose file name contains `talk`, if given)."""
    try:
        with sqlite3.connect(ledger, timeout=5) as db:
            return db.execute("SELECT COUNT(chunks.text) FROM chunks JOIN files "
                              "ON files.id = chunks.file_id WHERE files.path LIKE ?",
                              (f"%{talk}%",)).fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_worker_killed_mid_transcription_costs_only_its_chunk(cluster: LocalCluster,
                                                                 tmp_path: Path):
    """Its talk's audio reaches the node through a shared folder this time (a second path
    to the inbox, as a node would mount it)."""
    home = tmp_path
    make_long_talk(home / "inbox" / "long river.mp3", 40, topics=["kayaking"], year=2021)
    make_talk(home / "inbox" / "bees.mp3", TALKS["bees"][:2], year=2019)
    (home / "people").mkdir()
    (home / "mounted").symlink_to(home / "inbox")
    config = write_config(home, cluster.address, {str(home / "inbox"): str(home / "mounted")})
    batch = run(config, cluster.env, wait=False)
    ledger = home / "out" / ".talks" / "ledger.sqlite"
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and batch.poll() is None:
        # A chunk of the long talk saved: its task has said where it started, so its second
        # start says it runs again. Every transcribing task then is killed (the short talk's
        # too, if it is still at work): each must cost only its chunk under way.
        if chunks_done(ledger, "long river") >= 1:
            for proc in cluster.task_processes("talks-transcribe"):
                proc.kill()
                killed = proc.pid
        time.sleep(0.1)
    out, err = batch.communicate(timeout=240)
    assert killed is not None, err
    assert batch.returncode == 0, err
    summary = json.loads(out)
    assert summary["filed"] == 2 and summary["failed"] == 0
    log = (home / "out" / "talks.log").read_text(encoding="utf-8")
    assert "runs again, on Ray node" in log
    events = [json.loads(line) for line in
              (home / "out" / ".talks" / "run-events.jsonl").read_text().splitlines()[1:]]
    said = Counter((e["file"], e["index"]) for e in events if e["type"] == "ChunkDone")
    assert said and max(said.values()) == 1, said  # no chunk done twice
    with sqlite3.connect(ledger) as db:
        rows = db.execute("SELECT state, destination FROM files").fetchall()
        chunks = db.execute("SELECT file_id, COUNT(*), COUNT(text) FROM chunks "
                            "GROUP BY file_id").fetchall()
    assert sorted(r[0] for r in rows) == ["filed", "filed"]
    assert len({r[1] for r in rows}) == 2  # two talks, each filed once
    assert all(count == done for _f, count, done in chunks)
    assert len(list((home / "out" / "talks").rglob("*.mp3"))) == 2


def saved_chunks(ledger: Path) -> dict[tuple[int, int], tuple[int, str]]:
    with sqlite3.connect(ledger, timeout=5) as db:
        rows = db.execute("SELECT file_id, idx, run_id, text FROM chunks "
                          "WHERE text IS NOT NULL").fetchall()
    return {(f, i): (r, t) for f, i, r, t in rows}


def test_the_head_killed_mid_run_resumes_and_leaves_no_orphan(cluster: LocalCluster,
                                                               tmp_path: Path):
    """kill -9 of `talks --batch` itself while the cluster transcribes: Ray ends the run's
    tasks (their job's driver is gone), nothing is written after the head's death (the
    ledger is reached only through it), and the next run files every talk once without
    doing the saved chunks again."""
    home = tmp_path
    make_long_talk(home / "inbox" / "long bread.mp3", 20, topics=["sourdough"], year=2022)
    make_talk(home / "inbox" / "bees.mp3", TALKS["bees"][:2], year=2019)
    (home / "people").mkdir()
    config = write_config(home, cluster.address)
    batch = run(config, cluster.env, wait=False)
    ledger = home / "out" / ".talks" / "ledger.sqlite"
    deadline = time.monotonic() + 120
    while chunks_done(ledger) < 1 and time.monotonic() < deadline and batch.poll() is None:
        time.sleep(0.05)
    assert cluster.task_processes("talks-transcribe"), "no task was running to leave behind"
    batch.kill()
    batch.communicate(timeout=30)
    at_kill = saved_chunks(ledger)
    assert at_kill
    deadline = time.monotonic() + 30
    while cluster.task_processes("talks-transcribe") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not cluster.task_processes("talks-transcribe"), "a task outlived its run's head"
    assert saved_chunks(ledger) == at_kill  # nothing written for the dead run meanwhile

    again = run(config, cluster.env)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["filed"] == 2 and summary["failed"] == 0
    after = saved_chunks(ledger)
    assert {k: after[k] for k in at_kill} == at_kill  # same run, same words: not done again
    with sqlite3.connect(ledger) as db:
        rows = db.execute("SELECT state, destination FROM files").fetchall()
        chunks = db.execute("SELECT COUNT(*), COUNT(text) FROM chunks").fetchone()
    assert sorted(r[0] for r in rows) == ["filed", "filed"] and len({r[1] for r in rows}) == 2
    assert chunks[0] == chunks[1] == len(after)
    assert len(list((home / "out" / "talks").rglob("*.mp3"))) == 2
