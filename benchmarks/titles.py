"""Titles a person would write: `make bench-titles` (issue 33).

`python -m benchmarks.titles [--hear-demo] [--llm-url URL --llm-model NAME [--llm-key-env VAR]]
[--out benchmarks/title_results]`

1. **The talks**: every talk of benchmarks/title_references.toml, each with the title a person
   would give it, written down before the title maker was tuned: the spoken scripts of
   tests/support/speech.py in seven languages, the five real council meetings of
   tests/real_transcripts/, the written talks of tests/support/written_talks.py (one paragraph
   to a ten-minute lecture) and the bundled demo's four talks as demo/make_demo.py writes
   them. With --hear-demo, the demo's recordings are also transcribed by tiny.en (as `make
   run` hears them, one pass over each file) and those transcripts titled too.
2. **The methods**: the new keyword title (pipeline/stages/title.py) and the old one, as it
   was before issue 33 (commit BASELINE, read from git history into this process), on the
   same texts; the `llm` method too when a server is given (--llm-url, any OpenAI-compatible
   endpoint; none here).
3. **The scores**, per method: the subject words of the reference recalled (its words less
   the language's function words, compared by base form: "Kayaking" and "Kayak" are one) —
   the share of talks whose title recalls one at least, and the mean share recalled; the
   length in words; non-words (a title word neither wordfreq, even its large list, nor
   simplemma knows); repeats (two words of one title with one base form, or one inside the
   other: "Light" and "Lighthouse"); single-word titles, of talks over 150 words and of all.
   Targets: recall ≥ 80 % of talks, 0 non-words, 0 repeats, no single-word title over 150
   words, 2–7 words.
4. **Time and memory** for a 2-hour transcript (English: the real meetings and the written
   talks repeated to 18,000
   words, about two hours at 150 words a minute; German: its spoken scripts repeated), in a
   fresh process: the first title (the libraries' data for the language read: simplemma's
   dictionary, wordfreq's list) and the next one (the data loaded, none of the talk's words
   looked up yet), and the process's peak resident memory above what it held before.
   Targets: ≤ 50 ms, ≤ 30 MB more.

Results: printed, and written to benchmarks/title_results.md (+ .json). A few seconds
without --hear-demo.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tomllib
import types
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.machine import describe, load_average
from benchmarks.paths import BENCH_DIR, ROOT
from pipeline.stages.frequent_words import most_frequent
from pipeline.stages.title import keyword_title, title_words
from pipeline.stages.title_words import FREQUENT
from pipeline.stages.word_knowledge import WordKnowledge
from tests.support.speech import TALKS_IN
from tests.support.written_talks import WRITTEN_TALKS

REFERENCES = BENCH_DIR / "title_references.toml"
OUT = BENCH_DIR / "title_results"
REAL = ROOT / "tests" / "real_transcripts"
# The last commit before issue 33's title maker: its pipeline/stages/title.py and
# title_words.py are "old", the titles a user saw until then.
BASELINE = "7292ee0"
MAX_WORDS = 6  # [titles] max_title_words' default
LONG_TALK = 150  # words: over this, a title of one word says too little
TWO_HOURS_WORDS = 18_000
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-])*")


@dataclass
class Talk:
    source: str
    language: str
    reference: str
    text: str

    @property
    def words(self) -> int:
        return len(self.text.split())


@dataclass
class Scored:
    source: str
    language: str
    words: int
    reference: str
    title: str
    length: int
    recalled: list[str]
    subject: list[str]
    non_words: list[str]
    repeats: list[str]

    @property
    def recalls(self) -> bool:
        return bool(self.recalled)


def _demo() -> types.ModuleType:
    sys.path.insert(0, str(ROOT))
    import demo.make_demo

    return demo.make_demo


def _demo_table() -> list[tuple]:
    return _demo().DEMO


def load_talks(heard: dict[str, str] | None = None) -> list[Talk]:
    """The talks of the references file, with their texts (and the demo as tiny.en heard
    it, when `heard` holds its transcripts)."""
    entries = tomllib.loads(REFERENCES.read_text(encoding="utf-8"))["talk"]
    demo = {name: (topic, count) for name, topic, count, *_ in _demo_table()}
    talks = []
    for entry in entries:
        kind, _, rest = entry["source"].partition(":")
        if kind == "speech":
            language, topic = rest.split(":")
            talks.append(Talk(entry["source"], language, entry["reference"],
                              " ".join(TALKS_IN[language][topic])))
        elif kind == "real":
            text = (REAL / f"{rest}.txt").read_text(encoding="utf-8")
            talks.append(Talk(entry["source"], "en", entry["reference"], text))
        elif kind == "written":
            talks.append(Talk(entry["source"], "en", entry["reference"], WRITTEN_TALKS[rest]))
        elif kind == "demo":
            topic, count = demo[rest]
            talks.append(Talk(entry["source"], "en", entry["reference"],
                              " ".join(_demo().sentences(topic, count))))
            if heard is not None and rest in heard:
                talks.append(Talk(f"demo-heard:{rest}", "en", entry["reference"], heard[rest]))
        else:
            raise SystemExit(f"{REFERENCES.name}: unknown source {entry['source']!r}")
    return talks


# --- the old title maker, from git history ---------------------------------------------------

def old_title_maker() -> Callable[[str, int, str | None], str]:
    """keyword_title as it was at BASELINE: its two modules read with `git show` and run as
    modules of their own (the old title.py imports the old title_words.py)."""
    def source(path: str) -> str:
        return subprocess.run(["git", "show", f"{BASELINE}:{path}"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout

    def module(name: str, text: str) -> types.ModuleType:
        made = types.ModuleType(name)
        sys.modules[name] = made  # dataclasses look their module up while it runs
        exec(compile(text, name, "exec"), made.__dict__)
        return made

    module("old_title_words", source("pipeline/stages/title_words.py"))
    title = module("old_title", source("pipeline/stages/title.py").replace(
        "from pipeline.stages.title_words import", "from old_title_words import"))
    return title.keyword_title


def llm_title_maker(url: str, model: str, key_env: str) -> Callable[[str, int, str | None], str]:
    from pipeline.config.settings import TitlesConfig
    from pipeline.stages.title import make_title

    config = TitlesConfig(method="llm", base_url=url, model=model, api_key_env=key_env,
                          max_title_words=MAX_WORDS)

    def titled(text: str, max_words: int, language: str | None) -> str:
        made = make_title(text, config, language)
        return made.title if made.method == "llm" else f"(fell back) {made.title}"

    return titled


# --- scoring ----------------------------------------------------------------------------------

def subject_bases(text: str, language: str) -> list[str]:
    """The base forms of a text's words less the language's function words."""
    rules = title_words(language)
    function = most_frequent(language, FREQUENT) or frozenset()
    bases = []
    for w in rules.words(text):
        if w.endswith("'") or w in function or len(w) < 3:
            continue
        b = rules.base(w)
        if b not in function and b not in bases:
            bases.append(b)
    return bases


def score(talk: Talk, title: str) -> Scored:
    rules = title_words(talk.language)
    said = [w for w in rules.words(title.removeprefix("(fell back) "))
            if not w.endswith("'")]
    content = [w for w in said if w != rules.joiner and rules.is_content(w)]
    bases = [rules.base(w) for w in content]
    subject = subject_bases(talk.reference, talk.language)
    recalled = [b for b in subject if b in bases]
    knowledge = WordKnowledge(talk.language, set(said))
    non_words = [w for w in content
                 if not all(knowledge.known(p) for p in w.split("-") if p)]
    repeats = [f"{a}/{b}" for i, a in enumerate(bases) for b in bases[i + 1:]
               if a == b or (min(len(a), len(b)) >= 4 and (a in b or b in a))]
    length = len([w for w in _WORD.findall(title)])
    return Scored(talk.source, talk.language, talk.words, talk.reference, title, length,
                  recalled, subject, non_words, repeats)


def summary(rows: Sequence[Scored]) -> dict:
    n = len(rows)
    long = [r for r in rows if r.words > LONG_TALK]
    return {
        "talks": n,
        "recall_talks_pct": round(100 * sum(r.recalls for r in rows) / n, 1),
        "recall_words_pct": round(100 * sum(len(r.recalled) / max(1, len(r.subject))
                                            for r in rows) / n, 1),
        "length_min": min(r.length for r in rows),
        "length_mean": round(sum(r.length for r in rows) / n, 2),
        "length_max": max(r.length for r in rows),
        "non_words": sum(len(r.non_words) for r in rows),
        "repeats": sum(len(r.repeats) for r in rows),
        "single_word_over_150": sum(r.length == 1 for r in long),
        "talks_over_150": len(long),
        "single_word_all": sum(r.length == 1 for r in rows),
    }


# --- time and memory --------------------------------------------------------------------------

_PROBE = """
import json, sys, time
from pipeline.stages.title import keyword_title
from pipeline.stages.word_knowledge import lemmatizer

def status(field):
    # VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's size when forked.
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024

text = sys.stdin.read()
language = sys.argv[1]
def timed():
    wall, cpu = time.perf_counter(), time.process_time()
    title = keyword_title(text, 6, language)
    return title, (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000

before = status("VmRSS")
first, cold, cold_cpu = timed()
# The next talk: the libraries' data loaded, but none of this talk's words looked up yet.
lemmatizer.cache_clear()
again, warm, warm_cpu = timed()
peak = status("VmHWM")
print(json.dumps({"title": first, "same": first == again, "cold_ms": cold,
                  "cold_cpu_ms": cold_cpu, "warm_ms": warm, "warm_cpu_ms": warm_cpu,
                  "extra_mb": (peak - before) / 1e6, "words": len(text.split())}))
"""


def two_hour_text(language: str) -> str:
    """English: the real meetings, then the written talks, again and again; another
    language: its spoken scripts, again and again."""
    if language == "en":
        pieces = [p.read_text(encoding="utf-8") for p in sorted(REAL.glob("*.txt"))]
        pieces += list(WRITTEN_TALKS.values())
    else:
        pieces = [" ".join(sentences) for sentences in TALKS_IN[language].values()]
    parts: list[str] = []
    while sum(len(p.split()) for p in parts) < TWO_HOURS_WORDS:
        parts.extend(pieces)
    return "\n".join(parts)


def measure_long(language: str, text: str, rounds: int = 3) -> dict:
    """The best of `rounds` fresh processes (the machine is shared: the least disturbed)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = []
    for _ in range(rounds):
        done = subprocess.run([sys.executable, "-c", _PROBE, language], input=text,
                              capture_output=True, text=True, env=env, check=True)
        runs.append(json.loads(done.stdout))
    best = dict(runs[0])
    for key in ("cold_ms", "cold_cpu_ms", "warm_ms", "warm_cpu_ms"):
        best[key] = min(r[key] for r in runs)
    best["extra_mb"] = max(r["extra_mb"] for r in runs)
    best["same"] = all(r["same"] and r["title"] == runs[0]["title"] for r in runs)
    return best


# --- the demo as tiny.en hears it -------------------------------------------------------------

def hear_demo() -> dict[str, str]:
    from common.media import decode_range, measure_duration
    from pipeline.asr import create_engine

    cache = Path("~/.cache/talks/models").expanduser()
    engine = create_engine("faster-whisper", "tiny.en", cache, False, "en", 2, "int8", 1)
    engine.load()
    heard = {}
    for name, *_ in _demo_table():
        path = ROOT / "demo" / "inbox" / name
        pcm = decode_range(path, 0.0, measure_duration(path) + 1.0)
        heard[name] = " ".join(s.text.strip() for s in engine.transcribe(pcm, 0.0))
    return heard


# --- the report -------------------------------------------------------------------------------

def markdown(results: dict) -> str:
    methods = list(results["summary"])
    lines = ["# Titles (`make bench-titles`, issue 33)", "",
             f"{results['summary'][methods[0]]['talks']} talks with a reference title "
             "written beforehand (benchmarks/title_references.toml); `old` is the keyword "
             f"title before issue 33 (commit {BASELINE}), `new` today's. How each is scored: "
             "benchmarks/titles.py.", "",
             "| | " + " | ".join(methods) + " | target |",
             "|---|" + "---|" * len(methods) + "---|"]
    rows = [
        ("talks whose title recalls a subject word of the reference", "recall_talks_pct",
         "{} %", "≥ 80 %"),
        ("subject words of the reference recalled (mean share)", "recall_words_pct", "{} %",
         ""),
        ("length in words: least / mean / most", None, "", "2–7"),
        ("non-words", "non_words", "{}", "0"),
        ("repeated words", "repeats", "{}", "0"),
        ("single-word titles, talks over 150 words", "single_word_over_150", "{}", "0"),
        ("single-word titles, all talks", "single_word_all", "{}", ""),
    ]
    for label, key, fmt, target in rows:
        cells = []
        for m in methods:
            s = results["summary"][m]
            cells.append(f"{s['length_min']} / {s['length_mean']} / {s['length_max']}"
                         if key is None else fmt.format(s[key]))
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")
    long = results["two_hours"]
    lines += ["", "## A 2-hour transcript", "",
              f"About {long['en']['words']:,} words (English: the real meetings and the "
              "written talks repeated; German: its spoken scripts repeated), in a fresh "
              "process, best of three (wall clock, and the process's CPU time, which other "
              "work on this shared machine disturbs less):", "",
              "| language | first title (libraries' data read) | next title | memory above "
              "the process before | title (the same every time) |", "|---|---|---|---|---|"]
    for language, m in long.items():
        lines.append(f"| {language} | {m['cold_ms']:.0f} ms ({m['cold_cpu_ms']:.0f} ms CPU) | "
                     f"{m['warm_ms']:.0f} ms ({m['warm_cpu_ms']:.0f} ms CPU) | "
                     f"{m['extra_mb']:.1f} MB | {m['title']} ({'yes' if m['same'] else 'NO'}) |")
    lines += ["", "Targets: ≤ 50 ms and ≤ 30 MB more. The first title of a language in a "
              "process reads the libraries' data for it, once: simplemma's dictionary (in "
              "its low-memory form) and wordfreq's list; the next title (another talk: none "
              "of its words looked up yet) finds them loaded. German's dictionary is the "
              "largest simplemma has.", "", "## Every talk", "",
              "| talk | words | reference | " + " | ".join(methods) + " |",
              "|---|---|---|" + "---|" * len(methods)]
    by_source = {m: {r["source"]: r for r in results["talks"][m]} for m in methods}
    for row in results["talks"][methods[0]]:
        cells = []
        for m in methods:
            r = by_source[m][row["source"]]
            marks = ("" if r["recalled"] else " ✗") + (" (non-word)" if r["non_words"] else "") \
                + (" (repeat)" if r["repeats"] else "")
            cells.append(f"{r['title']}{marks}")
        lines.append(f"| {row['source']} | {row['words']} | {row['reference']} | "
                     + " | ".join(cells) + " |")
    lines += ["", "✗: no subject word of the reference in the title.", "",
              f"Machine: {results['machine']}", ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hear-demo", action="store_true",
                        help="also title the demo as tiny.en transcribes it")
    parser.add_argument("--llm-url", help="an OpenAI-compatible endpoint to score `llm` too")
    parser.add_argument("--llm-model", default="", help="the model name the endpoint knows")
    parser.add_argument("--llm-key-env", default="", help="the variable holding its key")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    talks = load_talks(hear_demo() if args.hear_demo else None)
    methods: dict[str, Callable[[str, int, str | None], str]] = {
        "old": old_title_maker(), "new": keyword_title}
    if args.llm_url:
        methods["llm"] = llm_title_maker(args.llm_url, args.llm_model, args.llm_key_env)
    scored = {name: [score(t, make(t.text, MAX_WORDS, t.language)) for t in talks]
              for name, make in methods.items()}
    results = {
        "summary": {name: summary(rows) for name, rows in scored.items()},
        "two_hours": {language: measure_long(language, two_hour_text(language))
                      for language in ("en", "de")},
        "talks": {name: [asdict(r) for r in rows] for name, rows in scored.items()},
        "baseline": BASELINE,
        "machine": {**describe(), "load_average": load_average()},
    }
    text = markdown(results)
    args.out.with_suffix(".md").write_text(text, encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1, ensure_ascii=False),
                                             encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
