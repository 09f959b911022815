"""`talks search WORDS`: the moments of the archive's talks that say them, best first, grouped
by talk (pipeline/api/search.py finds them; this says them).

Like grep, it exits 0 when something was found, 1 when nothing was (or nothing is filed yet),
2 for a search that cannot run as asked. It only looks: with nothing filed it makes no output
root and no ledger. An archive filed before the index existed is indexed first, once, with its
progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import TYPE_CHECKING, TextIO

from common.errors import ExitCode, TalksError
from common.names import counted

if TYPE_CHECKING:
    from pipeline.api.configuration import Config
    from pipeline.api.search import TalkHits

LIMIT = 20  # moments shown unless --limit says otherwise
DOT = " · "


class SearchUsageError(TalksError):
    """A command line `talks search` cannot take as it is (the query's own are the API's)."""

    exit_code = ExitCode.USAGE


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of moments (1 or more)")
    return value


def add_command(sub: argparse._SubParsersAction) -> None:
    search = sub.add_parser(
        "search", help="the moments of the filed talks that say WORDS, best first",
        description="Look through the words of every filed talk: the best moments first, "
                    "grouped by talk, each a line with the year, speaker, title, the time in "
                    "the recording (h:mm:ss) and the words around it, the ones found marked. "
                    'Words are all wanted; "a phrase" in quotes, bridg* for words beginning '
                    "so, -word to leave one out, a OR b for either. Accents and case do not "
                    "matter, and other forms of a word are found (bridges finds bridge). "
                    "Exit 0: found; 1: nothing found; 2: a search that cannot run as asked.",
        epilog="Examples: talks search old lighthouse; talks search '\"old lighthouse\"' "
               "--year 2019-2021; talks search 'bridg* -river' --speaker 'Sarah Lane' --json")
    search.add_argument("words", nargs="*", metavar="WORDS",
                        help="what to look for (several are joined by spaces)")
    search.add_argument("--speaker", metavar="NAME",
                        help="only talks filed under NAME (any case; a piece of a name finds "
                             "the names that hold it)")
    search.add_argument("--year", metavar="YEAR",
                        help="only talks of YEAR, or of a range: 2019-2021")
    search.add_argument("--limit", type=_positive, default=LIMIT, metavar="N",
                        help=f"show the best N moments (default {LIMIT})")
    # SUPPRESS: unless given here, `talks --json search …` keeps the --json given before it.
    search.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="the talks and their moments as JSON: filed paths, transcripts, "
                             "start and end seconds")
    search.add_argument("--reindex", action="store_true",
                        help="make the search index again from every filed talk (alone: only "
                             "that; with WORDS: then search)")


def words_kept(argv: list[str]) -> list[str]:
    """`talks search bridge -river`: a word to leave out is a word of the search, not an
    option argparse does not know. After `search`, each `-word` (one dash, not -h) is given
    to argparse with a space before it, which makes it a positional for every parser; the
    query reads words split on spaces, so the space is gone again."""
    argv = list(argv)
    at, i = None, 0
    while i < len(argv):
        if argv[i] == "--config":
            i += 2
            continue
        if not argv[i].startswith("-"):
            at = i if argv[i] == "search" else None
            break
        i += 1
    if at is None:
        return argv
    return argv[:at + 1] + [" " + a if re.fullmatch(r"-[^-\s].*", a, re.DOTALL) and a != "-h"
                            else a for a in argv[at + 1:]]


# --- the command --------------------------------------------------------------------------------

def run(config: Config, args: argparse.Namespace) -> int:
    """Called before anything checks or opens the output root: a search only looks."""
    from pipeline.api.configuration import setup_logging
    from pipeline.api.search import (
        archive_filed,
        check_query,
        index_archive,
        parse_years,
        search_archive,
    )

    as_json = getattr(args, "json", False)
    words = " ".join(w.strip() for w in args.words if w.strip())
    if not words and not args.reindex:
        raise SearchUsageError("Nothing to look for: give a word or a phrase, e.g. talks "
                               'search lighthouse, or talks search \'"the old mill"\'.')
    years = parse_years(args.year) if args.year is not None else None
    if words:  # a query that cannot run says so (exit 2) before any work, filed or not
        check_query(words)
    if not archive_filed(config):
        return _nothing_filed(config, as_json)
    setup_logging(config.logging)
    progress = Progress(sys.stderr)
    try:
        if args.reindex:
            progress.label = "Indexing the words of {total} again"
            indexed = index_archive(config, progress, again=True)
            progress.end()
            if not words:
                said = f"Indexed {counted(indexed, 'filed talk')} for search."
                print(json.dumps({"indexed": indexed}) if as_json else said)
                return ExitCode.OK
        found = search_archive(config, words, speaker=args.speaker, years=years,
                               limit=args.limit, on_progress=progress)
    finally:
        progress.end()
    try:
        if as_json:
            print(json.dumps([as_dict(t) for t in found], ensure_ascii=False, indent=2))
            if not found:
                print(nothing_said(words, args), file=sys.stderr)
        elif found:
            show(found, args.limit, sys.stdout)
        else:
            print(nothing_said(words, args))
        sys.stdout.flush()
    except BrokenPipeError:  # `talks search … | head`: the reader left, and nothing is lost
        _quiet_stdout()
    return ExitCode.OK if found else ExitCode.FAILED


def _quiet_stdout() -> None:
    """stdout onto /dev/null: the interpreter's last flush would fail again, and say so."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _nothing_filed(config: Config, as_json: bool) -> int:
    """No ledger: nothing to search, and nothing is made. A root talks filed into before that
    holds no ledger now is a disk not mounted (a Fault, exit 3), as for any command."""
    from pipeline.api.configuration import roots

    if roots.was_used(config.output.ledger_path):  # the Fault that says so
        roots.check_output_root(config.output.ledger_path, config.output.root)
    sentence = (f"Nothing is filed under {config.output.root} yet, so there is nothing to "
                "search: the first run files talks (talks --batch, or s in the app).")
    if as_json:
        print("[]")
    print(sentence, file=sys.stderr if as_json else sys.stdout)
    return ExitCode.FAILED


def nothing_said(words: str, args: argparse.Namespace) -> str:
    """Nothing found, and what to try: without the filters or a word left out, fewer words,
    the beginning of a word."""
    tokens = words.replace('"', " ").split()
    wanted = [w for t in tokens if not t.startswith("-") and t not in ("OR", "AND", "NOT")
              for w in re.findall(r"\w+", t)]
    tries = [f"without --{name}" for name in ("speaker", "year")
             if getattr(args, name) is not None]
    tries += [f"without {t}" for t in tokens if t.startswith("-") and re.search(r"\w", t)]
    if len(wanted) > 1:
        tries.append("fewer words")
    longest = max(wanted, key=len, default="")
    if "*" not in words and len(longest) >= 5:  # (a shorter word is its own beginning)
        tries.append(f"the beginning of a word ({longest[:max(4, len(longest) - 3)]}*)")
    hint = f" Try {', or '.join(tries)}." if tries else ""
    return f"Nothing in the archive says “{words}”.{hint}"


# --- what is shown ------------------------------------------------------------------------------

def one_line(snippet: str) -> str:
    return " ".join(snippet.split())


def plain(snippet: str) -> str:
    """A snippet with its marked words in [brackets], on one line (a pipe, --json)."""
    from pipeline.api.search import MARK_OFF, MARK_ON

    return one_line(snippet).replace(MARK_ON, "[").replace(MARK_OFF, "]")


def heading(talk: TalkHits) -> str:
    from pathlib import Path

    year = str(talk.year) if talk.year is not None else "—"
    return DOT.join((year, talk.speaker or "—", talk.title or Path(talk.talk).stem))


def show(found: list[TalkHits], limit: int, out: TextIO) -> None:
    """One line a moment, grouped by talk; the words found bold on a terminal, in [brackets]
    in a pipe; then how many."""
    from pipeline.api.search import clock

    say = _Terminal(out) if out.isatty() else None
    for talk in found:
        head = heading(talk)
        for hit in talk.hits:
            start = f"{head}{DOT}{clock(hit.at)}{DOT}"
            if say is not None:
                say(start, one_line(hit.snippet))
            else:
                print(start + plain(hit.snippet), file=out)
    moments = sum(len(t.hits) for t in found)
    more = f" The best {limit}: --limit shows more." if moments >= limit else ""
    print(f"{counted(moments, 'moment')} in {counted(len(found), 'talk')}.{more}", file=out)


class _Terminal:
    """Lines on a terminal with rich: the marked words bold, the rest as it is (no markup
    read from a transcript, no line breaks of its own: the terminal wraps)."""

    def __init__(self, out: TextIO) -> None:
        from rich.console import Console

        self.console = Console(file=out, highlight=False, soft_wrap=True)

    def __call__(self, start: str, snippet: str) -> None:
        from rich.text import Text

        from pipeline.api.search import MARK_OFF, MARK_ON

        line = Text(start)
        for n, piece in enumerate(re.split(f"[{MARK_ON}{MARK_OFF}]", snippet)):
            line.append(piece, style="bold" if n % 2 else None)
        self.console.print(line)


def as_dict(talk: TalkHits) -> dict:
    from pipeline.api.search import clock

    return {"file_id": talk.file_id, "year": talk.year, "speaker": talk.speaker,
            "title": talk.title, "talk": talk.talk, "transcript": talk.transcript,
            "transcripts": list(talk.transcripts),
            "hits": [{"at": h.at, "start": h.start, "end": h.end, "time": clock(h.at),
                      "snippet": plain(h.snippet), "score": round(h.score, 6)}
                     for h in talk.hits]}


# --- progress while the index catches up --------------------------------------------------------

class Progress:
    """(done, total) from the indexing, said on stderr only when there is work: redrawn in
    place on a terminal, a line at the start and one at the end elsewhere."""

    label = "Indexing the words of {total} filed before search existed (once)"

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.live = err.isatty()
        self.open = False  # a line begun and not ended

    def __call__(self, done: int, total: int) -> None:
        said = self.label.format(total=counted(total, "talk")) + "…"
        if self.live:
            self._write(f"\r{said} {done}/{total}")
            self.open = True
        elif done == 0:
            self._write(f"{said}\n")
        elif done >= total:
            self._write(f"… {counted(done, 'talk')} indexed.\n")
        if done >= total:
            self.end()

    def end(self) -> None:
        if self.open:
            self.open = False
            self._write("\n")

    def _write(self, text: str) -> None:
        try:
            self.err.write(text)
            self.err.flush()
        except (OSError, ValueError):
            pass  # no terminal left to tell
