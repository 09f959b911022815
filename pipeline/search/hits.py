"""A search of the archive: the best passages by bm25, grouped by talk, each placed in time.

The index holds no text (index.py), so the passages found are rebuilt from their talks' kept
cues and given to a small FTS5 table in memory with the same tokenizer: its highlight() marks
exactly the words the query matched, stems, folded accents and prefixes
included, without a second matcher of our own that could disagree with the index.
"""

from __future__ import annotations

import dataclasses
import difflib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.ledger import Ledger
from pipeline.run.states import FileState
from pipeline.search.passages import Cue, cut_passages, passage_text, time_at, unpack
from pipeline.search.query import Query, QueryError, parse

MARK_ON, MARK_OFF = "\x02", "\x03"  # around each matched word in a snippet; faces render them
SNIPPET_CHARS = 45  # of the passage each side of a hit's words
SAME_MOMENT_S = 0.5  # one word found in two passages (they overlap by a cue): one moment
TOKENIZER = "porter unicode61 remove_diacritics 2"  # as the ledger's search_words


@dataclass(frozen=True)
class Hit:
    at: float  # seconds in the filed recording where the first matched word is said
    start: float  # the passage the words were found in
    end: float
    snippet: str  # words around the hit, matched ones between MARK_ON and MARK_OFF
    score: float  # bm25 as SQLite gives it: lower is a better match


@dataclass(frozen=True)
class TalkHits:
    file_id: int
    year: int | None
    speaker: str
    title: str
    talk: str  # the filed recording
    transcripts: tuple[str, ...]
    hits: tuple[Hit, ...] = field(default=())
    language: str | None = None  # Whisper's code of the language it is in, when known

    @property
    def transcript(self) -> str | None:
        """The plain-text transcript (the one a person reads)."""
        for name in self.transcripts:
            if name.endswith(".txt"):
                return name
        return self.transcripts[0] if self.transcripts else None


class _Marker:
    """An in-memory FTS5 table that marks what a query matches in a few passages."""

    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.execute(f"CREATE VIRTUAL TABLE t USING fts5(words, tokenize = '{TOKENIZER}')")

    def mark(self, texts: dict[int, str], match: str) -> dict[int, str]:
        """id -> the whole text, matched words marked, for the texts that match."""
        self.db.execute("DELETE FROM t")
        self.db.executemany("INSERT INTO t (rowid, words) VALUES (?, ?)", texts.items())
        rows = self.db.execute("SELECT rowid, highlight(t, 0, ?, ?) FROM t WHERE t MATCH ?",
                               (MARK_ON, MARK_OFF, match))
        return {r[0]: r[1] for r in rows}

    def close(self) -> None:
        self.db.close()


def _fts_error(query: Query, exc: sqlite3.Error) -> QueryError:
    return QueryError(f"Could not search for “{query.typed}” ({exc}): type plain words, or a "
                      'phrase in double quotes.')


def _speakers(ledger: Ledger, wanted: str) -> list[str]:
    """The filed speakers `--speaker` means: the name whatever its case, else the names
    holding it; QueryError naming the closest when none does."""
    names = sorted({r[0] for r in ledger.db.execute(
        "SELECT DISTINCT speaker FROM files WHERE state = ? AND speaker IS NOT NULL",
        (FileState.FILED.value,))})
    key = wanted.casefold().strip()
    exact = [n for n in names if n.casefold() == key]
    within = [n for n in names if key and key in n.casefold()]
    if exact or within:
        return exact or within
    close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(close)}?" if close else \
        " `talks status` lists the filed talks."
    raise QueryError(f"No talk is filed under a speaker named “{wanted}”.{hint}")


def _passages(ledger: Ledger, query: Query, speakers: list[str] | None,
              years: tuple[int, int] | None, limit: int) -> list[sqlite3.Row]:
    """The best `limit` passages by bm25 (ties by passage), of filed talks only."""
    try:
        if speakers is None and years is None:
            rows = ledger.db.execute(_BEST_OF_ALL, (query.match, limit)).fetchall()
            # The index holds filed talks only (index.py); a talk that left that state since
            # and is not dropped yet sends the search the long way, which leaves it out.
            if all(r["state"] == FileState.FILED.value for r in rows):
                return rows
        where, args = ["search_words MATCH ?"], [query.match]
        if speakers is not None:
            where.append(f"f.speaker IN ({', '.join('?' * len(speakers))})")
            args += speakers
        if years is not None:
            where.append("f.year BETWEEN ? AND ?")
            args += list(years)
        sql = ("SELECT p.id, p.file_id, p.first, p.last, bm25(search_words) AS score "
               "FROM search_words JOIN search_passages p ON p.id = search_words.rowid "
               "JOIN files f ON f.id = p.file_id "
               f"WHERE {' AND '.join(where)} AND f.state = ? ORDER BY score, p.id LIMIT ?")
        return ledger.db.execute(sql, (*args, FileState.FILED.value, limit)).fetchall()
    except sqlite3.OperationalError as exc:
        raise _fts_error(query, exc) from None


# With no filter, the best passages are chosen in the index alone and only they are joined
# with their talks: joining every matching passage first costs ~10 ms more for a word in every
# passage of 1,000 hours (benchmarks/search_results.md, "Where the time goes"). bm25() with
# SQLite's own sorter, not FTS5's `ORDER BY rank`, which took half as long again there.
_BEST_OF_ALL = (
    "SELECT p.id, p.file_id, p.first, p.last, w.score, f.state FROM "
    "(SELECT rowid, bm25(search_words) AS score FROM search_words WHERE search_words MATCH ? "
    "ORDER BY score, rowid LIMIT ?) AS w "
    "LEFT JOIN search_passages p ON p.id = w.rowid LEFT JOIN files f ON f.id = p.file_id "
    "ORDER BY w.score, w.rowid")


def _cues(ledger: Ledger, file_id: int, cache: dict[int, list[Cue]]) -> list[Cue]:
    if file_id not in cache:
        row = ledger.db.execute("SELECT cues FROM search_talks WHERE file_id = ?",
                                (file_id,)).fetchone()
        cache[file_id] = unpack(row["cues"]) if row else []
    return cache[file_id]


def _hit(cues: Sequence[Cue], first: int, last: int, marked: str, score: float) -> Hit:
    """The passage's first matched words: their time, and the words around them (so what
    a hit shows is what its time plays)."""
    hits = _each_word(cues, first, last, marked)
    if not hits:  # matched, yet nothing marked (cannot happen with one tokenizer): its start
        return Hit(cues[first].start, cues[first].start, cues[last].end, marked, score)
    return dataclasses.replace(hits[0], score=score)


def _one_moment_each(hits: list[Hit]) -> list[Hit]:
    """Best first, drop a hit at the same moment as a better one (overlapping passages)."""
    kept: list[Hit] = []
    for h in sorted(hits, key=lambda h: h.score):
        if all(abs(h.at - k.at) > SAME_MOMENT_S for k in kept):
            kept.append(h)
    return kept


def search(ledger: Ledger, typed: str, *, speaker: str | None = None,
           years: tuple[int, int] | None = None, limit: int = 20) -> list[TalkHits]:
    """The best `limit` moments for what was typed, grouped by talk: talks in the order of
    their best moment, a talk's moments in time order."""
    query = parse(typed)
    speakers = _speakers(ledger, speaker) if speaker is not None else None
    # A moment can be found in two overlapping passages: ask for more, keep one of each.
    rows = _passages(ledger, query, speakers, years, limit * 2)
    # Talks in the order of their best passage; each talk's cues are read (a talk's are
    # unpacked whole, ~1 ms an hour) only while moments are still wanted.
    by_talk: dict[int, list[sqlite3.Row]] = {}
    for r in rows:
        by_talk.setdefault(r["file_id"], []).append(r)
    found: list[TalkHits] = []
    left = limit
    marker = _Marker()
    try:
        for fid, mine in by_talk.items():
            if left <= 0:
                break
            cues = _cues(ledger, fid, {})
            texts = {r["id"]: passage_text(cues, r["first"], r["last"]) for r in mine}
            marked = marker.mark(texts, query.match)
            hits = [_hit(cues, r["first"], r["last"], marked[r["id"]], r["score"])
                    for r in mine if r["id"] in marked]
            kept = _one_moment_each(hits)[:left]
            if kept:
                left -= len(kept)
                found.append(_talk(ledger, fid, sorted(kept, key=lambda h: h.at)))
    except sqlite3.OperationalError as exc:
        raise _fts_error(query, exc) from None
    finally:
        marker.close()
    return found


def _talk(ledger: Ledger, file_id: int, hits: list[Hit]) -> TalkHits:
    row = ledger.get(file_id)
    return TalkHits(file_id, row.year, row.speaker or "", row.title or "",
                    row.destination or "", tuple(row.transcripts), tuple(hits), row.language)


def talk_hits(ledger: Ledger, file_id: int, typed: str) -> list[Hit]:
    """Every moment of one talk that matches, in time order (the app's n and N)."""
    query = parse(typed)
    cues = _cues(ledger, file_id, {})
    spans = cut_passages(cues)
    texts = {i: passage_text(cues, a, b) for i, (a, b) in enumerate(spans, start=1)}
    marker = _Marker()
    try:
        marked = marker.mark(texts, query.match)
    except sqlite3.OperationalError as exc:
        raise _fts_error(query, exc) from None
    finally:
        marker.close()
    hits = [h for i in sorted(marked) for h in _each_word(cues, *spans[i - 1], marked[i])]
    return sorted(_one_moment_each(hits), key=lambda h: h.at)


def _each_word(cues: Sequence[Cue], first: int, last: int, marked: str) -> list[Hit]:
    """A hit for every marked stretch of a passage, its snippet the words around it."""
    hits, looked, marks_before = [], 0, 0
    while (on := marked.find(MARK_ON, looked)) >= 0:
        off = marked.find(MARK_OFF, on)
        offset = on - 2 * marks_before  # in the passage's text, without the marks before
        hits.append(Hit(round(time_at(cues, first, last, offset), 2), cues[first].start,
                        cues[last].end, _around(marked, on, off), 0.0))
        marks_before += 1
        looked = off + 1
    return hits


def _around(marked: str, on: int, off: int) -> str:
    """Whole words of `marked` about SNIPPET_CHARS each side of [on, off], marks balanced."""
    left = marked.rfind(" ", 0, max(0, on - SNIPPET_CHARS)) + 1 if on > SNIPPET_CHARS else 0
    right = marked.find(" ", off + SNIPPET_CHARS)
    right = len(marked) if right < 0 else right
    piece = marked[left:right]
    if piece.find(MARK_OFF) < piece.find(MARK_ON) or (MARK_OFF in piece and
                                                       MARK_ON not in piece):
        piece = MARK_ON + piece  # the window began inside a marked stretch
    if piece.rfind(MARK_ON) > piece.rfind(MARK_OFF):
        piece += MARK_OFF
    return ("…" if left else "") + piece + ("…" if right < len(marked) else "")


def marked_cues(ledger: Ledger, file_id: int, typed: str) -> list[tuple[Cue, str]]:
    """A talk's whole transcript cue by cue, each wanted word marked (a phrase's words too,
    when a cue break cuts the phrase): what the app shows when a hit is opened."""
    query = parse(typed)
    cues = _cues(ledger, file_id, {})
    marker = _Marker()
    try:
        marked = marker.mark({i: c.text for i, c in enumerate(cues, start=1)}, query.marks)
    except sqlite3.OperationalError as exc:
        raise _fts_error(query, exc) from None
    finally:
        marker.close()
    return [(c, marked.get(i, c.text)) for i, c in enumerate(cues, start=1)]


def filed_exists(talk: TalkHits) -> bool:
    return bool(talk.talk) and Path(talk.talk).is_file()
