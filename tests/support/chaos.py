"""The chaos harness: SIGKILL a real run at chosen moments, then prove nothing was lost.

    make chaos                              # 60 seeded trials, table into docs/reliability.md
    python -m tests.support.chaos --trials 8        # a short run (make test runs one like it)

Each trial takes a fresh library (two multi-chunk talks, one in a sub-folder, and a speaker
library of two people, so the speaker worker runs), picks a moment, and kills the whole run
there with SIGKILL — the main process and its worker at once, as `kill -9` of the process
group would. The moments are named kill points in the code (common/chaos.py): the start of
each stage, inside transcription (a random delay after a chunk is committed, so the kill
lands in the middle of the next), and each step of filing — the copy, its fsync, the rename,
the ledger's commit, the raw backup, the removal of a moved original — plus relabelling and
`speakers add/rename`. Trials cycle through the moments in a seeded order, so every one is hit
about equally often, each time with a random file, chunk and delay.

After the kill a clean run must complete (exit 0), and then:
  - every original's bytes exist: in the inbox, as a filed talk, or as a raw backup;
  - no talk is filed twice (no two files under talks/ with the same content);
  - no `.part` file is left anywhere;
  - the ledger passes PRAGMA integrity_check, every talk is filed, and its files exist;
  - chunks finished before the kill were not transcribed again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.paths import ROOT  # noqa: E402


@dataclass(frozen=True)
class Moment:
    stage: str    # the row of the table
    point: str    # the kill point's name in the code
    kind: str     # batch, batch-move, relabel, speakers-add, speakers-rename
    max_nth: int  # how many times the point is reached in one run (at least)
    max_delay_ms: int = 0


MOMENTS = [
    Moment("probe", "stage.probe", "batch", 2, 150),
    Moment("transcribe", "stage.transcribe", "batch", 2, 2500),
    Moment("transcribe", "transcribe.chunk", "batch", 4, 2500),
    Moment("identify", "stage.identify", "batch", 2, 3000),
    Moment("title", "stage.title", "batch", 2, 30),
    Moment("organize: copy", "organize.copy", "batch", 2),
    Moment("organize: fsync", "organize.fsync", "batch", 2),
    Moment("organize: rename", "organize.rename", "batch", 2),
    Moment("organize: ledger commit", "organize.commit", "batch", 2),
    Moment("organize: ledger commit", "organize.committed", "batch", 2),
    Moment("organize: raw backup", "organize.raw.copy", "batch", 2),
    Moment("organize: raw backup", "organize.raw.rename", "batch", 2),
    Moment("organize: remove moved original", "organize.release", "batch-move", 2),
    Moment("organize: remove moved original", "organize.released", "batch-move", 2),
    Moment("relabel", "relabel.link", "relabel", 1),
    Moment("relabel", "relabel.transcripts", "relabel", 1),
    Moment("relabel", "relabel.unlink", "relabel", 1),
    Moment("relabel", "relabel.commit", "relabel", 1),
    Moment("speakers add", "speakers.cut", "speakers-add", 1, 120),  # while ffmpeg cuts
    Moment("speakers add", "speakers.add", "speakers-add", 1),       # cut, not yet named
    Moment("speakers rename", "speakers.rename", "speakers-rename", 2),
]


@dataclass
class Trial:
    moment: Moment
    nth: int
    delay_ms: int
    killed: bool = False
    losses: int = 0
    duplicates: int = 0
    parts: int = 0
    ledger_ok: bool = True
    redone: int = 0
    clean_run_ok: bool = True
    problems: list[str] = field(default_factory=list)

    @property
    def sound(self) -> bool:
        return not (self.losses or self.duplicates or self.parts or self.redone
                    or not self.ledger_ok or not self.clean_run_ok or self.problems)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# The talks' lengths: 3 chunks of 10 s each, two workers a talk (chunks_per_worker = 2).
FULL_TALKS = (22.0, 21.0)
# 2 chunks each, one worker a talk: enough for a kill between chunks (`make test`'s short run
# of transcribe.chunk), each batch a third quicker.
SHORT_TALKS = (14.0, 13.0)
# One chunk each: for the points that happen after transcription or outside a batch (filing,
# relabel, speakers), whose trials then cost half the transcription.
ONE_CHUNK_TALKS = (9.0, 8.0)


def make_corpus(folder: Path, seconds: tuple[float, float] = FULL_TALKS) -> Path:
    """Two multi-chunk talks of about `seconds`, and two enrolled people; made once per
    harness run."""
    from tests.support.speech import TALKS, make_long_talk, make_talk

    corpus = folder / "corpus"
    if (corpus / "done").exists():
        return corpus
    make_long_talk(corpus / "inbox" / "bees and honey.mp3", seconds[0], topics=["bees"],
                   year=2019)
    make_long_talk(corpus / "inbox" / "Été" / "lighthouses.m4a", seconds[1],
                   topics=["lighthouses"], seed=3)
    make_talk(corpus / "library" / "Sarah Lane.wav", TALKS["sourdough"][:2], tool="flite",
              voice="slt")
    make_talk(corpus / "library" / "Sarah Lane_1.wav", TALKS["bees"][4:6], tool="flite",
              voice="slt")  # two clips: a rename can be killed between them
    make_talk(corpus / "library" / "Robert Moss.wav", TALKS["kayaking"][:2], tool="flite",
              voice="rms")
    make_talk(corpus / "clip.wav", TALKS["forgiveness"][:2], tool="flite", voice="slt")
    (corpus / "done").write_text("")
    return corpus


def new_home(corpus: Path, trial_dir: Path, move: bool) -> Path:
    home = trial_dir / "home"
    shutil.copytree(corpus / "inbox", home / "inbox")
    shutil.copytree(corpus / "library", home / "library")
    (home / "config.toml").write_text(
        '[input]\nfolders = ["inbox"]\nmin_duration_s = 1.0\nsettle_seconds = 0\n'
        f'[output]\nroot = "out"\noriginals = "{"move" if move else "keep"}"\n'
        'raw_backup = true\n'
        '[speakers]\nfolder = "library"\nsample_count = 2\nsample_seconds = 6.0\n'
        'sample_offset_s = 2.0\nskip_end_s = 2.0\n'
        '[transcription]\ncheck_language = false\nchunk_seconds = 10\nchunks_per_worker = 2\n'
        '[logging]\nfile = "out/talks.log"\n', encoding="utf-8")
    return home


def talks(home: Path, *args: str, chaos: str = "", chaos_dir: Path | None = None,
          timeout: float = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("TALKS_CHAOS", None)
    if chaos:
        env.update(TALKS_CHAOS=chaos, TALKS_CHAOS_DIR=str(chaos_dir))
    return subprocess.run([sys.executable, "-m", "tui.cli", "--config",
                           str(home / "config.toml"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout,
                          start_new_session=True)  # its own group: the kill takes only it


def ledger_of(home: Path) -> Path:
    return home / "out" / ".talks" / "ledger.sqlite"


def done_chunks(home: Path) -> set[tuple[int, int, int]]:
    if not ledger_of(home).exists():
        return set()
    db = sqlite3.connect(ledger_of(home))
    try:
        return set(db.execute("SELECT file_id, idx, run_id FROM chunks WHERE text IS NOT NULL"))
    except sqlite3.Error:
        return set()
    finally:
        db.close()


def check(trial: Trial, home: Path, originals: dict[str, bytes],
          chunks_before: set[tuple[int, int, int]]) -> None:
    out = home / "out"
    present: Counter[str] = Counter()
    for folder in (home / "inbox", out / "talks", out / "raw"):
        for path in folder.rglob("*") if folder.exists() else []:
            if path.is_file():
                present[sha(path)] += 1
    trial.losses = sum(1 for digest in originals if not present[digest])
    trial.parts = len([p for p in home.rglob("*") if ".part" in p.name])
    db = sqlite3.connect(ledger_of(home))
    try:
        trial.ledger_ok = db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = db.execute("SELECT hash, filed_hash, state, destination, transcripts "
                          "FROM files").fetchall()
        after = set(db.execute("SELECT file_id, idx, run_id FROM chunks "
                               "WHERE text IS NOT NULL"))
    finally:
        db.close()
    # A filed copy carries tags, so its bytes differ from the original's: the ledger's
    # filed_hash says which original a filed file is.
    original_of = {filed_hash: digest for digest, filed_hash, *_ in rows if filed_hash}
    filed = Counter(original_of.get(sha(p), sha(p)) for p in (out / "talks").rglob("*")
                    if p.is_file()) if (out / "talks").exists() else Counter()
    trial.duplicates = sum(n - 1 for n in filed.values() if n > 1)
    for digest, filed_hash, state, destination, transcripts in rows:
        if state != "filed":
            trial.problems.append(f"a talk is {state} after the clean run")
        elif not destination or not Path(destination).is_file() or \
                sha(Path(destination)) not in (digest, filed_hash):
            trial.problems.append(f"the ledger's destination {destination} is not the talk")
        elif any(not Path(t).is_file() for t in json.loads(transcripts or "[]")):
            trial.problems.append(f"a transcript of {destination} is missing")
    if {digest for digest, *_ in rows} != set(originals):
        trial.problems.append("the ledger does not hold every recording once")
    trial.redone = len(chunks_before - after)
    if set(filed) != set(originals):
        trial.problems.append("not every recording is filed")


def run_trial(trial: Trial, corpus: Path, work: Path) -> Trial:
    m = trial.moment
    trial_dir = Path(tempfile.mkdtemp(prefix="trial-", dir=work))
    chaos_dir = trial_dir / "chaos"
    chaos_dir.mkdir()
    home = new_home(corpus, trial_dir, move=m.kind == "batch-move")
    originals = {sha(p): p.read_bytes() for p in (home / "inbox").rglob("*") if p.is_file()}
    spec = f"{m.point}:{trial.nth}:{trial.delay_ms}"
    if m.kind in ("batch", "batch-move"):
        killed = talks(home, "--batch", chaos=spec, chaos_dir=chaos_dir)
    elif m.kind == "relabel":
        prepared = talks(home, "--batch")
        if prepared.returncode != 0:
            trial.problems.append(f"preparing run failed: {prepared.stderr[-300:]}")
            return trial
        killed = talks(home, "relabel", "1", "Ann Lee", chaos=spec, chaos_dir=chaos_dir)
    elif m.kind == "speakers-add":
        killed = talks(home, "speakers", "add", "Ann Lee", str(corpus / "clip.wav"),
                       chaos=spec, chaos_dir=chaos_dir)
    else:
        killed = talks(home, "speakers", "rename", "Sarah Lane", "Sarah Moss", chaos=spec,
                       chaos_dir=chaos_dir)
    trial.killed = killed.returncode == -signal.SIGKILL
    if not trial.killed and killed.returncode != 0:
        trial.problems.append(f"the run to kill failed on its own ({killed.returncode}): "
                              f"{killed.stderr[-300:]}")
    chunks_before = done_chunks(home)
    # The clean run: the interrupted command again (when it was interrupted), then a batch.
    if not trial.killed:
        pass
    elif m.kind == "relabel":
        again = talks(home, "relabel", "1", "Ann Lee")
        trial.clean_run_ok &= again.returncode == 0
        if again.returncode:
            trial.problems.append(f"relabel again: {again.stderr[-300:]}")
    elif m.kind == "speakers-add":
        again = talks(home, "speakers", "add", "Ann Lee", str(corpus / "clip.wav"))
        trial.clean_run_ok &= again.returncode == 0
    elif m.kind == "speakers-rename":
        # What a user does after a kill: the same command again. It finishes the change
        # from its journal, whether the kill came between two clips or after the last.
        again = talks(home, "speakers", "rename", "Sarah Lane", "Sarah Moss")
        trial.clean_run_ok &= again.returncode == 0
        if again.returncode:
            trial.problems.append(f"rename again: {again.stderr[-300:]}")
        elif list((home / "library").glob("Sarah Lane*")):
            trial.problems.append("rename again left clips under the old name")
    clean = talks(home, "--batch")
    trial.clean_run_ok &= clean.returncode == 0
    if clean.returncode:
        trial.problems.append(f"clean run exit {clean.returncode}: {clean.stderr[-300:]}")
    check(trial, home, originals, chunks_before)
    if m.kind == "relabel":
        relabelled = list((home / "out" / "talks").rglob("Ann Lee - *"))
        if len(relabelled) != 1:
            trial.problems.append(f"{len(relabelled)} talks filed under Ann Lee")
    if m.kind.startswith("speakers"):
        library_check(trial, home, corpus)
    if trial.sound:
        shutil.rmtree(trial_dir, ignore_errors=True)
    else:
        trial.problems.append(f"kept for a look: {trial_dir}")
    return trial


def library_check(trial: Trial, home: Path, corpus: Path) -> None:
    """No clip lost or half-written; every clip is audio ffprobe reads."""
    from common.media import MediaError, probe

    clips = [p for p in (home / "library").rglob("*") if p.is_file()]
    kept = {sha(p) for p in clips}
    for original in (corpus / "library").iterdir():
        if sha(original) not in kept:
            trial.losses += 1
    for clip in clips:
        try:
            probe(clip)
        except MediaError:
            trial.problems.append(f"clip {clip.name} is not readable audio")


def plan(trials: int, seed: int, points: list[str] | None = None) -> list[Trial]:
    """Cycle through the moments (or those named) in a seeded order: each is hit about
    equally often."""
    rng = random.Random(seed)
    moments = [m for m in MOMENTS if points is None or m.point in points]
    chosen: list[Trial] = []
    while len(chosen) < trials:
        order = moments[:]
        rng.shuffle(order)
        for m in order[: trials - len(chosen)]:
            chosen.append(Trial(m, rng.randint(1, m.max_nth),
                                rng.randint(0, m.max_delay_ms) if m.max_delay_ms else 0))
    return chosen


def table(trials: list[Trial], seconds: float, seed: int) -> str:
    rows: dict[str, list[Trial]] = defaultdict(list)
    for t in trials:
        rows[t.moment.stage].append(t)
    lines = [f"{len(trials)} trials (seed {seed}, {seconds / 60:.0f} min), "
             f"{sum(t.killed for t in trials)} killed by SIGKILL:", "",
             "| stage killed in | trials | killed | losses | duplicates | .part left | "
             "ledger ok | chunks redone | clean run ok |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    order = list(dict.fromkeys(m.stage for m in MOMENTS))
    for stage in order:
        ts = rows.get(stage, [])
        if not ts:
            continue
        lines.append(f"| {stage} | {len(ts)} | {sum(t.killed for t in ts)} | "
                     f"{sum(t.losses for t in ts)} | {sum(t.duplicates for t in ts)} | "
                     f"{sum(t.parts for t in ts)} | {sum(t.ledger_ok for t in ts)}/{len(ts)} | "
                     f"{sum(t.redone for t in ts)} | {sum(t.clean_run_ok for t in ts)}/{len(ts)} |")
    lines.append(f"| **all** | {len(trials)} | {sum(t.killed for t in trials)} | "
                 f"{sum(t.losses for t in trials)} | {sum(t.duplicates for t in trials)} | "
                 f"{sum(t.parts for t in trials)} | "
                 f"{sum(t.ledger_ok for t in trials)}/{len(trials)} | "
                 f"{sum(t.redone for t in trials)} | "
                 f"{sum(t.clean_run_ok for t in trials)}/{len(trials)} |")
    return "\n".join(lines)


# The table lives in docs/reliability.md, between these markers (`--readme` writes it there).
README_START, README_END = "<!-- chaos table -->", "<!-- /chaos table -->"
TABLE_DOC = ROOT / "docs" / "reliability.md"


def put_in_readme(text: str) -> None:
    readme = TABLE_DOC
    content = readme.read_text(encoding="utf-8")
    if README_START in content and README_END in content:
        head, rest = content.split(README_START, 1)
        _old, tail = rest.split(README_END, 1)
        readme.write_text(f"{head}{README_START}\n{text}\n{README_END}{tail}", encoding="utf-8")


def run(trials: int, seed: int, work: Path | None = None, readme: bool = False,
        say=print, points: list[str] | None = None,
        talk_seconds: tuple[float, float] = FULL_TALKS) -> list[Trial]:
    began = time.monotonic()
    work = work or Path(tempfile.mkdtemp(prefix="talks-chaos-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TALKS_STATE_DIR", str(work / "state"))
    corpus = make_corpus(work, talk_seconds)
    done: list[Trial] = []
    for n, trial in enumerate(plan(trials, seed, points), start=1):
        run_trial(trial, corpus, work)
        done.append(trial)
        verdict = "ok" if trial.sound else "PROBLEM: " + "; ".join(trial.problems)
        say(f"[{n}/{trials}] {trial.moment.point}:{trial.nth}:{trial.delay_ms}ms "
            f"{'killed' if trial.killed else 'not reached'} — {verdict}")
    text = table(done, time.monotonic() - began, seed)
    say(text)
    if readme:
        put_in_readme(text)
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--work", type=Path, help="where trials run (default: a temp dir)")
    parser.add_argument("--readme", action="store_true",
                        help="put the table in docs/reliability.md")
    parser.add_argument("--point", action="append", help="only this kill point (repeatable)")
    args = parser.parse_args(argv)
    trials = run(args.trials, args.seed, args.work, args.readme, points=args.point)
    return 0 if all(t.sound for t in trials) else 1


if __name__ == "__main__":
    sys.exit(main())
