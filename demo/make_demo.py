"""Write the bundled demo recordings into demo/inbox/.

The demo talks are spoken by speech synthesizers (espeak-ng and flite), so the
project ships no one's real voice.  Each file differs from the others in the
ways the pipeline has to cope with: container and codec, whether it carries a
year tag, and a folder and file name outside ASCII.  Three voices speak them:
two enrolled in the demo's speaker library, and one nobody enrolled, heard in
two talks, so a run leaves one group of talks to name.

Run from anywhere:  python demo/make_demo.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# tests/ is not an installed package; the repository root makes it importable.
sys.path.insert(0, str(ROOT))

from tests.support.speech import TALKS, make_talk, probe  # noqa: E402

INBOX = ROOT / "demo" / "inbox"
SPEAKERS = ROOT / "demo" / "speakers"
SIZE_LIMIT = 2 * 1024 * 1024  # the demo travels with the repository, so it stays small

# (file inside the inbox, talk, how many of its sentences, synthesizer, voice, year tag)
DEMO: list[tuple[str, str, int, str, str, int | None]] = [
    ("recording A.mp3", "bees", 11, "espeak-ng", "en-us", 2019),
    # 16 kHz wav costs 32 kB a second, so this one is kept to about 25 seconds.
    ("2021-10-03 recording B.wav", "sourdough", 5, "flite", "slt", None),
    ("Été 2024/soirée à la côte.m4a", "lighthouses", 9, "flite", "rms", 2024),
    # The voice of recording A again, on another subject: two talks of one voice nobody
    # enrolled, which the run groups as one voice waiting for a name (`talks voices`).
    ("recording C.ogg", "kayaking", 11, "espeak-ng", "en-us", 2022),
]


# The demo's speaker library: two of the three demo voices are enrolled, with clips of other
# sentences than their talks, so their talks are recognised by voice… and the espeak-ng voice
# is nobody the library knows, so its two talks go to Miscellaneous Speakers, grouped.
# (clip file in demo/speakers, talk the sentences come from, which sentences, voice)
SPEAKER_CLIPS: list[tuple[str, str, slice, str]] = [
    ("Sarah Lane.mp3", "forgiveness", slice(0, 3), "slt"),
    ("Sarah Lane_1.mp3", "kayaking", slice(0, 3), "slt"),
    ("Robert Moss.mp3", "forgiveness", slice(3, 6), "rms"),
    ("Robert Moss_1.mp3", "kayaking", slice(3, 6), "rms"),
    # A third clip each, so each person has over 30 s of speech: with less, `talks speakers
    # list` asks for more ("under 30 s: add more") on the first run.
    ("Sarah Lane_2.mp3", "forgiveness", slice(6, 9), "slt"),
    ("Robert Moss_2.mp3", "kayaking", slice(6, 9), "rms"),
]


def sentences(topic: str, count: int) -> list[str]:
    """A demo talk's sentences: the first `count` of the topic's, as flite should say them.
    tiny.en hears flite's "sourdough" as "Sardo" ("Sardobred" in a title, issue 33), and
    "sour dough" as it is said; the written words of TALKS stay as they are for the tests."""
    chosen = TALKS[topic][:count]
    if topic == "sourdough":
        chosen = [s.replace("Sourdough", "Sour dough").replace("sourdough", "sour dough")
                  for s in chosen]
    return chosen


def make_speakers() -> int:
    total = 0
    for name, topic, which, voice in SPEAKER_CLIPS:
        path = SPEAKERS / name
        make_talk(path, TALKS[topic][which], tool="flite", voice=voice, pause_s=0.5)
        total += path.stat().st_size
        print(f"{path.stat().st_size / 1024:8.1f} KiB  flite/{voice:<6} {path.relative_to(ROOT)}")
    return total


def main() -> int:
    total = 0
    if "--speakers-only" in sys.argv:
        make_speakers()
        return 0
    total += make_speakers()
    for name, topic, count, tool, voice, year in DEMO:
        path = INBOX / name
        make_talk(path, sentences(topic, count), tool=tool, voice=voice, year=year)
        info = probe(path)
        if info is None:
            print(f"ffprobe cannot read {path}", file=sys.stderr)
            return 1
        seconds = float(info["format"]["duration"])
        size = path.stat().st_size
        total += size
        # Ogg keeps its tags on the audio stream, the other containers on the file.
        tags = {**info["streams"][0].get("tags", {}), **info["format"].get("tags", {})}
        tag = tags.get("date", "none")
        print(f"{size / 1024:8.1f} KiB  {seconds:5.1f} s  date={tag:<5} {tool}/{voice:<6} "
              f"{path.relative_to(ROOT)}")
    print(f"{total / 1024:8.1f} KiB  total")
    if total > SIZE_LIMIT:
        print(f"the demo is over {SIZE_LIMIT // 1024} KiB; shorten a talk", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
