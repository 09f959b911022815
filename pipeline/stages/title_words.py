"""A title's words in the talk's own language: which words may name its subject, which
spoken forms are one word, and the word that joins the last two subjects.

English has its own hand-made rules (pipeline/stages/title.py). Any other language leaves
out its most frequent words (wordfreq's lists, pipeline/stages/frequent_words.py: the
function words, and a few very common nouns such as "temps" or "Zeit" that name no
subject), the words a speaker says about the talk itself ("conférence", "Vortrag"), and
elided articles ("l'", "dell'"); its plurals and endings are folded by a few plain rules
so that "abeilles" and "abeille" count as one word. A language wordfreq has no list for
keeps only words of four letters or more; one whose "and" is not in JOINERS joins its
subjects with commas.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

# How many of a language's most frequent words are left out. In English the 100 most
# frequent are all in title.py's hand-made list and the first words that could name a
# subject ("work", "year", "life", "love", "home") come between 100 and 150.
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

# What a speaker says about the talk rather than its subject (English's are in title.py).
TALK_WORDS = {
    "fr": "conférence exposé sermon discours soir matin bienvenue amis parler parlons "
          "aujourd'hui quelqu'un",
    "de": "vortrag vorträge predigt rede abend morgen willkommen freunde sprechen",
    "es": "charla conferencia sermón discurso noche mañana bienvenidos amigos hablar",
    "it": "conferenza discorso predica sera mattina benvenuti amici parlare parliamo",
    "pt": "palestra conferência sermão discurso noite manhã bem-vindos amigos falar",
    "nl": "lezing preek toespraak avond ochtend welkom vrienden praten spreken",
}

# Languages that elide a short word into the next with an apostrophe: "l'abeille",
# "dell'olio", "d'água". Dutch is not one ("auto's" is a plural).
_ELIDING = frozenset({"fr", "it", "ca", "pt"})
_LONGEST_ELIDED = 5  # "jusqu'", "quest'", "dell'"

# Endings of plurals and other forms, taken off longest first for as long as one is left,
# then (Romance languages) one final vowel: "abeilles" -> "abeille" -> "abeill",
# "api"/"ape" -> "ap", "Bienen"/"Biene" -> "bien". A key only counts forms as one word.
_ENDINGS = {
    "fr": ("s", "x"), "es": ("s",), "pt": ("s",), "it": (), "ca": ("s",), "ro": (),
    "de": ("en", "er", "e", "n", "s"), "nl": ("en", "s"),
}
_ROMANCE = frozenset({"fr", "es", "pt", "it", "ca", "ro", "gl"})
_VOWELS = "aeiouàèéìíòóùú"
# Endings stop at four letters: "bienen" and "biene" stay "bien", which a title still sees
# inside "bienenstock" (title.py's _near), where "bie" would be a word of its own.
_SHORTEST_STEM = 4
_SHORTEST_KEY = 3

# A word: letters, with apostrophes or hyphens inside ("aujourd'hui", "arc-en-ciel").
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-])*")


@dataclass(frozen=True)
class TitleWords:
    """How a title is made from one language's words."""

    words: Callable[[str], list[str]]  # the text's words, lowercase, in order
    is_content: Callable[[str], bool]  # may name the subject
    fold: Callable[[str], str]         # one key for the forms of a word
    joiner: str | None                 # "and" in the language; None: commas only

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


def rules_for(language: str) -> TitleWords:
    """The title rules of a language other than English."""
    from pipeline.stages.frequent_words import most_frequent

    frequent = most_frequent(language, FREQUENT)
    stop = frozenset(TALK_WORDS.get(language, "").split()) | (frequent or frozenset())
    shortest = 3 if frequent is not None else 4
    eliding = language in _ELIDING

    def is_stop(word: str) -> bool:
        # wordfreq spells German's ß as "ss" ("grosse").
        return word in stop or word.replace("ß", "ss") in stop

    def one(word: str) -> bool:
        return len(word) >= shortest and not word.endswith("'") and not is_stop(word)

    def is_content(word: str) -> bool:
        # "peut-être" and "est-ce" are function words in pieces; "arc-en-ciel" is not.
        if "-" in word:
            return not is_stop(word) and any(one(piece) for piece in word.split("-"))
        return one(word)

    def words(text: str) -> list[str]:
        found: list[str] = []
        # Composed letters: a combining accent is no letter to the word pattern.
        for raw in _WORD.findall(unicodedata.normalize("NFC", text)):
            word = raw.lower().replace("’", "'").strip("'-")
            if eliding and "'" in word and not is_stop(word):
                # "l'abeille" -> "l'", "abeille": the article stays as a word of its own
                # (never content), so no phrase runs across it. Only short words elide:
                # "aujourd'hui" and "presqu'île" are one word each.
                *elided, last = word.split("'")
                if all(len(piece) <= _LONGEST_ELIDED for piece in elided):
                    found += [piece + "'" for piece in elided if piece]
                    word = last
            if word:
                found.append(word)
        return found

    endings = sorted(_ENDINGS.get(language, ()), key=len, reverse=True)
    romance = language in _ROMANCE

    def fold(word: str) -> str:
        word = word.removesuffix("'s")
        # Ending after ending, until none is left: a plural and its singular reach the same
        # key even when the singular itself ends like a plural ("molens", "molen" -> "mol").
        stripped = True
        while stripped:
            stripped = False
            for ending in endings:
                if word.endswith(ending) and len(word) - len(ending) >= _SHORTEST_STEM:
                    word = word[:-len(ending)]
                    stripped = True
                    break
        if romance and len(word) > _SHORTEST_KEY and word[-1] in _VOWELS:
            word = word[:-1]
        return word

    return TitleWords(words, is_content, fold, JOINERS.get(language))
