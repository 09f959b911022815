"""Short talks in other languages, for espeak-ng's voices of them (tests/support/speech.py
speaks them): short talks in French, German and Spanish that base names and transcribes in
their language.

Each entry: the espeak-ng voice, the sentences, and a few of their content words a
transcript in that language should hold."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SpokenTalk:
    voice: str
    sentences: tuple[str, ...]
    words: tuple[str, ...]  # content words the talk's transcript should have


ELSEWHERE: dict[str, SpokenTalk] = {
    # Not the bees for French: base takes espeak-ng's French of them for Thai as often as
    # not, and names this one French at 0.8-0.95 however it is cut.
    "fr": SpokenTalk("fr-fr", (
        "Parlons maintenant du pain au levain que l'on fait à la maison.",
        "Le levain est un mélange de farine et d'eau qui vit dans un bocal.",
        "Il faut le nourrir chaque matin avec un peu de farine fraîche.",
    ), ("pain", "levain", "maison", "farine", "mélange", "matin", "nourrir")),
    "de": SpokenTalk("de", (
        "Heute sprechen wir über Bienen, Honig und die Blumen im Garten.",
        "Die Bienen leben zusammen in einem Stock mit einer einzigen Königin.",
        "Die Arbeiterinnen fliegen von Blume zu Blume und sammeln Nektar.",
    ), ("bienen", "honig", "blumen", "königin", "garten", "stock", "einzigen", "fliegen")),
    "es": SpokenTalk("es", (
        "Hoy vamos a hablar de las abejas, de la miel y de las flores.",
        "Las abejas viven juntas en una colmena con una sola reina.",
        "Las obreras vuelan de flor en flor para recoger el néctar y el polen.",
    ), ("abejas", "miel", "flores", "colmena", "reina", "viven", "polen", "néctar")),
}
