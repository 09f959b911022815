"""How common words are in a language, from the word lists the `wordfreq` package ships.

A language's few hundred most frequent words are its function words (articles, pronouns,
prepositions, the commonest verbs): what a keyword title must leave out (`most_frequent`);
every other word of a talk is weighed by how common it is (`frequencies`, for the talk's own
words only). wordfreq's wheel
holds a list for each of about forty languages; its data is read here straight from the
package's files, in their documented "cBpack" form (wordfreq's `read_cBpack`: a gzipped
msgpack list, a header, then one list of words per centibel of frequency, most frequent
first), and only as far as the words wanted: importing wordfreq itself brings ftfy,
langcodes and regex, ~15 MB in the run's process and 0.1 s; reading a list this way
raises the process's peak by ~1 MB and takes ~6 ms (measured here; a test holds it).

Language codes are Whisper's; the few that differ from wordfreq's are mapped. A language
without a list gives None, never another language's list: wordfreq's own lookup falls back
to its nearest match (English for Welsh or Swahili), which would keep a title's foreign
function words out no better than nothing and drop real words.
"""

from __future__ import annotations

import gzip
import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from common.errors import Fault
from common.supported import require

require("wordfreq")

# Whisper's code -> wordfreq's, where they differ.
_WORDFREQ_CODE = {
    "no": "nb", "nn": "nb",            # Norwegian: wordfreq has Bokmål
    "hr": "sh", "sr": "sh", "bs": "sh",  # Serbo-Croatian is one list there
    "tl": "fil",                       # Tagalog as Filipino
}
_HEADER = {"format": "cB", "version": 1}


class WordListMissing(Fault):
    """wordfreq, a dependency of talks, is not installed where the program runs."""


def _data_folder() -> Path:
    # find_spec locates the package without running its __init__ (and its imports).
    spec = importlib.util.find_spec("wordfreq")
    if spec is None or not spec.submodule_search_locations:
        raise WordListMissing("The wordfreq package is not installed, and titles in languages "
                              "other than English need its word lists: run `pip install -e .` "
                              "in talks' folder (or `make run`).")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def list_file(language: str) -> Path | None:
    """wordfreq's list for a Whisper language code, or None when it has none."""
    code = _WORDFREQ_CODE.get(language, language)
    path = _data_folder() / f"small_{code}.msgpack.gz"
    return path if path.is_file() else None


@lru_cache(maxsize=8)
def most_frequent(language: str, count: int) -> frozenset[str] | None:
    """At least `count` of the language's most frequent words (whole bands of equal
    frequency, so the cut never falls among equals by spelling), lowercase; None when
    wordfreq has no list for the language."""
    path = list_file(language)
    if path is None:
        return None
    words: set[str] = set()
    for _index, band in _bands(path):
        if len(words) >= count:
            break
        # Numbers are in the lists as digit patterns ("00"): never a title's word anyway.
        words.update(w for w in band if not any(c.isdigit() for c in w))
    return frozenset(words)


def _bands(path: Path):
    """The list's bands, most frequent first: (index, words), where a word of band i is used
    10**(-i/100) of the time (wordfreq's centibels)."""
    import msgpack  # a dependency of wordfreq; only here, where a list is read

    with gzip.open(path, "rb") as raw:
        unpacker = msgpack.Unpacker(raw, raw=False)
        length = unpacker.read_array_header()
        header = unpacker.unpack() if length else None
        if header != _HEADER:
            raise WordListMissing(f"{path.name} of wordfreq is not in the form talks reads "
                                  f"({header!r}): reinstall talks' dependencies with "
                                  "`pip install -e .`.")
        for index in range(length - 1):
            yield index, unpacker.unpack()


@dataclass(frozen=True)
class Frequencies:
    """How often a talk's words are used in the language in general, on wordfreq's Zipf
    scale (log10 of uses per billion words: "the" 7.7, "bridge" 4.8, "sourdough" 2.8)."""

    zipf: dict[str, float]  # the words of the talk the list has
    floor: float            # below the list's rarest words: what a word it lacks is worth

    def of(self, word: str) -> float:
        return self.zipf.get(word, self.floor)


def frequencies(language: str, words: set[str], large: bool = False) -> Frequencies | None:
    """The Zipf frequencies of `words` (lowercase) in the language, from its small list (the
    words used at least once in a million, read in ~6 ms) or its large one (down to once in a
    billion, ~45 ms for English); only the talk's own words are kept, so a list costs about
    a megabyte while it is read. None when wordfreq has no list for the language."""
    path = list_file(language)
    if large and path is not None:
        bigger = path.with_name(path.name.replace("small_", "large_"))
        path = bigger if bigger.is_file() else path
    if path is None:
        return None
    # wordfreq spells German's ß as "ss" ("grosse").
    spelled = {w.replace("ß", "ss"): w for w in words if "ß" in w}
    wanted = set(words) | set(spelled)
    found: dict[str, float] = {}
    last = 0
    for index, band in _bands(path):
        last = index
        for word in wanted.intersection(band):
            zipf = 9 - index / 100
            found[word] = zipf
            if word in spelled:
                found[spelled[word]] = zipf
    return Frequencies(found, 9 - (last + 1) / 100)
