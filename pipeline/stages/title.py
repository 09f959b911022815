"""A title for a talk from its own words, offline.

The talk's key phrases (pipeline/stages/key_phrases.py: the words and phrases it says far more
often than its language does) name its subject: the best one first, then one or two more
subjects when the talk dwells on them too, joined by the language's "and" ("Suspension
Bridges and Cables", "Bees, Pollination and Honey"). A title never says a word twice in any
of its forms, never shows a word that is likely a mishearing, and has two words at least
whenever the talk has two subjects to give. `[titles] method = "llm"` asks a language model
instead (pipeline/stages/llm_title.py), and falls back to this one.

The words are a language's own: its function words, base forms and "and"
(pipeline/stages/title_words.py), for the talk's language in the ledger.
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
from pipeline.stages.key_phrases import (
    PHRASE_WORD_RATIO,
    SUBJECT_RATIO,
    Candidate,
    KeyPhrases,
    key_phrases,
    least_said,
)
from pipeline.stages.title_words import TitleWords, rules_for

UNTITLED = "Untitled Talk"

# A further subject joins the title when the talk weighs it at least this share of the
# first one's weight, says it twice at least, and it is a subject (SUBJECT_RATIO).
SHARE = 0.25
EXTEND_SHARE = 0.6  # a longer phrase said at least this share as often says more
SHORTEST = 2  # words, whenever the talk gives a second subject


def title_words(language: str | None) -> TitleWords:
    """The rules for a talk's language (Whisper's code; None, from before languages were
    kept, is English)."""
    return rules_for(language or "en")


def near(a: str, b: str) -> bool:
    """Two base forms that are one word to a reader: the same, one inside the other
    ("light", "lighthouse"), or the same beginning ("patience", "patient"; "gratitude",
    "grateful")."""
    if a == b:
        return True
    if min(len(a), len(b)) < 4:
        return False
    same = len(_common_start(a, b))
    return a in b or b in a or same >= 5 or (same >= 4 and min(len(a), len(b)) >= 7)


def _common_start(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _overlaps(key: tuple[str, ...], used: set[str]) -> bool:
    return any(near(k, u) for k in key for u in used)


class _Title:
    """The parts of a title as it is built, and the words they take."""

    def __init__(self, max_words: int, joiner: bool) -> None:
        self.parts: list[Candidate] = []
        self.used: set[str] = set()
        self.length = 0
        self.max_words = max_words
        self.joiner = joiner

    def _extra(self) -> int:
        return 1 if self.parts and self.joiner else 0  # the "and" before the last part

    def fits(self, c: Candidate) -> bool:
        return (self.length + len(c.words) + self._extra() <= self.max_words
                and not _overlaps(c.key, self.used))

    def take(self, c: Candidate) -> None:
        self.length += len(c.words) + self._extra()
        self.parts.append(c)
        self.used.update(c.key)


def _choose(found: KeyPhrases, max_words: int, joiner: bool) -> list[Candidate]:
    ranked = [c for c in found.candidates if c.score > 0]
    title = _Title(max_words, joiner)
    top = None
    for c in ranked:
        if not title.fits(c) or found.misheard(c):
            continue
        if top is None:
            top = c.score
        elif c.score < SHARE * top or c.count < 2 or c.weakest < SUBJECT_RATIO:
            break  # what is left is not a subject of the talk
        title.take(_longest(c, ranked, found, title))
        # After a phrase, one more subject at most: "Suspension Bridges and Cables".
        if len(title.parts) == (2 if len(title.parts[0].words) > 1 else 3):
            break
    if title.parts and title.length < SHORTEST:
        _second_word(found, title, ranked)
    return title.parts


def _longest(c: Candidate, ranked: list[Candidate], found: KeyPhrases,
             title: _Title) -> Candidate:
    """The candidate, or a longer phrase around it that the talk says nearly as often: "Sour
    Dough Bread" (twice) rather than "Sour Dough" (three times)."""
    def around(d: Candidate) -> bool:
        n = len(c.key)
        return len(d.key) > n and any(d.key[i:i + n] == c.key
                                      for i in range(len(d.key) - n + 1))

    longer = [d for d in ranked if around(d) and d.count >= EXTEND_SHARE * c.count
              and title.fits(d) and not found.misheard(d)]
    return longer[0] if longer else c


def _second_word(found: KeyPhrases, title: _Title, ranked: list[Candidate]) -> None:
    """One word says too little: a phrase the talk repeats with it, else the talk's next
    subject, else a phrase of two it says once with a rare word ("Gratitude Journal"), else
    a word it says twice that is merely uncommon."""
    only = title.parts[0]
    said = [c for c in found.phrases_with(only.key[0])
            if not found.misheard(c) and len(c.words) <= title.max_words]
    repeated = [c for c in said if c.count >= least_said(c) and c.weakest >= PHRASE_WORD_RATIO]
    # Said once, a phrase is more likely a name for a thing when its other word is said in
    # its base form ("café owner", "gratitude journal") than in another ("café opens").
    once = sorted((c for c in said if len(c.words) == 2 and c.weakest >= SUBJECT_RATIO),
                  key=lambda c: any(found.base_of(w) != w for w in c.words
                                    if w not in only.words))
    others = [c for c in ranked if c.count >= 2 and title.fits(c) and not found.misheard(c)]
    subjects = [c for c in others if c.weakest >= SUBJECT_RATIO]
    uncommon = [c for c in others if c.weakest >= PHRASE_WORD_RATIO]
    if repeated or (once and not subjects):
        title.parts, title.used, title.length = [], set(), 0
        title.take((repeated or once)[0])
    elif subjects or uncommon:
        title.take((subjects or uncommon)[0])


_SPELLINGS_READ = 5  # times each title word is looked up in the text, about


def _spellings(words: set[str], text: str) -> dict[str, str]:
    """Each of a title's words as the talk writes it: an acronym kept ("HSD", "iPhone"), any
    other word capitalized. One pass over the text for all of them."""
    said: dict[str, Counter] = {w: Counter() for w in words}
    if words:
        pattern = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        seen = 0
        for match in re.finditer(rf"(?<!\w)(?:{pattern})(?!\w)", text, re.IGNORECASE):
            said.setdefault(match[0].lower(), Counter())[match[0]] += 1
            seen += 1
            if seen >= _SPELLINGS_READ * len(words):
                break  # enough to know how the talk writes them
    shown = {}
    for w in words:
        spelling = said[w].most_common(1)[0][0] if said[w] else w
        keep = len(spelling) > 1 and spelling[1:] != spelling[1:].lower()
        shown[w] = spelling if keep else w[:1].upper() + w[1:]
    return shown


def _phrase(c: Candidate, rules: TitleWords, spelled: dict[str, str]) -> str:
    shown = ""
    for i, w in enumerate(c.words):
        inner = 0 < i < len(c.words) - 1 and not rules.is_content(w)
        word = w if inner else spelled[w]
        shown += word if not shown or shown.endswith("'") else " " + word
    return shown


def keyword_title(text: str, max_words: int, language: str | None = None) -> str:
    """The subject from the talk's own key phrases, in at most `max_words` words (the
    "and" counted), in the talk's language (None: English)."""
    rules = title_words(language)
    found = key_phrases(text, rules)
    parts = _choose(found, max_words, rules.joiner is not None)
    if not parts:
        return UNTITLED
    spelled = _spellings({w for p in parts for w in p.words}, text)
    return rules.join([_phrase(p, rules, spelled) for p in parts])


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
