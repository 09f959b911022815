"""What the kept libraries know of a talk's words, in its language: each word's base form
(simplemma: "bees" -> "bee", "abeilles" -> "abeille", "Bienen" -> "biene"), how common it is
in the language in general (wordfreq's lists, pipeline/stages/frequent_words.py), and whether
it is a word of the language at all.

A word neither library knows is most likely one the speech model misheard ("Sardobred" for
"sourdough bread"); said only once or twice it never names a talk's subject. wordfreq's
small list and simplemma's dictionary are asked first; its large list (every word used once
in a billion, ~45 ms to read for English) only for the few doubtful words a title would use.

simplemma is read in its low-memory form (its front-coded dictionary, searched in place):
English costs ~2.5 MB and ~0.1 s once per process, German ~16 MB and ~0.6 s, against 20 MB
and 106 MB as Python dictionaries. Its data stays loaded for the next talk of the language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from pipeline.stages.frequent_words import Frequencies, frequencies

# Whisper's code -> simplemma's, where they differ.
_SIMPLEMMA_CODE = {"no": "nb", "hr": "hbs", "sr": "hbs", "bs": "hbs"}


class Lemmas:
    """simplemma's base forms and dictionary for one language (its data loaded on first use
    and kept by simplemma for the next talk)."""

    def __init__(self, code: str) -> None:
        self.code = code
        self._bases: dict[str, str] = {}

    def base(self, word: str) -> str:
        found = self._bases.get(word)
        if found is None:
            import simplemma

            found = simplemma.lemmatize(word, self.code, low_memory=True).lower()
            if len(self._bases) < _MEMO:
                self._bases[word] = found
        return found

    def known(self, word: str) -> bool:
        import simplemma

        return simplemma.is_known(word, self.code, low_memory=True)


# Base forms remembered per language: a long talk has a few thousand distinct words.
_MEMO = 20_000


@lru_cache(maxsize=8)
def lemmatizer(language: str) -> Lemmas | None:
    """simplemma for the language (Whisper's code), or None when it has no data for it."""
    import simplemma

    code = _SIMPLEMMA_CODE.get(language, language)
    try:
        simplemma.is_known("a", code, low_memory=True)
    except ValueError:  # "Unsupported language"
        return None
    return Lemmas(code)


@dataclass
class WordKnowledge:
    """The libraries' knowledge of one talk's distinct words (lowercase)."""

    language: str
    words: set[str]
    _frequencies: Frequencies | None = field(init=False, repr=False)
    _lemmas: Lemmas | None = field(init=False, repr=False)
    _large: Frequencies | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._frequencies = frequencies(self.language, self.words)
        self._lemmas = lemmatizer(self.language)

    @property
    def has_frequencies(self) -> bool:
        return self._frequencies is not None

    def zipf(self, word: str) -> float:
        """How common the word is in the language (Zipf scale); 3.0, a rare word's, when
        wordfreq has no list for it."""
        if self._frequencies is None:
            return 3.0
        return self._frequencies.of(word)

    def listed(self, word: str) -> bool:
        """A word of wordfreq's small list or simplemma's dictionary: a known word."""
        if self._frequencies is not None and word in self._frequencies.zipf:
            return True
        return bool(self._lemmas and self._lemmas.known(word))

    def known(self, word: str) -> bool:
        """A word of the language: listed, or in wordfreq's large list (read once, for
        the talk's words, the first time a word is in doubt)."""
        if self.listed(word):
            return True
        if self._frequencies is None and self._lemmas is None:
            return True  # nothing to judge it by: every word is given the benefit
        if self._large is None:
            self._large = frequencies(self.language, self.words, large=True) \
                or Frequencies({}, 0.0)
        return word in self._large.zipf
