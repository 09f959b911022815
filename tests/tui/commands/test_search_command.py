"""`talks search WORDS` through the real command line, on archives filed through the ledger
(no audio, no model): one line a moment, grouped by talk, the time in the recording; the
query language; whatever is typed never reaching FTS5's syntax; the filters; --json; exit 0
found, 1 nothing found (or nothing filed), 2 a search that cannot run; an archive filed before
the index existed indexed once with its progress; --reindex."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config.settings import Config, load_config
from pipeline.ledger import Ledger
from pipeline.search.index import clear
from tests.support.paths import ROOT
from tests.support.tui_helpers import file_talk, write_home
from tui import cli

FILLER = ("and the evening went on with stories of roads, markets, small boats and long "
          "dinners with friends in town number {n}.")


def _filler(start: float, count: int) -> list[tuple[float, float, str]]:
    """Cues of words nobody searches for: enough of them cut a talk into several passages."""
    return [(start + 5 * i, start + 5 * i + 5, FILLER.format(n=i)) for i in range(count)]


def build_archive(home: Path) -> Config:
    """Three talks, filed before the index existed (file_talk files through the ledger)."""
    config = load_config(write_home(home))
    file_talk(config, "Sarah Lane", "Bridges of Rome", 2021, [
        (0.0, 6.0, "Good evening, and welcome to a walk through Rome."),
        (6.0, 12.0, "Tonight we cross the bridges of the Tiber, one by one."),
        *_filler(12.0, 12),
        (724.0, 730.0, "Lighthouse keepers never came this far inland."),
        (730.0, 736.0, "The old stone bridge is older than the city walls."),
        *_filler(736.0, 12),
        (3725.0, 3731.0, "Don't forget the café by the Tiber, said the golden"),
        (3731.0, 3737.0, "compass maker, and he laughed."),
    ])
    file_talk(config, "Robert Moss", "Harbour Lights", 2019, [
        (0.0, 5.0, "The lighthouse stands at the end of the harbour."),
        *_filler(5.0, 12),
        (65.0, 70.0, "Every lighthouse keeper kept a logbook."),
        *_filler(70.0, 11),
        (125.0, 130.0, "We ate at a cafe on the quay."),
    ])
    file_talk(config, "Alan Webb", "Mill Stories", 2023, [
        (0.0, 5.0, "The old mill by the river ground flour for the village."),
        (10.0, 15.0, "A bridge of timber crossed the mill race."),
    ])
    return config


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Config:
    """For the searches that only look (the first one indexes it)."""
    return build_archive(tmp_path_factory.mktemp("search"))


def talks(config: Config, capsys, *args: str) -> tuple[int, str, str]:
    """`talks --config … ARGS`, in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    try:
        code = cli.main(["--config", str(config.source), *args])
    except SystemExit as done:  # argparse's own refusals
        code = done.code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return int(code), out, err


def lines(out: str) -> list[str]:
    return out.splitlines()[:-1]  # the last line counts


def speakers_of(out: str) -> list[str]:
    return [line.split(" · ")[1] for line in lines(out)]


# --- what a search shows --------------------------------------------------------------------

def test_one_line_a_moment_grouped_by_talk_best_first(archive, capsys):
    code, out, err = talks(archive, capsys, "search", "lighthouse")
    assert code == 0, err
    said = lines(out)
    assert "2021 · Sarah Lane · Bridges of Rome · 0:12:04 · …long dinners with friends in town "\
           "number 11. [Lighthouse] keepers never came this far inland. The old…" in said
    assert "2019 · Robert Moss · Harbour Lights · 0:00:00 · The [lighthouse] stands at the end "\
           "of the harbour. and the evening…" in said
    assert said[-1].startswith("2019 · Robert Moss · Harbour Lights · 0:01:05 · …dinners "
                               "with friends in town number 11. Every [lighthouse] keeper kept "
                               "a logbook.")
    # Grouped: a talk's moments together, in time order; the talks best first, as the API
    # ranks them (bm25).
    assert speakers_of(out) == ["Sarah Lane", "Robert Moss", "Robert Moss"]
    assert out.splitlines()[-1] == "3 moments in 2 talks."
    assert all("\n" not in line and "  " not in line for line in said)
    found = json.loads(talks(archive, capsys, "search", "lighthouse", "--json")[1])
    assert [t["speaker"] for t in found] == ["Sarah Lane", "Robert Moss"]


def test_the_words_of_a_search(archive, capsys):
    def found(*words: str) -> list[str]:
        code, out, err = talks(archive, capsys, "search", *words)
        assert code in (0, 1), err
        return sorted(set(speakers_of(out))) if code == 0 else []

    # every word is wanted; a phrase is the words in a row
    assert found("stone", "bridge") == ["Sarah Lane"]
    assert found("old", "bridge") == ["Alan Webb", "Sarah Lane"]
    assert found('"old stone bridge"') == ["Sarah Lane"]
    assert found('"stone old bridge"') == []
    # a phrase a cue break cuts in two is found, at the time of its first word
    code, out, _ = talks(archive, capsys, "search", '"golden compass"')
    # "golden" ends a 6-second cue that starts at 1:02:05: placed no later than brisk
    # speech reaches it (pipeline/search/passages.py: time_at).
    assert code == 0 and "· 1:02:08" in out and "[golden compass]" in out
    # the beginning of a word, a word left out (unquoted too), either word
    assert found("bridg*") == ["Alan Webb", "Sarah Lane"]
    assert found("bridge", "-timber") == ["Sarah Lane"]
    assert found("bridge -timber") == ["Sarah Lane"]
    assert found("logbook", "OR", "flour") == ["Alan Webb", "Robert Moss"]
    # accents and case folded both ways; other forms of a word
    assert found("cafe") == found("CAFÉ") == ["Robert Moss", "Sarah Lane"]
    assert found("bridges") == found("bridge") == ["Alan Webb", "Sarah Lane"]
    assert found("keeper") == ["Robert Moss", "Sarah Lane"]  # keepers, keeper
    assert found("don't") == ["Sarah Lane"]


@pytest.mark.parametrize("typed", [
    "don't", '"unbalanced', 'a "b', "a(b", "NEAR(", "NEAR(a b, 2)", "lighthouse)", "(", "*",
    "AND OR NOT", "OR", "NOT", "-", "-lighthouse", "^x", "col:umn", "words:lighthouse",
    "{a b}", "'", '""', "x'; DROP TABLE files; --", "a + b", "lighthouse AND", "\\", "%_",
    "“curly”", "bridge*)", "-*", "**", "rowid", "OR lighthouse OR"])
def test_whatever_is_typed_never_breaks_the_search(archive, capsys, typed):
    code, out, err = talks(archive, capsys, "search", typed)
    assert code in (0, 1, 2), out + err
    if code == 2:  # one sentence, said as talks says its errors
        assert out == "" and re.fullmatch(r"talks: [^\n]+\n", err), err
    if code == 1:
        assert out.startswith("Nothing in the archive says “")


def test_the_filters(archive, capsys):
    def found(*args: str) -> list[str]:
        code, out, err = talks(archive, capsys, "search", *args)
        assert code in (0, 1), err
        return sorted(set(speakers_of(out))) if code == 0 else []

    assert found("lighthouse", "--speaker", "sarah LANE") == ["Sarah Lane"]
    assert found("lighthouse", "--speaker", "moss") == ["Robert Moss"]  # a piece of a name
    assert found("bridge", "--year", "2023") == ["Alan Webb"]
    assert found("bridge", "--year", "2021-2023") == ["Alan Webb", "Sarah Lane"]
    assert found("lighthouse", "--year", "2020-2022") == ["Sarah Lane"]
    assert found("lighthouse", "--year", "2023") == []
    code, out, _ = talks(archive, capsys, "search", "lighthouse", "--limit", "1")
    assert code == 0 and len(lines(out)) == 1
    assert out.splitlines()[-1] == "1 moment in 1 talk. The best 1: --limit shows more."


@pytest.mark.parametrize(("args", "said"), [
    (("lighthouse", "--speaker", "Sarah Lame"), "Did you mean Sarah Lane?"),
    (("lighthouse", "--year", "last year"), "--year last year: give a year"),
    (("lighthouse", "--year", "20-21"), "give a year (2019) or a range"),
    ((), "Nothing to look for"),
    (("*", "--", "-"), "Nothing to look for"),
    (("-lighthouse",), "Only words to leave out"),
])
def test_a_search_that_cannot_run_is_one_sentence_and_exit_2(archive, capsys, args, said):
    code, out, err = talks(archive, capsys, "search", *args)
    assert code == 2 and out == ""
    assert re.fullmatch(r"talks: [^\n]+\n", err) and said in err, err


def test_a_limit_that_is_not_a_count_is_refused(archive, capsys):
    code, _out, err = talks(archive, capsys, "search", "lighthouse", "--limit", "0")
    assert code == 2 and "--limit" in err


def test_nothing_found_says_what_to_try_and_exits_1(archive, capsys):
    code, out, err = talks(archive, capsys, "search", "old", "lighthuose", "--year", "2021")
    assert code == 1 and err == ""
    assert out == ("Nothing in the archive says “old lighthuose”. Try without --year, or fewer "
                   "words, or the beginning of a word (lighthu*).\n")
    code, out, err = talks(archive, capsys, "search", "zeppelin", "--json")
    assert code == 1 and json.loads(out) == [] and "Nothing in the archive says" in err


def test_json_gives_the_paths_and_the_times(archive, capsys):
    code, out, _ = talks(archive, capsys, "--json", "search", "logbook")  # before: the same
    assert code == 0
    (talk,) = json.loads(out)
    assert {k for k in talk} == {"file_id", "year", "speaker", "title", "talk", "transcript",
                                 "transcripts", "hits"}
    assert (talk["year"], talk["speaker"], talk["title"]) == (2019, "Robert Moss",
                                                             "Harbour Lights")
    assert talk["talk"].endswith("talks/2019/Robert Moss/Robert Moss - Harbour Lights.mp3")
    assert Path(talk["talk"]).is_file() and Path(talk["transcript"]).is_file()
    assert talk["transcript"] in talk["transcripts"] and talk["transcript"].endswith(".txt")
    (hit,) = talk["hits"]
    assert set(hit) == {"at", "start", "end", "time", "snippet", "score"}
    assert hit["start"] <= hit["at"] <= hit["end"] and 65.0 <= hit["at"] < 70.0
    assert hit["time"] == "0:01:0" + str(int(hit["at"]) - 60)
    assert "[logbook]" in hit["snippet"] and isinstance(hit["score"], float)
    assert talk == json.loads(talks(archive, capsys, "search", "logbook", "--json")[1])[0]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_words_found_are_bold(archive, capsys, monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    screen = _Terminal()
    monkeypatch.setattr(sys, "stdout", screen)
    assert cli.main(["--config", str(archive.source), "search", "logbook"]) == 0
    said = screen.getvalue()
    assert "\x1b[1mlogbook\x1b[0m" in said and "[logbook]" not in said
    assert "Robert Moss · Harbour Lights · 0:01:0" in said
    assert said.endswith("1 moment in 1 talk.\n")


# --- the archive and its index --------------------------------------------------------------

def test_an_archive_filed_before_search_is_indexed_once_with_progress(tmp_path, capsys):
    config = build_archive(tmp_path)
    code, out, err = talks(config, capsys, "search", "flour")
    assert code == 0 and "Alan Webb" in out
    assert err == ("Indexing the words of 3 talks filed before search existed (once)…\n"
                   "… 3 talks indexed.\n")
    code, _out, err = talks(config, capsys, "search", "flour")
    assert code == 0 and err == ""  # once
    # Emptied (as by a stopped catch-up, or an index made another way): made again on a
    # terminal, the count redrawn in place.
    with Ledger(config.output.ledger_path) as ledger:
        clear(ledger)
    screen = _Terminal()
    sys.stderr, kept = screen, sys.stderr
    try:
        assert cli.main(["--config", str(config.source), "search", "flour", "--json"]) == 0
    finally:
        sys.stderr = kept
    assert json.loads(capsys.readouterr().out)[0]["speaker"] == "Alan Webb"
    assert screen.getvalue() == "".join(
        f"\rIndexing the words of 3 talks filed before search existed (once)… {n}/3"
        for n in range(4)) + "\n"


def test_reindex_makes_the_index_again(tmp_path, capsys):
    config = build_archive(tmp_path)
    code, out, err = talks(config, capsys, "search", "--reindex")
    assert (code, out) == (0, "Indexed 3 filed talks for search.\n")
    assert err == "Indexing the words of 3 talks again…\n… 3 talks indexed.\n"
    code, out, _ = talks(config, capsys, "search", "--reindex", "--json")
    assert (code, json.loads(out)) == (0, {"indexed": 3})
    code, out, _ = talks(config, capsys, "search", "--reindex", "flour")
    assert code == 0 and speakers_of(out) == ["Alan Webb"]


def test_a_relabelled_talk_is_found_under_its_new_speaker(tmp_path, capsys):
    config = build_archive(tmp_path)
    assert talks(config, capsys, "search", "logbook")[0] == 0  # indexed under Robert Moss
    code, _out, err = talks(config, capsys, "relabel", "Harbour Lights", "Ida Wells")
    assert code == 0, err
    code, out, _ = talks(config, capsys, "search", "logbook")
    assert code == 0 and lines(out)[0].startswith("2019 · Ida Wells · Harbour Lights · ")
    code, out, _ = talks(config, capsys, "search", "logbook", "--json")
    assert "/Ida Wells/" in json.loads(out)[0]["talk"]
    assert talks(config, capsys, "search", "logbook", "--speaker", "Ida Wells")[0] == 0
    assert talks(config, capsys, "search", "logbook", "--speaker", "Robert Moss")[0] == 2


def test_nothing_filed_yet_is_said_and_makes_nothing(tmp_path, capsys):
    config = load_config(write_home(tmp_path))
    before = sorted(tmp_path.rglob("*"))
    code, out, err = talks(config, capsys, "search", "lighthouse")
    assert code == 1 and err == ""
    assert out == (f"Nothing is filed under {config.output.root} yet, so there is nothing to "
                   "search: the first run files talks (talks --batch, or s in the app).\n")
    code, out, err = talks(config, capsys, "search", "lighthouse", "--json")
    assert code == 1 and json.loads(out) == [] and "Nothing is filed" in err
    assert talks(config, capsys, "search", "--reindex")[0] == 1
    assert talks(config, capsys, "search", "*")[0] == 2  # a search that cannot run, still
    assert talks(config, capsys, "search", "x", "--year", "soon")[0] == 2
    assert sorted(tmp_path.rglob("*")) == before  # no output root, no ledger, no log


def test_a_reader_that_leaves_early_ends_it_quietly(archive):
    """`talks search … | head -1`: the pipe closed before the lines are written."""
    command = [sys.executable, "-m", "tui.cli", "--config", str(archive.source), "search",
               "lighthouse"]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # before the child's first line: its write meets a closed pipe
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert "talks:" not in err and "Broken pipe" not in err and "Traceback" not in err, err
