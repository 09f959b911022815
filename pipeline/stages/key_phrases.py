"""The key phrases of a talk: the words and short phrases it says far more often than its
language does in general, which name its subject ("suspension bridges", "sourdough bread").

A word's weight is its count in the talk times how much more often the talk says it than the
language does (the log of the ratio of the two frequencies; wordfreq gives the language's):
"bridge", said twenty times in a lecture, outweighs "people", said as often but common
everywhere, and "aqueduct", said once. Forms of a word are counted as one (simplemma's base
form). A phrase is a run of two or three words none of which is a function word, within one
clause, or two such words linked by the language's "of" ("history of bridges"), said at
least twice, and of words the talk says far more often than the language does;
its weight is its count times the sum of its words' ratios, with a bonus, since
a phrase a talk repeats says more than its words apart.

A word no library knows, said once or twice, is set aside as a likely mishearing
(pipeline/stages/word_knowledge.py).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.stages.title_words import TitleWords
from pipeline.stages.word_knowledge import WordKnowledge

LONGEST_PHRASE = 3
PHRASE_BONUS = 1.5
# Every word of a phrase is said this much more often in the talk than in the language
# (its log), so a common word does not ride on a subject's back ("every lighthouse").
PHRASE_WORD_RATIO = 3.5
# A word said far more often in the talk than in its language (the log of the ratio: 150
# times) is one of its subjects; a commoner one is a passing remark, or the talk's manners
# ("Good morning", "this evening").
SUBJECT_RATIO = 5.0
# Distinct words up to which every word's base form is looked up.
EVERY_BASE_UP_TO = 1500
# A word said this often or less, known to no library, is taken for a mishearing.
MISHEARD_AT_MOST = 2


@dataclass(frozen=True)
class Candidate:
    """A word or phrase that may name the talk."""

    key: tuple[str, ...]    # the base forms of its content words
    words: tuple[str, ...]  # as the talk says it most often (lowercase), function words kept
    count: int
    score: float
    weakest: float          # the least of its words' ratios (log, see above)


@dataclass
class KeyPhrases:
    candidates: list[Candidate]  # best first (ties by their words: the same every time)
    counts: Counter              # base form -> how often the talk says it
    forms: dict[str, Counter]    # base form -> its spoken forms
    knowledge: WordKnowledge
    every_phrase: dict[tuple[str, ...], Candidate]  # said once or more
    base_of: Callable[[str], str]  # a word's base form (simplemma), for a word said once

    def misheard(self, candidate: Candidate) -> bool:
        """Whether a word of the candidate is likely a mishearing: known to no library
        and said at most MISHEARD_AT_MOST times."""
        return any(self.counts[b] <= MISHEARD_AT_MOST
                   and not any(self._known(form) for form in self.forms[b])
                   for b in candidate.key)

    def _known(self, word: str) -> bool:
        pieces = [p for p in word.split("-") if p]
        return all(self.knowledge.known(p) for p in pieces) if len(pieces) > 1 \
            else self.knowledge.known(word)

    def phrases_with(self, b: str) -> list[Candidate]:
        """Every phrase with the word of base form `b`, said once or more, best first: what
        makes a one-word title two ("Gratitude" -> "Gratitude Journal")."""
        found = [c for key, c in self.every_phrase.items() if b in key]
        return sorted(found, key=lambda c: (-c.score, c.words))


def key_phrases(text: str, rules: TitleWords) -> KeyPhrases:
    tokens = rules.tokens(text)
    said = Counter(tokens)
    said.pop(None, None)
    total = sum(said.values()) or 1
    # Every word's base form; in a long talk, of the words said twice or more only: a word
    # said once there is counted as it is (its family is counted all the same when its other
    # forms are said: "bee" once, "bees" ten times), and a two-hour talk's thousand such
    # words cost no look-ups (~12 µs each).
    once_as_said = len(said) > EVERY_BASE_UP_TO
    base = {w: w if once_as_said and said[w] == 1 else rules.base(w)
            for w in said if rules.is_content(w)}
    # "was" is "be", "thanks" is "thank": a function word in another form.
    content = {w for w, b in base.items() if b == w or not rules.is_function(b)}
    knowledge = WordKnowledge(rules.language, set(said))

    counts: Counter = Counter()
    forms: dict[str, Counter] = {}
    for w in said:  # in the order first said: a tie between forms goes to the first
        if w not in content:
            continue
        counts[base[w]] += said[w]
        forms.setdefault(base[w], Counter())[w] = said[w]

    ratio: dict[str, float] = {}
    for b, count in counts.items():
        # The language's use of the word in all the forms the talk says it in.
        general = sum(10 ** (knowledge.zipf(f) - 9) for f in {*forms[b], b})
        ratio[b] = max(0.0, math.log(count / total / general))

    candidates = [Candidate((b,), (forms[b].most_common(1)[0][0],), count,
                            count * ratio[b], ratio[b]) for b, count in counts.items()]
    every = phrases(tokens, content, base, ratio, rules.links)
    candidates += [c for c in every.values()
                   if c.count >= least_said(c) and c.weakest >= PHRASE_WORD_RATIO]
    candidates.sort(key=lambda c: (-c.score, c.words))
    return KeyPhrases(candidates, counts, forms, knowledge, every, rules.base)


def least_said(c: Candidate) -> int:
    """Twice for two words, and for three that are each far more the talk's than the
    language's ("sour dough bread"); three words of which one is common, said together only
    twice, are more likely a roll call or a habit of speech ("Council Member Herbold")."""
    return 2 if len(c.key) == 2 or c.weakest >= SUBJECT_RATIO else 3


def phrases(tokens: list[str | None], content: set[str], base: dict[str, str],
            ratio: dict[str, float], links: frozenset[str]) -> dict[tuple[str, ...], Candidate]:
    """Every phrase of the talk, said once or more. The spoken word sequences are counted
    first (Counter over zip runs in C: a two-hour talk's 18,000 words in a few ms), then
    each distinct one is looked at once."""
    found: Counter = Counter()
    spoken: dict[tuple[str, ...], Counter] = {}

    def add(key: tuple[str, ...], words: tuple, count: int) -> None:
        if len(set(key)) == len(key):  # "bees bees" is a stammer, not a phrase
            found[key] += count
            spoken.setdefault(key, Counter())[words] += count

    t = tokens
    for (a, b), count in Counter(zip(t, t[1:], strict=False)).items():
        if a in content and b in content:
            add((base[a], base[b]), (a, b), count)
    for (a, b, c), count in Counter(zip(t, t[1:], t[2:], strict=False)).items():
        if a in content and c in content:
            if b in content:  # a run of three: "wild yeast starter"
                add((base[a], base[b], base[c]), (a, b, c), count)
            elif b in links:  # linked by "of": "history of bridges"
                add((base[a], base[c]), (a, b, c), count)
    if links:
        # "history of the lighthouse": "of", then one function word. Only where "of" is
        # said: counting every four words in a row would cost more than all the rest.
        quads: Counter = Counter()
        for i in (i for i, w in enumerate(t[1:-2], 1) if w in links):
            a, c, d = t[i - 1], t[i + 1], t[i + 2]
            if a in content and d in content and c is not None and c not in content:
                quads[(a, t[i], c, d)] += 1
        for (a, b, c, d), count in quads.items():
            add((base[a], base[d]), (a, b, c, d), count)
    return {key: Candidate(key, spoken[key].most_common(1)[0][0], count,
                           PHRASE_BONUS * count * sum(ratio[k] for k in key),
                           min(ratio[k] for k in key))
            for key, count in found.items()}
