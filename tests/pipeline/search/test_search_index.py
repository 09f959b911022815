"""The search index in a real ledger: what goes in, what comes out, what a user may type.

No model: talks are put in the ledger as filed, with cues of known times, the way the
organize stage leaves them. The real filing, redo and hit times are tested on real speech in
tests/pipeline/run/test_batch.py; relabel, rename and merge in tests/pipeline/filing/."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pipeline.ledger import Ledger
from pipeline.run.states import FileState
from pipeline.search.hits import MARK_OFF, MARK_ON, marked_cues, search, talk_hits
from pipeline.search.index import FORMAT_FACT, catch_up, drop_talk, index_talk, rebuild
from pipeline.search.passages import Cue, cut_passages, pack, passage_text, time_at, unpack
from pipeline.search.query import QueryError, parse, parse_years

LIGHTHOUSE = [
    "Good morning and welcome to the harbour.",
    "My grandmother kept the old",
    "lighthouse on the northern cape for forty years.",
    "Every night she climbed the stairs to light the lamp.",
    "Ships from the south saw it long before they saw the café on the quay.",
    "The bridges over the river were built of stone.",
]
BRIDGES = [
    "The Romans built a bridge with stone arches.",
    "Later the iron bridges carried the railway.",
    "Suspension spans reach across wide water.",
]


def cues_of(lines: list[str], start: float = 0.0, each: float = 4.0) -> list[Cue]:
    return [Cue(start + i * each, start + i * each + each - 0.5, t) for i, t in enumerate(lines)]


def file_talk(ledger: Ledger, name: str, speaker: str, year: int, title: str,
              cues: list[Cue] | None) -> int:
    """A filed talk's row as the organize stage leaves it (its words indexed when given)."""
    ledger.db.execute(
        "INSERT INTO files (hash, path, size, state, first_seen, updated_at, speaker, year, "
        "title, destination, transcripts) VALUES (?, ?, 1, 'filed', 0, 0, ?, ?, ?, ?, ?)",
        (name, f"/in/{name}", speaker, year, title, f"/out/{name}", f'["/out/{name}.txt"]'))
    file_id = ledger.db.execute("SELECT id FROM files WHERE hash = ?", (name,)).fetchone()[0]
    if cues is not None:
        ledger.save_plan(file_id, [(0.0, cues[-1].end if cues else 1.0)])
        ledger.save_chunk(file_id, 0, " ".join(c.text for c in cues),
                          [{"start": c.start, "end": c.end, "text": c.text} for c in cues],
                          1, 1.0)
        index_talk(ledger, file_id, cues)
    return file_id


@pytest.fixture
def ledger(tmp_path: Path):
    with Ledger(tmp_path / "out" / ".talks" / "ledger.sqlite") as opened:
        file_talk(opened, "keeper", "Sarah Lane", 2019, "The Lighthouse Keeper",
                  cues_of(LIGHTHOUSE))
        file_talk(opened, "bridges", "Robert Moss", 2022, "Bridges", cues_of(BRIDGES, 600.0))
        yield opened


def words_found(ledger: Ledger, typed: str, **filters) -> list[str]:
    return [t.title for t in search(ledger, typed, **filters)]


def test_forms_accents_phrases_prefixes_and_exclusions_are_found(ledger):
    assert words_found(ledger, "lighthouse") == ["The Lighthouse Keeper"]
    assert words_found(ledger, "bridges")[0] == "Bridges"  # the talk that says it most
    assert set(words_found(ledger, "bridge")) == {"Bridges", "The Lighthouse Keeper"}
    assert words_found(ledger, "cafe") == ["The Lighthouse Keeper"]  # café, folded
    assert words_found(ledger, "CAFÉ") == ["The Lighthouse Keeper"]
    assert words_found(ledger, "suspen*") == ["Bridges"]
    assert words_found(ledger, '"iron bridges"') == ["Bridges"]
    assert words_found(ledger, '"bridges iron"') == []  # a phrase is in order
    assert words_found(ledger, "bridge -river") == ["Bridges"]
    assert words_found(ledger, 'bridge -"over the river"') == ["Bridges"]
    assert set(words_found(ledger, "grandmother OR railway")) == {"Bridges",
                                                                  "The Lighthouse Keeper"}
    assert words_found(ledger, "grandmother railway") == []  # both, in one passage


def test_a_phrase_cut_by_a_cue_break_is_found_and_placed_on_its_first_word(ledger):
    (talk,) = search(ledger, '"kept the old lighthouse"')
    (hit,) = talk.hits
    # "kept" is the 3rd of 5 words of the cue at 4.0–7.5 s.
    assert 5.0 <= hit.at <= 7.5
    assert f"{MARK_ON}kept the old lighthouse{MARK_OFF}" in hit.snippet


def test_what_a_person_types_never_breaks_the_query(ledger):
    for typed in ["don't", '"unbalanced', 'a"b', "a(b", "NEAR(", "bridge*)", "^bridge",
                  "bridge:", "col:bridge", "'bridge'", "+bridge", "bridge AND", "OR bridge",
                  "bridge OR", "{bridge}", "bridge NOT", "— bridge —", "bri\"dge"]:
        search(ledger, typed)  # any result, never an error
    for typed in ["", "   ", '"', "*", "AND OR NOT", "-", "!?", "-bridge", 'NOT "old mill"']:
        with pytest.raises(QueryError) as err:
            search(ledger, typed)
        assert err.value.exit_code == 2 and "\n" not in str(err.value)


def test_an_unbalanced_quote_is_punctuation_and_the_rest_still_counts(ledger):
    assert parse('"old lighthouse').match == '"old" AND "lighthouse"'
    assert parse('bridge OR railway -river').match == '(("bridge" OR "railway")) NOT "river"'
    assert parse("bridg*").match == '"bridg"*'


def test_filters_speaker_and_years(ledger):
    assert words_found(ledger, "bridge", speaker="robert moss") == ["Bridges"]
    assert words_found(ledger, "bridge", speaker="Sarah") == ["The Lighthouse Keeper"]
    assert words_found(ledger, "bridge", years=(2020, 2026)) == ["Bridges"]
    assert words_found(ledger, "bridge", years=(2010, 2018)) == []
    with pytest.raises(QueryError, match="Did you mean Robert Moss"):
        search(ledger, "bridge", speaker="Robret Moss")
    assert parse_years("2019-2021") == (2019, 2021) == parse_years("2021..2019")
    with pytest.raises(QueryError):
        parse_years("last year")


def test_hits_are_grouped_by_talk_one_per_moment_and_limited(ledger):
    lines = [f"Part {i}: the lamp was lit again that night." for i in range(60)]
    file_talk(ledger, "lamps", "Alan Webb", 2020, "Lamps", cues_of(lines))
    found = search(ledger, "lamp", limit=3)
    assert sum(len(t.hits) for t in found) == 3
    assert [t.title for t in found][0] == "Lamps"
    for talk in found:
        times = [h.at for h in talk.hits]
        assert times == sorted(times) and len(set(times)) == len(times)
    every = talk_hits(ledger, found[0].file_id, "lamp")
    assert len(every) == 60 and every == sorted(every, key=lambda h: h.at)


def test_the_transcript_marks_each_wanted_word_cue_by_cue(ledger):
    keeper = search(ledger, "lighthouse")[0].file_id
    marked = marked_cues(ledger, keeper, '"old lighthouse" -zebra')
    assert [m for _c, m in marked if MARK_ON in m] == [
        f"My grandmother kept the {MARK_ON}old{MARK_OFF}",
        f"{MARK_ON}lighthouse{MARK_OFF} on the northern cape for forty years."]


def test_the_index_follows_the_talks_row_and_drops_a_talk_wholly(ledger):
    keeper = search(ledger, "lighthouse")[0].file_id
    ledger.update(keeper, speaker="Ada Stone", destination="/out/moved", title="Light")
    (talk,) = search(ledger, "lighthouse")
    assert (talk.speaker, talk.talk, talk.title) == ("Ada Stone", "/out/moved", "Light")
    drop_talk(ledger, keeper)
    assert search(ledger, "lighthouse") == []
    # Its words are gone from the FTS5 index itself, not only hidden by the join.
    assert ledger.db.execute("SELECT COUNT(*) FROM search_words WHERE search_words MATCH "
                             "'lighthouse'").fetchone()[0] == 0
    assert ledger.db.execute("SELECT COUNT(*) FROM search_words").fetchone()[0] == \
        ledger.db.execute("SELECT COUNT(*) FROM search_passages").fetchone()[0]


def test_an_archive_filed_before_the_index_is_caught_up_resumably(tmp_path):
    with Ledger(tmp_path / "out" / ".talks" / "ledger.sqlite") as ledger:
        for n in range(5):
            talk = file_talk(ledger, f"t{n}", "Sarah Lane", 2020 + n, f"Talk {n}",
                             cues_of([f"Talk number {n} is about the mill race."] * 3))
            drop_talk(ledger, talk)  # as if filed before the index existed
        ledger.db.execute("DELETE FROM facts")
        seen: list[tuple[int, int]] = []
        stopped = catch_up(ledger, lambda d, n: seen.append((d, n)),
                           should_stop=lambda: len(seen) >= 2)
        assert stopped == 2 and seen == [(0, 5), (1, 5), (2, 5)]
        assert len(search(ledger, "mill")) == 2
        assert catch_up(ledger) == 3  # the rest, not the first two again
        assert len(search(ledger, "mill")) == 5
        assert catch_up(ledger) == 0
        assert rebuild(ledger) == 5 and len(search(ledger, "mill", limit=50)) == 5
        # A talk no longer filed (started over elsewhere) leaves at the next catch-up.
        ledger.db.execute("UPDATE files SET state = ? WHERE hash = 't0'",
                          (FileState.TRANSCRIBED.value,))
        catch_up(ledger)
        assert len(search(ledger, "mill", limit=50)) == 4


def test_a_stored_format_other_than_todays_makes_the_index_again(ledger):
    ledger.set_fact(FORMAT_FACT, "0: an older way")
    passages_before = ledger.db.execute("SELECT COUNT(*) FROM search_passages").fetchone()[0]
    assert catch_up(ledger) == 2
    assert ledger.db.execute("SELECT COUNT(*) FROM search_passages").fetchone()[0] == \
        passages_before


def test_filing_and_indexing_are_one_transaction(ledger):
    talk = file_talk(ledger, "late", "Sarah Lane", 2021, "Late", None)
    with pytest.raises(sqlite3.IntegrityError), ledger.transaction():
        index_talk(ledger, talk, cues_of(["The keeper rowed home late."]))
        ledger.db.execute("INSERT INTO files (id, hash, path, size, state, first_seen, "
                          "updated_at) VALUES (?, 'keeper', 'x', 1, 'new', 0, 0)", (talk,))
    assert words_found(ledger, "rowed") == []


def test_passages_overlap_by_one_cue_and_keep_their_cues_exactly():
    cues = cues_of([" ".join(["word"] * 50)] * 7)
    spans = cut_passages(cues)
    assert spans[0] == (0, 2) and all(b[0] == a[1] for a, b in zip(spans, spans[1:], strict=False))
    assert spans[-1][1] == 6
    assert unpack(pack(cues)) == [Cue(round(c.start, 2), round(c.end, 2), c.text) for c in cues]
    assert cut_passages([]) == [] and cut_passages(cues[:1]) == [(0, 0)]
    text = passage_text(cues, 0, 1)
    assert time_at(cues, 0, 1, text.index("word", 260)) > cues[1].start
