"""The archive's search index, kept in the ledger (migration 6) and always true to it.

A talk's words go in in the same transaction that files it (stages/organize.py), and out in
the one that starts it over (run/file_flow.py, --full-scan). Its speaker, year and title are
not copied into the index: a search reads them from the talk's row, so a relabel, a rename
or a merge is followed the moment it is made. A talk filed before the index existed (or
whose words are missing for any other reason) is indexed by `catch_up`, one talk per
transaction, so a stopped catch-up resumes where it was.

The FTS5 table keeps no text of its own; to take a talk's words out, the same passages are
made again from the talk's kept cues and handed to FTS5's 'delete' (the one way a
contentless table forgets a row in the SQLite every Python here ships).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from pipeline.ledger import FileRow, Ledger
from pipeline.run.states import FileState
from pipeline.search.passages import Cue, cut_passages, pack, passage_text, unpack

# What the stored passages were made with: another value means the index is made again.
FORMAT = "1: porter unicode61, 120-word passages overlapping by one cue"
FORMAT_FACT = "search index format"

Progress = Callable[[int, int], None]  # (talks indexed so far, talks to index)


def index_talk(ledger: Ledger, file_id: int, cues: Sequence[Cue]) -> None:
    """Put a talk's words in the index, replacing any it had (inside the caller's
    transaction when there is one)."""
    cues = [c for c in cues if c.text.strip()]
    with ledger.transaction() as db:
        if ledger.fact(FORMAT_FACT) is None:  # the first talk indexed: nothing older here
            ledger.set_fact(FORMAT_FACT, FORMAT)
        drop_talk(ledger, file_id)
        words = sum(len(c.text.split()) for c in cues)
        db.execute("INSERT INTO search_talks VALUES (?, ?, ?)", (file_id, words, pack(cues)))
        for first, last in cut_passages(cues):
            cur = db.execute("INSERT INTO search_passages (file_id, first, last) "
                             "VALUES (?, ?, ?)", (file_id, first, last))
            db.execute("INSERT INTO search_words (rowid, words) VALUES (?, ?)",
                       (cur.lastrowid, passage_text(cues, first, last)))


def drop_talk(ledger: Ledger, file_id: int) -> None:
    """Take a talk's words out of the index (nothing happens when it has none)."""
    with ledger.transaction() as db:
        row = db.execute("SELECT cues FROM search_talks WHERE file_id = ?",
                         (file_id,)).fetchone()
        if row is None:
            return
        cues = unpack(row["cues"])
        for p in db.execute("SELECT id, first, last FROM search_passages WHERE file_id = ?",
                            (file_id,)).fetchall():
            db.execute("INSERT INTO search_words (search_words, rowid, words) "
                       "VALUES ('delete', ?, ?)", (p["id"], passage_text(cues, p["first"],
                                                                          p["last"])))
        db.execute("DELETE FROM search_passages WHERE file_id = ?", (file_id,))
        db.execute("DELETE FROM search_talks WHERE file_id = ?", (file_id,))


def cues_of(cues_blob: bytes) -> list[Cue]:
    return unpack(cues_blob)


def filed_cues(ledger: Ledger, row: FileRow) -> list[Cue]:
    """A filed talk's cues on its filed copy's clock: from the ledger's chunks, as its
    transcripts were written, else from its .json transcript."""
    if any(c.segments for c in ledger.chunks(row.id)):
        from pipeline.filing.filed_copy import filed_transcript

        segments, _meta = filed_transcript(ledger, row)
        return [Cue(s.start, s.end, s.text) for s in segments]
    for name in row.transcripts:
        if name.endswith(".json") and Path(name).is_file():
            body = json.loads(Path(name).read_text(encoding="utf-8"))
            return [Cue(float(s["start"]), float(s["end"]), str(s["text"]))
                    for s in body.get("segments", [])]
    return []


def waiting(ledger: Ledger) -> tuple[list[int], list[int]]:
    """(filed talks whose words are not in the index, indexed talks no longer filed)."""
    fresh = [r[0] for r in ledger.db.execute(
        "SELECT id FROM files WHERE state = ? AND id NOT IN (SELECT file_id FROM search_talks) "
        "ORDER BY id", (FileState.FILED.value,))]
    stale = [r[0] for r in ledger.db.execute(
        "SELECT file_id FROM search_talks WHERE file_id NOT IN "
        "(SELECT id FROM files WHERE state = ?)", (FileState.FILED.value,))]
    return fresh, stale


def catch_up(ledger: Ledger, on_progress: Progress | None = None,
             should_stop: Callable[[], bool] | None = None) -> int:
    """Index every filed talk missing from the index, and drop talks no longer filed; a
    stored format other than today's makes the whole index again. Returns how many talks
    were indexed."""
    if ledger.fact(FORMAT_FACT) != FORMAT:
        clear(ledger)
    fresh, stale = waiting(ledger)
    for file_id in stale:
        drop_talk(ledger, file_id)
    done = 0
    for file_id in fresh:
        if should_stop is not None and should_stop():
            break
        if on_progress is not None:
            on_progress(done, len(fresh))
        with ledger.transaction():
            row = ledger.get(file_id)
            # Filed, and still missing: another process may have indexed it meanwhile.
            if row.state == FileState.FILED and not indexed(ledger, file_id):
                index_talk(ledger, file_id, filed_cues(ledger, row))
        done += 1
    if on_progress is not None and fresh:
        on_progress(done, len(fresh))
    return done


def clear(ledger: Ledger) -> None:
    """Empty the index (the words of every talk), and say which format it will hold."""
    with ledger.transaction() as db:
        db.execute("INSERT INTO search_words (search_words) VALUES ('delete-all')")
        db.execute("DELETE FROM search_passages")
        db.execute("DELETE FROM search_talks")
        ledger.set_fact(FORMAT_FACT, FORMAT)


def indexed(ledger: Ledger, file_id: int) -> bool:
    return ledger.db.execute("SELECT 1 FROM search_talks WHERE file_id = ?",
                             (file_id,)).fetchone() is not None


def rebuild(ledger: Ledger, on_progress: Progress | None = None,
            should_stop: Callable[[], bool] | None = None) -> int:
    """`talks search --reindex`: the index made again from nothing."""
    clear(ledger)
    return catch_up(ledger, on_progress, should_stop)
