"""What a person types, made into an FTS5 query that cannot break.

Everything typed is taken as words: each word is quoted for FTS5, so punctuation, an
apostrophe or a stray quote never reaches its syntax. Only these mean more:

    "the old lighthouse"   a phrase           bridg*       words beginning so
    -river  -"old mill"    leave out          a OR b       either (binds tighter than and)

`NOT word` is taken as `-word`, `AND` as nothing (words are all wanted anyway).

The index folds case and accents ("cafe" finds "café"), but SQLite's unicode61 tokenizer
keeps "ß" and "œ" as letters of their own: a word typed with "ss" or "oe" is also looked
for with "ß" or "œ" in their place, and the other way round, so "strasse" finds "Straße"
(and "Straße" a transcript's "Strasse"), "coeur" finds "cœur".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import product

from common.errors import ExitCode, TalksError


class QueryError(TalksError):
    """A search that cannot run as asked; the sentence says what to type instead."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class Term:
    text: str
    prefix: bool = False
    leave_out: bool = False

    def fts(self) -> str:
        star = "*" if self.prefix else ""
        quoted = ['"' + form.replace('"', '""') + '"' + star for form in spellings(self.text)]
        return quoted[0] if len(quoted) == 1 else "(" + " OR ".join(quoted) + ")"

    def single_words(self) -> list[Term]:
        pieces = self.text.split()
        return [Term(w, self.prefix and i == len(pieces) - 1) for i, w in enumerate(pieces)]


@dataclass(frozen=True)
class Query:
    typed: str
    match: str  # the FTS5 expression for the passages
    marks: str  # every wanted word on its own, any of them: to mark words cue by cue


_TOKEN = re.compile(r'(-?)"([^"]*)"(\*?)|(\S+)')

# Letters the tokenizer does not fold, and the letters they are written as without them.
_SPELLED_APART = {"ß": "ss", "œ": "oe"}
_APART = re.compile("(" + "|".join([*_SPELLED_APART, *_SPELLED_APART.values()]) + ")",
                    re.IGNORECASE)
_MOST_SPELLINGS = 8


def spellings(text: str) -> list[str]:
    """`text` as typed first, then its other spellings with "ß"/"ss" and "œ"/"oe" swapped
    (each place either way; past _MOST_SPELLINGS, every place one way or the other)."""
    pieces = _APART.split(text)
    places = pieces[1::2]
    if not places:
        return [text]

    def other(piece: str) -> str:
        low = piece.lower()
        if low in _SPELLED_APART:
            return _SPELLED_APART[low]
        return next(letter for letter, apart in _SPELLED_APART.items() if apart == low)

    choices = [(p, other(p)) for p in places]
    if 2 ** len(choices) <= _MOST_SPELLINGS:
        picks = list(product(*choices))
    else:
        picks = [tuple(c[0] for c in choices), tuple(c[1] for c in choices)]
    forms: list[str] = []
    for pick in picks:
        # pieces alternate text, place, text, …, text: one more text than places.
        form = "".join(p for pair in zip(pieces[0::2], [*pick, ""], strict=True) for p in pair)
        if form not in forms:
            forms.append(form)
    return forms


def _has_word(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _terms(typed: str) -> list[Term | str]:
    """Terms and the word "OR", in order. A quote with no partner is only punctuation."""
    if typed.count('"') % 2:
        last = typed.rfind('"')
        typed = typed[:last] + " " + typed[last + 1:]
    out: list[Term | str] = []
    leave_next = False
    for m in _TOKEN.finditer(typed):
        minus, phrase, star, bare = m.groups()
        if bare is not None:
            if bare == "OR":
                out.append("OR")
                continue
            if bare == "AND":
                continue
            if bare == "NOT":
                leave_next = True
                continue
            minus = "-" if bare.startswith("-") else ""
            star = "*" if bare.endswith("*") else ""
            phrase = bare.strip("-*").replace('"', " ")
        if not _has_word(phrase):
            continue
        out.append(Term(" ".join(phrase.split()), bool(star), bool(minus) or leave_next))
        leave_next = False
    return out


def parse(typed: str) -> Query:
    """The FTS5 query for what was typed; QueryError when it holds nothing to look for."""
    groups: list[list[Term]] = []
    leave_out: list[Term] = []
    join_next = False
    for item in _terms(typed):
        if item == "OR":
            join_next = bool(groups)
            continue
        assert isinstance(item, Term)
        if item.leave_out:
            leave_out.append(item)
            continue
        if join_next:
            groups[-1].append(item)
        else:
            groups.append([item])
        join_next = False
    if not groups:
        if leave_out:
            raise QueryError(f"Only words to leave out in “{typed}”: add a word to look for, "
                             "e.g. talks search bridge -river.")
        raise QueryError("Nothing to look for: give a word or a phrase, e.g. "
                         'talks search lighthouse, or talks search "the old mill".')
    wanted = " AND ".join(g[0].fts() if len(g) == 1 else
                          "(" + " OR ".join(t.fts() for t in g) + ")" for g in groups)
    match = wanted if not leave_out else \
        "(" + wanted + ")" + "".join(f" NOT {t.fts()}" for t in leave_out)
    marks = " OR ".join(w.fts() for g in groups for t in g for w in t.single_words())
    return Query(typed, match, marks)


def parse_years(text: str) -> tuple[int, int]:
    """--year: 2019, or a range 2019-2021 (also 2019..2021)."""
    m = re.fullmatch(r"\s*(\d{4})\s*(?:(?:-|\.\.|–|:)\s*(\d{4})\s*)?", text)
    if not m:
        raise QueryError(f"--year {text}: give a year (2019) or a range (2019-2021).")
    low, high = int(m.group(1)), int(m.group(2) or m.group(1))
    return (low, high) if low <= high else (high, low)
