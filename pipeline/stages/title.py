"""A title for a talk from its own words, offline.

The most repeated phrase and the most repeated content words usually name the subject of a
talk ("Honey Bees, Pollination and Hives"). Forms of one word count as one ("bridge",
"bridges"), so a title never says a thing twice. `[titles] method = "llm"` asks a language
model instead (pipeline/stages/llm_title.py), and falls back to this one.

A talk in another language is titled from that language's words: its own stop words, forms
and "and" (pipeline/stages/title_words.py), read from the talk's language in the ledger.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from pipeline.config.settings import TitlesConfig
from pipeline.run.events import LogLine
from pipeline.run.logs import get_logger
from pipeline.run.states import FileState
from pipeline.stages.context import StageContext
from pipeline.stages.title_words import TitleWords, rules_for

UNTITLED = "Untitled Talk"

STOPWORDS = frozenset("""
a about above after again against all almost also although always am among an and another
any anyone anything are aren't around as at away back be became because become been before
being below between both but by came can can't cannot come could couldn't did didn't do does
doesn't doing don't done down during each either else enough even ever every everyone
everything few first for from further get gets getting give given go goes going gone good got
great had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers
herself him himself his how how's however i i'd i'll i'm i've if in into is isn't it it's its
itself just keep kind know last least less let let's like little look lot lots made make makes
making many may maybe me might mine more most much must mustn't my myself near need never new
next no nor not nothing now of off often oh ok okay old on once one ones only onto or other
others otherwise our ours ourselves out over own part people per perhaps put quite rather
really right said same say says see seem seems several shall shan't she she'd she'll she's
should shouldn't since so some someone something sometimes still such sure take than that
that's the their theirs them themselves then there there's these they they'd they'll they're
they've thing things think this those though through thus till time times to today together
too toward towards two under until up upon us use used uses using very want wants was wasn't
way ways we we'd we'll we're we've well went were weren't what what's when when's where
where's whether which while who who's whole whom whose why why's will with within without
won't would wouldn't yes yet you you'd you'll you're you've your yours yourself yourselves
also actually get got going gonna yeah thank thanks along across around behind beyond
talk talks lecture lectures sermon speech tonight morning evening welcome everyone friends
""".split())

# Letters of any alphabet, so a word such as "café" is one word, not "caf".
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-])*")


def _words(text: str) -> list[str]:
    return [w.lower().replace("’", "'").strip("'-") for w in _WORD.findall(text)]


def _is_content(word: str) -> bool:
    return len(word) > 2 and word not in STOPWORDS


def fold(word: str) -> str:
    """One key for the forms of a word: plurals and the commonest endings folded, so
    "bridge", "bridges" and "bridging" count as one word ("bridg")."""
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 4 and word.endswith(("sses", "ches", "shes", "xes", "zes")):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for ending in ("ing", "ed"):
        if len(word) - len(ending) >= 4 and word.endswith(ending):
            word = word[:-len(ending)]
            break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


class _Counted:
    """Counts of a key (a folded word or phrase) and of the forms it was spoken in."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.forms: dict[tuple[str, ...], Counter] = {}

    def add(self, key: tuple[str, ...], form: tuple[str, ...]) -> None:
        self.counts[key] += 1
        self.forms.setdefault(key, Counter())[form] += 1

    def form(self, key: tuple[str, ...]) -> tuple[str, ...]:
        return self.forms[key].most_common(1)[0][0]


ENGLISH = TitleWords(_words, _is_content, fold, "and")


def title_words(language: str | None) -> TitleWords:
    """The rules for a talk's language (Whisper's code; None, from before languages were
    kept, is English)."""
    if language is None or language == "en":
        return ENGLISH
    return rules_for(language)


def _phrases(words: list[str], size: int, rules: TitleWords) -> _Counted:
    counted = _Counted()
    for i in range(len(words) - size + 1):
        form = tuple(words[i:i + size])
        if not all(rules.is_content(w) for w in form):
            continue
        key = tuple(rules.fold(w) for w in form)
        if len(set(key)) == size:  # "bees bees" is a stammer, not a phrase
            counted.add(key, form)
    return counted


def _near(a: str, b: str) -> bool:
    """Two folded words that are one word to a reader: one inside the other ("light",
    "lighthouse"), or the same first five letters ("patience", "patient")."""
    if a == b:
        return True
    if min(len(a), len(b)) < 4:
        return False
    return a in b or b in a or (min(len(a), len(b)) >= 5 and a[:5] == b[:5])


def _overlaps(key: tuple[str, ...], used: set[str]) -> bool:
    """A word already said in the title, or a near-repeat of one."""
    return any(_near(k, u) for k in key for u in used)


def keyword_title(text: str, max_words: int, language: str | None = None) -> str:
    """The subject from the talk's own words: its most repeated phrase first (a phrase says
    more than its words apart), then at most one or two other subjects, each word said once
    whatever form it was spoken in; in the talk's language (None: English)."""
    rules = title_words(language)
    words = rules.words(text)
    unigrams = _phrases(words, 1, rules)
    if not unigrams.counts:
        return UNTITLED
    top_word = unigrams.counts.most_common(1)[0][1]
    candidates: list[tuple[float, tuple[str, ...], int]] = []
    for size in (3, 2):
        counted = _phrases(words, size, rules)
        for key, count in counted.counts.items():
            # A phrase repeated at least twice, and a real share of its words' use, names
            # the subject better than a list of its words.
            if count >= 2 and count >= 0.3 * min(unigrams.counts[(k,)] for k in key):
                candidates.append((count * size * 1.5, counted.form(key), count))
    for key, count in unigrams.counts.items():
        candidates.append((float(count), unigrams.form(key), count))
    candidates.sort(key=lambda c: (-c[0], c[1]))
    parts: list[tuple[str, ...]] = []
    used: set[str] = set()
    total = 0
    lead = candidates[0][2]
    for _score, form, count in candidates:
        key = tuple(rules.fold(w) for w in form)
        if _overlaps(key, used):
            continue
        if parts and (count < max(2, 0.4 * lead) or count < 0.25 * top_word):
            break  # what is left is not a subject of the talk
        joiner = 1 if parts and rules.joiner else 0  # the "and" joining the last part
        if total + len(form) + joiner > max_words:
            continue
        parts.append(form)
        used.update(key)
        total += len(form) + joiner
        # After a phrase, one more subject at most: "Suspension Bridges and Cables", not a list.
        if len(parts) == (2 if len(parts[0]) > 1 else 3):
            break
    if not parts:
        parts = [candidates[0][1][:max_words]]
    return rules.join([" ".join(w.capitalize() for w in p) for p in parts])


@dataclass(frozen=True)
class Titled:
    title: str
    summary: str | None = None
    method: str = "keywords"  # what made the title: keywords, llm


def make_title(text: str, config: TitlesConfig, language: str | None = None) -> Titled:
    """The title for a transcript by the configured method; an LLM that fails in any way
    gives way to the keyword title (the log says why), made in the talk's `language`."""
    if config.method == "llm" and text.strip():
        from pipeline.stages.llm_title import LlmUnavailable, ask_for_title

        try:
            answer = ask_for_title(text, config)
            return Titled(answer.title, answer.summary, "llm")
        except LlmUnavailable as exc:
            get_logger().warning("LLM title not used (%s): the keyword title stands in", exc)
    return Titled(keyword_title(text, config.max_title_words, language))


# --- the stage ----------------------------------------------------------------------------


def title_stage(ctx: StageContext) -> None:
    text = " ".join(c.text or "" for c in ctx.ledger.chunks(ctx.row.id))
    titled = make_title(text, ctx.config.titles, ctx.row.language)
    title = titled.title
    if title == UNTITLED:
        title = f"Untitled ({ctx.path.stem})"  # nothing was said: keep the original's name
    if not text.strip():
        # Filed all the same (nothing is lost), but a blank recording should not pass unseen.
        ctx.on_event(LogLine(ctx.path.name, "WARNING", "no words were heard in it (silence, "
                             "music only, or a muted microphone?): its title is "
                             f"{title!r}; listen to it"))
    ctx.ledger.advance(ctx.row.id, FileState.TITLED, title=title, summary=titled.summary)
