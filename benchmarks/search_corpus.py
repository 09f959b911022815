"""The archive `make bench-search` searches: 1,000 one-hour talks made of real transcripts.

No archive of a thousand hours of transcripts ships with the repository, so one is built from
the sentences the tests already have: the council meetings of tests/real_transcripts/ (real
speech, transcribed by Whisper) and the scripts the espeak benchmark talks and the demo speak
(tests/support/speech.py: TALKS; benchmarks/work/recordings/*.txt are those sentences too).

Each talk is a seeded shuffle of that pool, cut into cues as Whisper gives them: a sentence
of up to 25 words is one cue (two short ones may share one), a longer one is cut into pieces
of 8–20 words; a cue lasts its words at 2.2–2.8 words a second, cues are 0.05–0.6 s apart and
a sentence is now and then followed by a pause of 2–5 s (a new paragraph in the .txt), until
the talk reaches an hour. Speakers (30 names, some far more often than others), years
(1995–2026) and titles vary.

The pool is small (225 sentences, 1,207 distinct words), so every sentence is said about
twice in every talk, where a real archive's words are mostly rare. So that the archive still
has rare words, RARE_SENTENCES sentences that hold a word no other sentence has are kept out
of the shuffle and said in RARE_TALKS talks each.

A talk is made again from its number alone (`Corpus.talk`), so nothing holds the whole
archive in memory.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from functools import cached_property

from benchmarks.paths import ROOT
from pipeline.search.passages import Cue
from tests.support.speech import TALKS

REAL_TRANSCRIPTS = ROOT / "tests" / "real_transcripts"
SEED = 31  # the number
TALKS_N = 1000
TALK_S = 3600.0
RARE_SENTENCES = 20
RARE_TALKS = 3
YEARS = (1995, 2026)
# Thirty names; the first ones speak far more often (a weight of 1/rank), as in an archive
# where a few people give most of the talks.
SPEAKERS = (
    "Ruth Abernathy", "Daniel Okafor", "Mei Lin Zhou", "Tomás Herrera", "Grace Whitfield",
    "Samuel Adeyemi", "Ingrid Solberg", "Patrick O'Donnell", "Amara Nwosu", "Hélène Garnier",
    "Jonah Feldman", "Priya Raman", "Walter Brandt", "Lucia Moretti", "Kwame Mensah",
    "Sofia Lindqvist", "Arjun Mehta", "Beatrice Hale", "Yusuf Karim", "Clara Novak",
    "Edmund Price", "Nadia Petrova", "Oscar Villanueva", "Hannah Goldberg", "Rafael Souza",
    "Eleanor Voss", "Kenji Watanabe", "Miriam Cohen", "Bruno Schäfer", "Ada Kowalczyk",
)
# How the corpus is made: a change here makes the cached archive again.
RECIPE = {"seed": SEED, "talks": TALKS_N, "talk_s": TALK_S, "rare": RARE_SENTENCES,
          "rare_talks": RARE_TALKS, "years": YEARS, "speakers": SPEAKERS,
          "cues": "v1: ≤25-word sentence = 1 cue (short ones joined to ≤14), longer cut 8–20; "
                  "2.2–2.8 words/s; gaps 0.05–0.6 s, 6 % of sentence ends 2–5 s"}

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def words_of(text: str) -> list[str]:
    """The words of a text, lower case, without their punctuation (for choosing words)."""
    return [w.lower() for w in _WORD.findall(text)]


def sentence_pool() -> list[str]:
    """Every distinct sentence of the real transcripts and the spoken scripts, in order."""
    sentences: list[str] = []
    for path in sorted(REAL_TRANSCRIPTS.glob("*.txt")):
        text = " ".join(path.read_text(encoding="utf-8").split())
        sentences += [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    sentences += [s for talk in TALKS.values() for s in talk]
    seen: set[str] = set()
    return [s for s in sentences if not (s in seen or seen.add(s))]


@dataclass(frozen=True)
class Talk:
    number: int  # 0 … TALKS_N - 1 in the archive; TALKS_N and on: talks filed later
    speaker: str
    year: int
    title: str
    cues: tuple[Cue, ...]

    @property
    def words(self) -> int:
        return sum(len(c.text.split()) for c in self.cues)


def _pieces(sentence: str, rng: random.Random) -> list[list[str]]:
    words = sentence.split()
    if len(words) <= 25:
        return [words]
    pieces, at = [], 0
    while at < len(words):
        size = rng.randint(8, 20)
        if len(words) - at - size < 5:  # no stub of a few words at the end
            size = len(words) - at
        pieces.append(words[at:at + size])
        at += size
    return pieces


def make_cues(sentences: list[str], rng: random.Random, seconds: float) -> list[Cue]:
    """Cues with times from a stream of sentences, until `seconds` are said (the stream is
    taken as long as needed: it must be long enough)."""
    cues: list[Cue] = []
    t = rng.uniform(0.5, 3.0)
    pending: list[str] = []
    for sentence in sentences:
        pieces = _pieces(sentence, rng)
        for i, piece in enumerate(pieces):
            last_piece = i == len(pieces) - 1
            if last_piece and len(pieces) == 1 and len(pending) + len(piece) <= 14 \
                    and rng.random() < 0.5:
                pending += piece  # a short sentence said with the next in one cue
                continue
            if pending and len(pending) + len(piece) > 25:  # what waits is a cue alone
                said = len(pending) / rng.uniform(2.2, 2.8)
                cues.append(Cue(round(t, 2), round(t + said, 2), " ".join(pending)))
                t += said + rng.uniform(0.05, 0.6)
                pending = []
            words = pending + piece
            pending = []
            said = len(words) / rng.uniform(2.2, 2.8)
            cues.append(Cue(round(t, 2), round(t + said, 2), " ".join(words)))
            t += said
            pause = rng.uniform(2.0, 5.0) if last_piece and rng.random() < 0.06 else \
                rng.uniform(0.05, 0.6)
            t += pause
            if t >= seconds:
                return cues
    if pending:
        said = len(pending) / 2.5
        cues.append(Cue(round(t, 2), round(t + said, 2), " ".join(pending)))
    return cues


class Corpus:
    def __init__(self, talks: int = TALKS_N, seed: int = SEED):
        self.talks = talks
        self.seed = seed
        pool = sentence_pool()
        rng = random.Random(f"{seed}-rare")
        owners: dict[str, set[int]] = {}
        for n, s in enumerate(pool):
            for w in set(words_of(s)):
                owners.setdefault(w, set()).add(n)
        # Sentences holding a word of at least 6 letters that no other sentence has.
        own = sorted(n for n, s in enumerate(pool)
                     if any(len(w) >= 6 and w.isalpha() and owners[w] == {n}
                            for w in words_of(s)))
        rare = set(rng.sample(own, RARE_SENTENCES))
        self.pool = [s for n, s in enumerate(pool) if n not in rare]
        self.rare = [pool[n] for n in sorted(rare)]
        self.rare_in: dict[int, list[str]] = {}
        for sentence in self.rare:
            for number in rng.sample(range(talks), RARE_TALKS):
                self.rare_in.setdefault(number, []).append(sentence)
        weights = [1 / (rank + 1) for rank in range(len(SPEAKERS))]
        self._speaker_weights = weights
        self._title_words = sorted({w for s in pool for w in words_of(s)
                                    if len(w) >= 7 and w.isalpha()})

    @cached_property
    def digest(self) -> str:
        body = json.dumps({"recipe": RECIPE, "talks": self.talks, "seed": self.seed,
                           "pool": self.pool, "rare": self.rare}, ensure_ascii=False)
        return hashlib.sha256(body.encode()).hexdigest()[:12]

    def rare_words(self) -> list[str]:
        """Words only the rare sentences say: each is said in RARE_TALKS talks at most."""
        common = {w for s in self.pool for w in words_of(s)}
        return sorted({w for s in self.rare for w in words_of(s)
                       if w not in common and len(w) >= 6 and w.isalpha()})

    def talk(self, number: int, seconds: float = TALK_S) -> Talk:
        rng = random.Random(f"{self.seed}-talk-{number}")
        speaker = rng.choices(SPEAKERS, weights=self._speaker_weights)[0]
        year = rng.randint(*YEARS)
        a, b = rng.sample(self._title_words, 2)
        title = f"{a.capitalize()} and {b}"
        stream: list[str] = []
        while len(stream) < 1.5 * seconds / 6:  # far more than an hour's sentences
            order = self.pool[:]
            rng.shuffle(order)
            stream += order
        for sentence in self.rare_in.get(number, []):
            stream.insert(rng.randrange(int(seconds / 8)), sentence)  # inside the hour
        return Talk(number, speaker, year, title, tuple(make_cues(stream, rng, seconds)))


def word_times(cue: Cue) -> list[float]:
    """The benchmark's ground truth of when each word of a cue is said: the cue's words
    placed evenly over its length (word i of n starts at start + i·(end − start)/n)."""
    words = cue.text.split()
    step = (cue.end - cue.start) / max(len(words), 1)
    return [cue.start + i * step for i in range(len(words))]


def sources() -> dict[str, object]:
    pool = sentence_pool()
    real = sum(1 for p in REAL_TRANSCRIPTS.glob("*.txt"))
    return {"real_transcripts": f"{real} council meetings ({REAL_TRANSCRIPTS.relative_to(ROOT)})",
            "scripts": f"{sum(len(v) for v in TALKS.values())} sentences of the espeak talks "
                       "and the demo (tests/support/speech.py: TALKS)",
            "sentences": len(pool),
            "distinct_words": len({w for s in pool for w in words_of(s)})}
