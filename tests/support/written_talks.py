"""Talks written as text only (never spoken), of lengths the spoken scripts of
tests/support/speech.py do not reach: a one-paragraph talk, a two-paragraph one and a
ten-minute lecture. The title tests and `make bench-titles` (benchmarks/titles.py) read them
beside the spoken scripts and the real meeting transcripts; their reference titles are in
benchmarks/title_references.toml.
"""

from __future__ import annotations

WRITTEN_TALKS: dict[str, str] = {
    # A ten-minute lecture in miniature: many subjects of one history, as issue 33 tried it.
    "bridges": (
        "Good evening everyone, and thank you for coming out on such a cold night. Tonight I "
        "want to take you through the history of bridges, from a log over a stream to the "
        "great suspension bridges of our own time. The first bridges were simple: a fallen tree "
        "across a creek, or flat stones laid from one bank to the other. People soon learned "
        "that a bridge is a problem of weight. Every bridge must carry its own weight and the "
        "weight of everything that crosses it, and send that weight down into the ground. The "
        "Romans solved the problem with the stone arch. An arch turns the weight above it into "
        "a push along its curve, so each stone presses on the next, and the whole arch stands "
        "without any mortar at all. Roman arch bridges and aqueducts still stand in Spain, in "
        "France and in Italy, two thousand years later. For many centuries, the arch was the "
        "only way to build a long bridge. Then came iron. The first iron bridge was cast in "
        "England, and its builders still copied the shape of a stone arch, because nobody "
        "trusted iron to do anything else. Iron and later steel changed what a bridge could "
        "be. A steel truss, a frame of triangles, could span a wide river and carry a heavy "
        "railway train. Engineers built truss bridges by the thousand as the railways spread. "
        "The boldest idea was to hang the road from cables. In a suspension bridge, two tall "
        "towers hold the main cables, the cables hang in a long curve between them, and "
        "hundreds of thin cables carry the deck. A suspension bridge can cross a bay or a "
        "strait that no arch could span. But suspension bridges taught engineers a hard "
        "lesson: wind. One famous suspension bridge twisted in a steady wind until its deck "
        "tore apart, only months after it opened. Since then, every suspension bridge is "
        "tested in a wind tunnel before it is built. Today we also build cable stayed bridges, "
        "where straight cables run from the towers to the deck. From the stone arch to the "
        "steel cable, the history of bridges is the history of people learning how to carry "
        "weight across empty space. Thank you."
    ),
    # One paragraph about a book club (the old titles said "Book").
    "book_club": (
        "Welcome to our book club. This month we read a novel about a family that runs a small "
        "bookshop by the sea. Several of you told me the novel was slow at first, but that the "
        "last chapters made up for it. The bookshop itself is almost a character in the story. "
        "Next month we will read a book of short stories, so it will be easier to catch up. "
        "Please bring your copy of the novel, and your questions, to our next meeting."
    ),
    # One paragraph about learning a language as an adult (the old titles said "Learning").
    "language_learning": (
        "Learning a second language as an adult is slow, but it is never too late. Children "
        "learn a language by listening for years before they speak. Adults can learn faster "
        "if they practise a little every day. Read short stories, listen to the radio, and "
        "speak with a neighbour who knows the language, even if you make mistakes. Grammar "
        "matters less than courage. A second language opens doors to new friends and new "
        "ways of seeing the world."
    ),
    # Two paragraphs on a garden subject: a phrase ("compost heap") names it better than words.
    "compost": (
        "Today I want to explain how to build a compost heap in a small garden. A compost heap "
        "turns kitchen scraps and garden waste into dark, rich soil. You need green material, "
        "such as grass cuttings and vegetable peelings, and brown material, such as dry leaves, "
        "straw and torn cardboard. Layer the green and the brown material, and keep the heap "
        "as damp as a wrung out sponge. "
        "Turn the compost heap with a fork every few weeks, so that air reaches the middle. "
        "Worms and tiny creatures will do the rest. In summer a compost heap can be ready in "
        "three months; in winter it takes longer. Never add meat, fish or dairy to a compost "
        "heap, because they smell and bring rats. When the compost is dark and crumbly and "
        "smells like a forest floor, spread it on your beds, and your vegetables will thank "
        "you for it."
    ),
    # A sermon-like talk: its subject is an idea, not a thing.
    "gratitude": (
        "Good morning, friends. This morning I would like to reflect with you on gratitude. "
        "Gratitude is more than saying thank you. It is a way of seeing: noticing the good "
        "that is already in our lives, the people who carry us, the simple gifts of bread "
        "and water and a roof over our heads. When we practise gratitude, we worry less "
        "about what we lack. Gratitude turns what we have into enough. It is easy to be "
        "grateful when life goes well. The harder gratitude is the one we find in difficult "
        "seasons, when we are grieving or afraid. Even then, there is often a friend who "
        "calls, a stranger who helps, a quiet morning. This week, I invite you to keep a "
        "small gratitude journal. Each evening, write down three things you are grateful "
        "for. At the end of the week, read what you wrote. You may be surprised by how much "
        "grace was there all along. May gratitude fill your homes and your hearts."
    ),
}
