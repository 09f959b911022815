"""A title for a talk from its own words, offline.

The most repeated two-word phrase and the most repeated content words usually name the
subject of a talk ("Honey Bees, Pollination and Hives"). An LLM title can plug in later as
another method beside `keywords`.
"""

from __future__ import annotations

import re
from collections import Counter

from pipeline.config import TitlesConfig

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
also actually get got going gonna yeah thank thanks
talk talks lecture lectures sermon speech tonight morning evening welcome everyone friends
""".split())

_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def _words(text: str) -> list[str]:
    return [w.lower().replace("’", "'").strip("'-") for w in _WORD.findall(text)]


def _is_content(word: str) -> bool:
    return len(word) > 2 and word not in STOPWORDS


def keyword_title(text: str, max_words: int) -> str:
    words = _words(text)
    content = [w for w in words if _is_content(w)]
    if not content:
        return UNTITLED
    unigrams = Counter(content)
    bigrams = Counter((a, b) for a, b in zip(words, words[1:], strict=False)
                      if _is_content(a) and _is_content(b) and a != b)
    phrases: list[tuple[str, ...]] = []
    # A phrase repeated at least twice is a stronger subject than its words alone.
    for (a, b), count in bigrams.most_common(2):
        if count >= 2 and count >= unigrams[a] * 0.4:
            phrases.append((a, b))
    used = {w for p in phrases for w in p}
    for word, _count in unigrams.most_common():
        if len(phrases) >= 3:
            break
        # Skip near-repeats of a chosen word: "bee" beside "bees", "light" beside "lighthouse".
        if not any(word.rstrip("s") in u or u.rstrip("s") in word for u in used):
            phrases.append((word,))
            used.add(word)
    chosen: list[tuple[str, ...]] = []
    total = 0
    for phrase in phrases:
        joiner = 1 if chosen else 0  # the "and" that joins the last part counts as a word
        if total + len(phrase) + joiner > max_words:
            continue
        chosen.append(phrase)
        total += len(phrase) + joiner
    if not chosen:
        chosen = [phrases[0][:max_words]]
    parts = [" ".join(w.capitalize() for w in p) for p in chosen]
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def make_title(text: str, config: TitlesConfig) -> str:
    """The title for a transcript by the configured method."""
    if config.method == "keywords":
        return keyword_title(text, config.max_title_words)
    raise ValueError(f"unknown title method {config.method!r}")
