"""The ledger: one SQLite file that knows what is done. Stdlib sqlite3 in WAL mode.

A recording is known by the hash of its content, so a renamed or moved file is not new. Each
stage writes its result here before the next starts; a killed run resumes from what is here.
The main process and its per-file worker process both write (WAL lets them), each with its
own connection.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # numpy is imported where it is used: the batch and the app never
    import numpy as np  # load it (~15 MB), only the workers that do the audio work

from common.errors import fault
from pipeline.config.roots import guard_new_ledger, remember_ledger
from pipeline.run.states import (
    STAGE_START,
    FileState,
    IllegalTransition,
    Stage,
    Transition,
    after,
)
from speakers.decisions import SpeakerDecision

E = TypeVar("E", bound=StrEnum)

# Numbered migrations: the database's user_version says how many have run.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        duration REAL,
        year INTEGER,
        state TEXT NOT NULL DEFAULT 'new',
        failed_stage TEXT,
        error TEXT,
        title TEXT,
        speaker TEXT,
        needs_review INTEGER NOT NULL DEFAULT 0,
        planned_name TEXT,
        destination TEXT,
        transcripts TEXT,
        raw_backup TEXT,
        first_seen REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE chunks (
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        start REAL NOT NULL,
        end REAL NOT NULL,
        text TEXT,
        segments TEXT,
        run_id INTEGER,
        seconds REAL,
        PRIMARY KEY (file_id, idx)
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started_at REAL NOT NULL,
        finished_at REAL,
        summary TEXT
    );
    CREATE TABLE seen_paths (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        hash TEXT NOT NULL
    );
    """,
    # 2: speaker identification — the embedding cache and each talk's evidence.
    """
    CREATE TABLE clip_embeddings (
        hash TEXT NOT NULL,
        backend TEXT NOT NULL,
        dim INTEGER NOT NULL,
        vector BLOB NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (hash, backend)
    );
    CREATE TABLE speaker_scores (
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        speaker TEXT NOT NULL,
        sample INTEGER NOT NULL,
        score REAL NOT NULL,
        PRIMARY KEY (file_id, speaker, sample)
    );
    ALTER TABLE files ADD COLUMN speaker_decision TEXT;
    ALTER TABLE files ADD COLUMN speaker_evidence TEXT;
    """,
    # 3: what the filed copy is (its own hash once tagged or made compact), the LLM summary,
    # what a compact copy saved, and the speech the VAD found in each chunk.
    """
    ALTER TABLE files ADD COLUMN filed_hash TEXT;
    ALTER TABLE files ADD COLUMN summary TEXT;
    ALTER TABLE files ADD COLUMN compact TEXT;
    ALTER TABLE chunks ADD COLUMN speech TEXT;
    """,
    # 4: each talk's voice, sample by sample, kept so the talk can be identified again when
    # the library changes without hearing it again; and small facts about the archive (the
    # library the filed talks were last identified against).
    """
    CREATE TABLE talk_voices (
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        backend TEXT NOT NULL,
        sample INTEGER NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (file_id, backend, sample)
    );
    CREATE TABLE facts (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 5: each talk's main voice (speakers/voice_groups.py: talk_voice), the groups of the
    # voices nobody has named, and a person's corrections to them.
    """
    CREATE TABLE voices (
        file_id INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
        backend TEXT NOT NULL,
        vector BLOB NOT NULL,
        samples INTEGER NOT NULL
    );
    CREATE TABLE voice_groups (
        file_id INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
        group_id INTEGER NOT NULL
    );
    CREATE TABLE voice_links (
        a INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        b INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        PRIMARY KEY (a, b)
    );
    """,
    # 6: the archive's words for full-text search (pipeline/search/). The FTS5 index keeps no
    # copy of the text (contentless: the index alone is about the size of the text); each
    # talk's cues are kept once, compressed, to show a hit, place it in time and take its
    # words out of the index again. A passage's rowid in search_words is its id here.
    """
    CREATE VIRTUAL TABLE search_words USING fts5(
        words, content = '', tokenize = 'porter unicode61 remove_diacritics 2'
    );
    CREATE TABLE search_talks (
        file_id INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
        words INTEGER NOT NULL,
        cues BLOB NOT NULL
    );
    CREATE TABLE search_passages (
        id INTEGER PRIMARY KEY,
        file_id INTEGER NOT NULL REFERENCES search_talks(file_id) ON DELETE CASCADE,
        first INTEGER NOT NULL,
        last INTEGER NOT NULL
    );
    CREATE INDEX search_passages_by_talk ON search_passages(file_id);
    """,
    # 7: the language each talk is spoken in, how sure its detection was, and who said so
    # ("detected", "folder" from [input] languages, "config", or "person": talks language).
    """
    ALTER TABLE files ADD COLUMN language TEXT;
    ALTER TABLE files ADD COLUMN language_probability REAL;
    ALTER TABLE files ADD COLUMN language_source TEXT;
    """,
]


@dataclass(frozen=True)
class FileRow:
    id: int
    hash: str
    path: str
    size: int
    duration: float | None
    year: int | None
    state: FileState
    failed_stage: Stage | None
    error: str | None
    title: str | None
    speaker: str | None
    needs_review: bool
    planned_name: str | None
    destination: str | None
    transcripts: list[str]
    raw_backup: str | None
    speaker_decision: SpeakerDecision | None = None
    speaker_evidence: dict | None = None
    # The hash of the filed copy as written (tags change it; a compact copy is other audio).
    filed_hash: str | None = None
    summary: str | None = None
    compact: dict | None = None  # what a compact copy saved, and its time map
    language: str | None = None  # Whisper's code ("en", "fr", …) of the language it is in
    language_probability: float | None = None  # the detection's, when it was detected
    language_source: str | None = None  # detected, folder, config or person

    @property
    def name(self) -> str:
        return Path(self.path).name

    def is_filed_copy(self, digest: str) -> bool:
        """Whether a file with this content hash is this talk's filed copy."""
        return digest in (self.hash, self.filed_hash)


@dataclass(frozen=True)
class ChunkRow:
    idx: int
    start: float
    end: float
    text: str | None
    segments: list[dict]
    run_id: int | None
    speech: list[list[float]] | None = None  # [start, end] seconds the VAD heard speech in

    @property
    def done(self) -> bool:
        return self.text is not None


def _known(kind: type[E], value: str | None) -> E | None:
    """A stored word as its enum member; None for none, or one an older version wrote."""
    try:
        return kind(value) if value else None
    except ValueError:
        return None


def content_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class RunRecord:
    started_at: float
    finished_at: float | None  # None: still going, or stopped before it could say
    summary: dict  # the run's totals: filed, failed, skipped, …


class Ledger:
    def __init__(self, path: Path):
        """Open the ledger at `path` (`<output root>/.talks/ledger.sqlite`), creating it when
        it is new. A ledger that existed before and is gone is not created afresh (see
        pipeline/config/roots.py); any failure of the disk is a Fault with one sentence."""
        self.path = path
        root = path.parent.parent
        try:
            if not path.exists():
                guard_new_ledger(path, root)
                root.mkdir(exist_ok=True)  # never the folders above it
                path.parent.mkdir(exist_ok=True)
            self.db = sqlite3.connect(str(path), timeout=30, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self._use_wal()
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except (OSError, sqlite3.Error) as exc:
            raise fault(exc, "the ledger", path) from None
        remember_ledger(path)

    def _use_wal(self, wait_s: float = 30.0) -> None:
        """Switch a new ledger to WAL. The switch needs the database to itself and SQLite does
        not wait for that (no busy timeout), so two processes opening a new ledger at once
        retry here instead of failing."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        if self.db.in_transaction:  # already inside one: it commits or rolls back for us
            yield self.db
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _migrate(self) -> None:
        if self.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS):
            return
        # Read the version again under the write lock: the app's scan and a worker process
        # may open a new ledger at the same moment, and only one of them may create it.
        with self.transaction() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")

    # --- runs -----------------------------------------------------------------------------
    def start_run(self) -> int:
        cur = self.db.execute("INSERT INTO runs (started_at) VALUES (?)", (time.time(),))
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, summary: dict) -> None:
        self.db.execute("UPDATE runs SET finished_at = ?, summary = ? WHERE id = ?",
                        (time.time(), json.dumps(summary), run_id))

    def last_run(self) -> RunRecord | None:
        """The last run into this output root: when it started, whether and when it finished,
        and its totals (the one reader of the runs table)."""
        row = self.db.execute("SELECT started_at, finished_at, summary FROM runs "
                              "ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        return RunRecord(row["started_at"], row["finished_at"],
                         json.loads(row["summary"] or "{}"))

    # --- discovery ------------------------------------------------------------------------
    def hash_of(self, path: Path, rehash: bool = False) -> str:
        """The content hash, from the cache when the file's size and mtime are unchanged."""
        st = path.stat()
        key = str(path.resolve())
        if not rehash:
            row = self.db.execute("SELECT size, mtime_ns, hash FROM seen_paths WHERE path = ?",
                                  (key,)).fetchone()
            if row and row["size"] == st.st_size and row["mtime_ns"] == st.st_mtime_ns:
                return str(row["hash"])
        digest = content_hash(path)
        self.db.execute("INSERT OR REPLACE INTO seen_paths VALUES (?, ?, ?, ?)",
                        (key, st.st_size, st.st_mtime_ns, digest))
        return digest

    def register(self, path: Path, digest: str) -> tuple[FileRow, bool]:
        """Record a recording seen at `path`; returns its row and whether it is new."""
        now = time.time()
        row = self.by_hash(digest)
        if row is None:
            self.db.execute(
                "INSERT INTO files (hash, path, size, state, first_seen, updated_at) "
                "VALUES (?, ?, ?, 'new', ?, ?)",
                (digest, str(path), path.stat().st_size, now, now))
            found = self.by_hash(digest)
            assert found is not None
            return found, True
        if row.path != str(path) and not Path(row.path).exists():
            # Renamed or moved since we last saw it: same talk, new address.
            self.update(row.id, path=str(path))
            row = self.get(row.id)
        return row, False

    # --- files ----------------------------------------------------------------------------
    @staticmethod
    def _row(r: sqlite3.Row) -> FileRow:
        return FileRow(
            id=r["id"], hash=r["hash"], path=r["path"], size=r["size"], duration=r["duration"],
            year=r["year"], state=FileState(r["state"]),
            failed_stage=_known(Stage, r["failed_stage"]), error=r["error"],
            title=r["title"], speaker=r["speaker"], needs_review=bool(r["needs_review"]),
            planned_name=r["planned_name"], destination=r["destination"],
            transcripts=json.loads(r["transcripts"]) if r["transcripts"] else [],
            raw_backup=r["raw_backup"],
            speaker_decision=_known(SpeakerDecision, r["speaker_decision"]),
            speaker_evidence=json.loads(r["speaker_evidence"]) if r["speaker_evidence"] else None,
            filed_hash=r["filed_hash"], summary=r["summary"],
            compact=json.loads(r["compact"]) if r["compact"] else None,
            language=r["language"], language_probability=r["language_probability"],
            language_source=r["language_source"])

    def get(self, file_id: int) -> FileRow:
        r = self.db.execute("SELECT * FROM files WHERE id = ?", (file_id,)).fetchone()
        if r is None:
            raise KeyError(file_id)
        return self._row(r)

    def by_hash(self, digest: str) -> FileRow | None:
        r = self.db.execute("SELECT * FROM files WHERE hash = ?", (digest,)).fetchone()
        return self._row(r) if r else None

    def all_files(self) -> list[FileRow]:
        return [self._row(r) for r in self.db.execute("SELECT * FROM files ORDER BY id")]

    # Only the transitions below write these: a generic update may not.
    _STATE_FIELDS = frozenset({"state", "failed_stage", "error"})

    def update(self, file_id: int, **fields: object) -> None:
        """Record facts about a file (its duration, title, where it is filed, …); never its
        state, which changes only through the named transitions."""
        if self._STATE_FIELDS & fields.keys():
            raise IllegalTransition(f"the state of a file changes only through a transition, "
                                    f"not update({', '.join(sorted(fields))})")
        self._write(file_id, fields)

    def _write(self, file_id: int, fields: dict[str, object]) -> None:
        for key in ("transcripts", "speaker_evidence", "compact"):
            if key in fields and fields[key] is not None:
                fields[key] = json.dumps(fields[key])
        fields["updated_at"] = time.time()
        names = ", ".join(f"{k} = ?" for k in fields)
        self.db.execute(f"UPDATE files SET {names} WHERE id = ?", (*fields.values(), file_id))

    def _transition(self, file_id: int, transition: Transition, stage: Stage | None,
                    fields: dict[str, object], expect: FileState | None = None) -> FileState:
        """Check the move against the state machine and make it, in one write transaction
        (a worker process and the main process share the ledger)."""
        with self.transaction():
            current = self.get(file_id)
            if transition == Transition.RETRY and current.state == FileState.FAILED:
                # A stage name the table does not know (an older ledger): start over.
                stage = current.failed_stage if current.failed_stage in STAGE_START \
                    else Stage.PROBE
            target = after(current.state, transition, stage)
            if expect is not None and target != expect:
                raise IllegalTransition(f"{transition} from {current.state} leads to {target}, "
                                        f"not {expect}")
            self._write(file_id, {**fields, "state": target})
        return target

    def advance(self, file_id: int, to: FileState, **fields: object) -> None:
        """A stage finished: the file moves to `to`, which must be the state after its own."""
        self._transition(file_id, Transition.ADVANCE, None,
                         {"failed_stage": None, "error": None, **fields}, expect=FileState(to))

    def fail(self, file_id: int, stage: Stage, reason: str) -> None:
        """`stage` could not finish; the file waits in `failed` with the reason."""
        self._transition(file_id, Transition.FAIL, Stage(stage),
                         {"failed_stage": Stage(stage), "error": reason})

    def skip(self, file_id: int, reason: str) -> None:
        """Probed, but outside the duration limits."""
        self._transition(file_id, Transition.SKIP, None, {"error": reason})

    def retry(self, file_id: int) -> FileState:
        """A failed file goes back to where its failed stage starts; a skipped one to
        `probed` (the limits may have changed). Returns the state it is in now."""
        return self._transition(file_id, Transition.RETRY, None,
                                {"failed_stage": None, "error": None})

    def restart(self, file_id: int) -> None:
        """Forget all work on a file (for --full-scan); where it was filed is kept so the
        new filing can replace the old one instead of duplicating it."""
        with self.transaction() as db:
            db.execute("DELETE FROM chunks WHERE file_id = ?", (file_id,))
            self._transition(file_id, Transition.RESTART, None,
                             {"failed_stage": None, "error": None, "planned_name": None})

    # --- chunks ---------------------------------------------------------------------------
    def chunks(self, file_id: int) -> list[ChunkRow]:
        rows = self.db.execute("SELECT * FROM chunks WHERE file_id = ? ORDER BY idx", (file_id,))
        return [ChunkRow(r["idx"], r["start"], r["end"], r["text"],
                         json.loads(r["segments"]) if r["segments"] else [], r["run_id"],
                         json.loads(r["speech"]) if r["speech"] is not None else None)
                for r in rows]

    def save_plan(self, file_id: int, plan: list[tuple[float, float]]) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM chunks WHERE file_id = ?", (file_id,))
            db.executemany("INSERT INTO chunks (file_id, idx, start, end) VALUES (?, ?, ?, ?)",
                           [(file_id, i, s, e) for i, (s, e) in enumerate(plan)])

    def save_chunk(self, file_id: int, idx: int, text: str, segments: list[dict],
                   run_id: int, seconds: float, speech: list[list[float]] | None = None) -> None:
        self.db.execute("UPDATE chunks SET text = ?, segments = ?, run_id = ?, seconds = ?, "
                        "speech = ? WHERE file_id = ? AND idx = ?",
                        (text, json.dumps(segments), run_id, seconds,
                         None if speech is None else json.dumps(speech), file_id, idx))

    def save_speech(self, file_id: int, idx: int, stretches: list[list[float]]) -> None:
        """Where the VAD heard speech in a chunk (seconds of the recording): what a compact
        copy keeps."""
        self.db.execute("UPDATE chunks SET speech = ? WHERE file_id = ? AND idx = ?",
                        (json.dumps(stretches), file_id, idx))

    # --- speakers -------------------------------------------------------------------------
    def cached_embedding(self, digest: str, backend: str) -> np.ndarray | None:
        import numpy as np
        r = self.db.execute("SELECT vector FROM clip_embeddings WHERE hash = ? AND backend = ?",
                            (digest, backend)).fetchone()
        return np.frombuffer(r["vector"], dtype=np.float16).astype(np.float32) if r else None

    def store_embedding(self, digest: str, backend: str, vector: np.ndarray) -> None:
        # float16 halves the cache; it moves a cosine score by less than 1e-4.
        import numpy as np
        blob = np.asarray(vector, dtype=np.float16).tobytes()
        self.db.execute("INSERT OR REPLACE INTO clip_embeddings VALUES (?, ?, ?, ?, ?)",
                        (digest, backend, int(np.asarray(vector).size), blob, time.time()))

    def cached_hashes(self, backend: str) -> set[str]:
        rows = self.db.execute("SELECT hash FROM clip_embeddings WHERE backend = ?", (backend,))
        return {r["hash"] for r in rows}

    def embedded_from(self, folder: Path) -> bool:
        """Whether a speaker clip under `folder` was embedded here (its path was hashed, and
        its vector is kept): people were enrolled from that library. A path is kept resolved
        (see hash_of), and a folder that is gone resolves only as far as its link text."""
        for base in {str(folder.resolve()), os.path.abspath(folder)}:
            prefix = base.rstrip(os.sep) + os.sep
            row = self.db.execute(
                "SELECT 1 FROM seen_paths s JOIN clip_embeddings c ON c.hash = s.hash "
                "WHERE substr(s.path, 1, ?) = ? LIMIT 1", (len(prefix), prefix)).fetchone()
            if row is not None:
                return True
        return False

    def drop_embeddings(self, backend: str, keep: set[str]) -> int:
        gone = self.cached_hashes(backend) - keep
        self.db.executemany("DELETE FROM clip_embeddings WHERE hash = ? AND backend = ?",
                            [(h, backend) for h in gone])
        return len(gone)

    def save_scores(self, file_id: int, scores: dict[str, list[float]]) -> None:
        """Per speaker, the score of each sample of the talk."""
        with self.transaction() as db:
            db.execute("DELETE FROM speaker_scores WHERE file_id = ?", (file_id,))
            db.executemany("INSERT INTO speaker_scores VALUES (?, ?, ?, ?)",
                           [(file_id, name, i, float(v)) for name, values in scores.items()
                            for i, v in enumerate(values)])

    def scores(self, file_id: int) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for r in self.db.execute("SELECT speaker, score FROM speaker_scores WHERE file_id = ? "
                                 "ORDER BY speaker, sample", (file_id,)):
            out.setdefault(r["speaker"], []).append(r["score"])
        return out

    def save_talk_voice(self, file_id: int, backend: str, vectors: list[np.ndarray]) -> None:
        """The talk's voice as its samples heard it, one vector per sample (float16, as the
        clip cache), replacing what another run kept for this backend."""
        import numpy as np
        with self.transaction() as db:
            db.execute("DELETE FROM talk_voices WHERE file_id = ? AND backend = ?",
                       (file_id, backend))
            db.executemany("INSERT INTO talk_voices VALUES (?, ?, ?, ?)",
                           [(file_id, backend, i, np.asarray(v, dtype=np.float16).tobytes())
                            for i, v in enumerate(vectors)])

    def talk_voice(self, file_id: int, backend: str) -> list[np.ndarray] | None:
        """The vectors `save_talk_voice` kept, in sample order; None when none were kept."""
        import numpy as np
        rows = self.db.execute("SELECT vector FROM talk_voices WHERE file_id = ? AND "
                               "backend = ? ORDER BY sample", (file_id, backend)).fetchall()
        if not rows:
            return None
        return [np.frombuffer(r["vector"], dtype=np.float16).astype(np.float32) for r in rows]

    def save_voice(self, file_id: int, backend: str, vector: np.ndarray, samples: int) -> None:
        """The talk's main voice (float16, as the other vectors)."""
        import numpy as np
        self.db.execute("INSERT OR REPLACE INTO voices VALUES (?, ?, ?, ?)",
                        (file_id, backend, np.asarray(vector, dtype=np.float16).tobytes(),
                         samples))

    def voices(self, backend: str, file_ids: list[int] | None = None
               ) -> dict[int, np.ndarray]:
        """Talk -> its main voice, for the talks whose voice this backend heard."""
        import numpy as np
        rows = self.db.execute("SELECT file_id, vector FROM voices WHERE backend = ? AND "
                               "samples > 0", (backend,))
        wanted = None if file_ids is None else set(file_ids)
        return {r["file_id"]: np.frombuffer(r["vector"], dtype=np.float16).astype(np.float32)
                for r in rows if wanted is None or r["file_id"] in wanted}

    def unvoiced(self, backend: str) -> list[FileRow]:
        """Filed talks with no main voice from this backend yet."""
        return [self._row(r) for r in self.db.execute(
            "SELECT * FROM files WHERE state = 'filed' AND id NOT IN "
            "(SELECT file_id FROM voices WHERE backend = ?) ORDER BY id", (backend,))]

    def voice_groups(self) -> dict[int, int]:
        """Talk -> the id of its group of unnamed voices."""
        return {r["file_id"]: r["group_id"]
                for r in self.db.execute("SELECT file_id, group_id FROM voice_groups")}

    def set_voice_groups(self, groups: dict[int, int]) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM voice_groups")
            db.executemany("INSERT INTO voice_groups VALUES (?, ?)", sorted(groups.items()))

    def link_voices(self, a: int, b: int, kind: str) -> None:
        """A person's word on two talks' voices: "together" or "apart"."""
        a, b = sorted((a, b))
        self.db.execute("INSERT OR REPLACE INTO voice_links VALUES (?, ?, ?)", (a, b, kind))

    def voice_links(self, kind: str) -> set[frozenset[int]]:
        return {frozenset((r["a"], r["b"])) for r in
                self.db.execute("SELECT a, b FROM voice_links WHERE kind = ?", (kind,))}

    def fact(self, key: str) -> str | None:
        r = self.db.execute("SELECT value FROM facts WHERE key = ?", (key,)).fetchone()
        return str(r["value"]) if r else None

    def set_fact(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO facts VALUES (?, ?)", (key, value))

    def needing_review(self) -> list[FileRow]:
        return [self._row(r) for r in self.db.execute(
            "SELECT * FROM files WHERE needs_review = 1 AND state = 'filed' ORDER BY id")]

    def last_failure(self) -> tuple[FileRow, float] | None:
        """The file that failed most recently, and when (time.time)."""
        r = self.db.execute("SELECT * FROM files WHERE state = ? ORDER BY updated_at DESC "
                            "LIMIT 1", (FileState.FAILED.value,)).fetchone()
        return (self._row(r), float(r["updated_at"])) if r else None
