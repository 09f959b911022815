"""A title's words in the talk's own language: how its text splits into words, which words
are function words (never a subject), the base form that makes the spoken forms of a word
one ("bridges" and "bridge", "abeilles" and "abeille"), and the word that joins the last two
subjects of a title.

Nothing here is a hand-made list of words: the function words are the language's most
frequent words in wordfreq's lists (pipeline/stages/frequent_words.py), the base forms are
simplemma's (pipeline/stages/word_knowledge.py). A language wordfreq has no list for keeps
only words of four letters or more as subjects; one simplemma has no data for counts each
spelling as a word of its own; one whose "and" is not in JOINERS joins its subjects with
commas.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

# How many of a language's most frequent words are its function words: never a subject, and
# the words at which a key phrase ends. In English the first words that could name a subject
# ("work", "year", "life", "home") come between 100 and 150.
FREQUENT = 150

# The word for "and" (Whisper's language codes). Arabic and Hebrew write it as a prefix of
# the next word, so they are not here: a language missing here joins with commas.
JOINERS = {
    "en": "and", "fr": "et", "de": "und", "es": "y", "it": "e", "pt": "e", "nl": "en",
    "ca": "i", "gl": "e", "ro": "și", "la": "et", "sv": "och", "da": "og", "no": "og",
    "nn": "og", "is": "og", "af": "en", "fi": "ja", "et": "ja", "hu": "és", "pl": "i",
    "cs": "a", "sk": "a", "sl": "in", "hr": "i", "sr": "и", "bs": "i", "bg": "и", "mk": "и",
    "ru": "и", "uk": "і", "be": "і", "lt": "ir", "lv": "un", "el": "και", "tr": "ve",
    "az": "və", "sq": "dhe", "eu": "eta", "cy": "a", "id": "dan", "ms": "dan", "vi": "và",
    "sw": "na", "tl": "at", "fa": "و", "ur": "اور", "hi": "और",
}

# The words that make one subject of two ("the history OF bridges", "l'olio D'oliva"),
# followed at most by one more function word (an article: "history of THE lighthouse").
# A language missing here makes phrases of words side by side only.
LINKS = {
    "en": "of", "fr": "de du des d'", "de": "der des von vom", "es": "de del",
    "it": "di del della dello dei degli delle d'", "pt": "de do da dos das", "nl": "van",
    "ca": "de del d'", "ro": "de", "sv": "av", "da": "af", "no": "av", "pl": "z",
}

# Languages that elide a short word into the next with an apostrophe: "l'abeille",
# "dell'olio", "d'água". Dutch is not one ("auto's" is a plural).
_ELIDING = frozenset({"fr", "it", "ca", "pt"})
_LONGEST_ELIDED = 5  # "jusqu'", "quest'", "dell'"

# A word: letters, with apostrophes or hyphens inside ("aujourd'hui", "arc-en-ciel").
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-])*")
# The punctuation that ends a clause, where no phrase runs on.
_CLAUSE_END = re.compile(r"[.,;:!?()\[\]{}\"“”„«»…—–]+|\s-\s")


@dataclass(frozen=True)
class TitleWords:
    """How a title is made from one language's words."""

    language: str                      # Whisper's code
    words: Callable[[str], list[str]]  # the text's words, lowercase, in order
    tokens: Callable[[str], list[str | None]]  # the same, None where a clause ends
    is_content: Callable[[str], bool]  # not a function word: may name the subject
    is_function: Callable[[str], bool]  # one of the language's most frequent words
    base: Callable[[str], str]         # one key for the forms of a word (lowercase)
    joiner: str | None                 # "and" in the language; None: commas only
    links: frozenset[str] = frozenset()  # "of" in the language (LINKS)

    def join(self, parts: list[str]) -> str:
        """'A', 'A and B', 'A, B and C' in the language."""
        if len(parts) == 1:
            return parts[0]
        if self.joiner is None:
            return ", ".join(parts)
        joiner = self.joiner
        if joiner == "y" and _spanish_i_sound(parts[-1]):
            joiner = "e"  # Spanish "y" before an "i" sound: "Agua e Hielo"
        return ", ".join(parts[:-1]) + f" {joiner} " + parts[-1]


def _spanish_i_sound(part: str) -> bool:
    first = part.split()[0].lower() if part.split() else ""
    if first.startswith(("hie", "hia", "hio", "hiu")):  # "hielo" starts with a "y" sound
        return False
    return first.startswith(("i", "í", "hi", "hí"))


@lru_cache(maxsize=8)
def rules_for(language: str) -> TitleWords:
    """The title rules of a language (Whisper's code)."""
    from pipeline.stages.frequent_words import most_frequent
    from pipeline.stages.word_knowledge import lemmatizer

    frequent = most_frequent(language, FREQUENT)
    stop = frequent or frozenset()
    shortest = 3 if frequent is not None else 4
    eliding = language in _ELIDING
    lemmas = lemmatizer(language)

    def base(word: str) -> str:
        return lemmas.base(word) if lemmas else word

    def is_stop(word: str) -> bool:
        # wordfreq spells German's ß as "ss" ("grosse").
        return word in stop or ("ß" in word and word.replace("ß", "ss") in stop)

    def one(word: str) -> bool:
        return len(word) >= shortest and not word.endswith("'") and not is_stop(word)

    def is_content(word: str) -> bool:
        # "peut-être" and "est-ce" are function words in pieces; "arc-en-ciel" is not.
        if "-" in word:
            return not is_stop(word) and any(one(piece) for piece in word.split("-"))
        return one(word)

    def tokens(text: str) -> list[str | None]:
        """The text's words, lowercase, in order, with None where a clause ends."""
        found: list[str | None] = []
        # Composed letters: a combining accent is no letter to the word pattern.
        text = unicodedata.normalize("NFC", text).lower()
        for clause in _CLAUSE_END.split(text):
            said = _WORD.findall(clause)
            if not said:
                continue
            if "'" in clause or "’" in clause or "-" in clause:
                said = [w for raw in said for w in _one_word(raw)]
            found += said
            found.append(None)
        return found

    def _one_word(raw: str) -> list[str]:
        """A word with an apostrophe or a hyphen: a possessive, an elision, a compound."""
        word = raw.replace("’", "'").strip("'-")
        if language == "en" and word.endswith("'s"):
            word = word[:-2]  # "Seattle's" is Seattle
        if eliding and "'" in word and not is_stop(word):
            # "l'abeille" -> "l'", "abeille": the article stays as a word of its own
            # (never content), so no phrase runs across it. Only short words elide:
            # "aujourd'hui" and "presqu'île" are one word each.
            *elided, last = word.split("'")
            if all(len(piece) <= _LONGEST_ELIDED for piece in elided):
                return [piece + "'" for piece in elided if piece] + ([last] if last else [])
        return [word] if word else []

    def words(text: str) -> list[str]:
        return [w for w in tokens(text) if w is not None]

    return TitleWords(language, words, tokens, is_content, is_stop, base, JOINERS.get(language),
                      frozenset(LINKS.get(language, "").split()))
