"""Talks in seven languages: `make bench-languages` (issue 32).

`python -m benchmarks.languages [--per-language 6] [--languages en,fr,…] [--no-wer]
[--out benchmarks/language_results]`

1. **The talks**: for each language of tests/support/speech.py's TALKS_IN (English, French,
   German, Spanish, Italian, Portuguese, Dutch), `--per-language` talks spoken by espeak-ng's
   voice for it (ESPEAK_VOICES), each 30–90 s: one topic's sentences in a seeded random
   order, then sentences of the language's other topics until a length drawn between 30 and
   90 s, with pauses between sentences drawn between 0.8 and 1.5 s; encoded as mp3.
2. **Detection**: `pipeline.asr.language.detect_language` on each talk, as the transcribe
   stage calls it (base's encoder on stretches of speech from the talk's opening minutes,
   model load included, 2 threads). Right when the language heard is the one spoken.
   Accuracy with its 95 % interval (Wilson), per language too, every wrong detection
   listed; the time per detection (its own `seconds`, and the wall time around the call):
   median and p95. Targets: ≥ 95 % right, ≤ 2 s per talk. Beside it, the same base model's
   own detection as faster-whisper offers it (`WhisperModel.detect_language` on the talk's
   first 30 s): where both miss, the voice is what base cannot place (espeak-ng's Dutch and
   Portuguese), not the way talks detects.
3. **WER per language**: each talk transcribed by the base model through faster-whisper
   (`pipeline.asr.create_engine`, the language given, greedy decoding as the default config)
   and scored against the sentences spoken, the words of all a language's talks pooled.
   Both sides are normalised alike by tests/support/speech.normalize_words: Unicode NFKC,
   lowercase, apostrophes dropped ("l'eau" -> "leau", on both sides), every other punctuation
   mark or symbol a space; accents are kept ("élève" and "eleve" are two words).

Results: printed, and written to benchmarks/language_results.md (+ .json). About 8 minutes
here with six talks per language (7.5 min measured, 2 cores shared with other work).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import jiwer

from benchmarks.machine import describe, load_average
from benchmarks.paths import BENCH_DIR, WORK_DIR
from benchmarks.search import percentile, verdict
from benchmarks.voices import wilson
from common.media import decode_range, measure_duration
from pipeline.asr import create_engine
from pipeline.asr.language import detect_language, language_name
from tests.support.speech import (
    ESPEAK_VOICES,
    TALKS_IN,
    make_talk,
    normalize_words,
    sentence_times,
)

TALK_DIR = WORK_DIR / "languages"
OUT = BENCH_DIR / "language_results"
MODEL_CACHE = Path("~/.cache/talks/models").expanduser()
THREADS = 2

PER_LANGUAGE = 6
SHORTEST_S, LONGEST_S = 30.0, 90.0
PAUSES_S = (0.8, 1.5)
SPEED = 160  # espeak-ng's words a minute, as the tests speak

# The targets.
TARGET_RIGHT = 0.95
TARGET_SECONDS = 2.0


@dataclass(frozen=True)
class Talk:
    name: str
    language: str
    path: Path
    script: str
    seconds: float


@dataclass
class Detected:
    talk: str
    spoken: str
    heard: str
    probability: float
    ranked: list[tuple[str, float]]
    seconds: float  # the function's own
    wall_s: float   # around the call
    reference: str = ""  # faster-whisper's own detection on the first 30 s
    reference_probability: float = 0.0

    @property
    def right(self) -> bool:
        return self.heard == self.spoken


@dataclass
class Transcribed:
    talk: str
    language: str
    reference: str
    hypothesis: str
    wer: float
    seconds: float
    audio_s: float


@dataclass
class Results:
    machine: dict
    talks: list[dict] = field(default_factory=list)
    detections: list[Detected] = field(default_factory=list)
    transcriptions: list[Transcribed] = field(default_factory=list)
    wall_s: float = 0.0


# --- the talks -----------------------------------------------------------------------------


def script_for(language: str, index: int) -> tuple[list[str], float]:
    """A talk's sentences (one topic first, the others after, each shuffled) cut at a
    length drawn between SHORTEST_S and LONGEST_S, and its pause between sentences."""
    rng = random.Random(f"{language}-{index}")
    topics = list(TALKS_IN[language])
    main = topics[index % len(topics)]
    first = list(TALKS_IN[language][main])
    rest = [s for t in topics if t != main for s in TALKS_IN[language][t]]
    rng.shuffle(first)
    rng.shuffle(rest)
    pool = first + rest
    pause = round(rng.uniform(*PAUSES_S), 2)
    target = rng.uniform(SHORTEST_S, LONGEST_S)
    times = sentence_times(pool, voice=ESPEAK_VOICES[language], pause_s=pause, speed=SPEED)
    for count, (_start, end) in enumerate(times, start=1):
        if end >= target:
            # The sentence that passes the target stays unless it runs past the longest.
            return pool[:count] if end <= LONGEST_S else pool[:count - 1], pause
    return pool, pause


def make_talks(languages: Sequence[str], per_language: int) -> list[Talk]:
    TALK_DIR.mkdir(parents=True, exist_ok=True)
    for old in TALK_DIR.glob("*.mp3"):
        old.unlink()
    talks = []
    for language in languages:
        for index in range(per_language):
            sentences, pause = script_for(language, index)
            path = TALK_DIR / f"{language}-{index:02d}.mp3"
            script = make_talk(path, sentences, voice=ESPEAK_VOICES[language], pause_s=pause,
                               speed=SPEED)
            talks.append(Talk(path.stem, language, path, script, measure_duration(path)))
    return talks


# --- detection and transcription -----------------------------------------------------------


def detect_all(talks: Sequence[Talk]) -> list[Detected]:
    found = []
    for talk in talks:
        began = time.perf_counter()
        heard = detect_language(talk.path, talk.seconds, MODEL_CACHE, threads=THREADS)
        wall = time.perf_counter() - began
        found.append(Detected(talk.name, talk.language, heard.language, heard.probability,
                              [list(pair) for pair in heard.ranked], heard.seconds, wall))
        print(f"  {talk.name}: {heard.language} {heard.probability:.2f} "
              f"({heard.seconds:.2f} s)", flush=True)
    return found


def reference_detect_all(talks: Sequence[Talk], found: Sequence[Detected]) -> None:
    """What base itself hears, as faster-whisper detects a language by default (its first
    30 s window, no VAD), written into each detection."""
    from faster_whisper import WhisperModel

    from pipeline.asr.models import resolve_ct2_model

    model = WhisperModel(resolve_ct2_model("base", MODEL_CACHE, False), device="cpu",
                         compute_type="int8", cpu_threads=THREADS)
    for talk, detected in zip(talks, found, strict=True):
        pcm = decode_range(talk.path, 0.0, 30.0)
        heard, probability, _all = model.detect_language(pcm)
        detected.reference, detected.reference_probability = heard, probability
        print(f"  {talk.name}: faster-whisper's own {heard} {probability:.2f}", flush=True)
    del model


def transcribe_all(talks: Sequence[Talk]) -> list[Transcribed]:
    done = []
    for language in dict.fromkeys(t.language for t in talks):
        engine = create_engine("faster-whisper", "base", MODEL_CACHE, False, language,
                               THREADS, "int8", 1)
        engine.load()
        try:
            for talk in (t for t in talks if t.language == language):
                pcm = decode_range(talk.path, 0.0, talk.seconds + 1.0)
                began = time.perf_counter()
                text = " ".join(s.text.strip() for s in engine.transcribe(pcm, 0.0))
                took = time.perf_counter() - began
                reference, hypothesis = normalize_words(talk.script), normalize_words(text)
                wer = jiwer.wer(reference, hypothesis) if hypothesis else 1.0
                done.append(Transcribed(talk.name, language, reference, hypothesis, wer, took,
                                        len(pcm) / 16_000))
                print(f"  {talk.name}: WER {wer:.1%} ({took:.1f} s)", flush=True)
        finally:
            engine.unload()
    return done


def pooled_wer(rows: Sequence[Transcribed]) -> float:
    """Errors over reference words, all of a language's talks as one text."""
    return jiwer.wer([r.reference for r in rows], [r.hypothesis for r in rows])


# --- the report ----------------------------------------------------------------------------


def summary(results: Results) -> dict:
    detections = results.detections
    right = sum(d.right for d in detections)
    own = [d.seconds for d in detections]
    wall = [d.wall_s for d in detections]
    languages = list(dict.fromkeys(t["language"] for t in results.talks))
    per_language = {}
    for language in languages:
        mine = [d for d in detections if d.spoken == language]
        heard = [t for t in results.transcriptions if t.language == language]
        per_language[language] = {
            "name": language_name(language),
            "talks": len(mine),
            "right": sum(d.right for d in mine),
            "reference_right": sum(d.reference == language for d in mine),
            "lowest_probability_right": min((d.probability for d in mine if d.right),
                                            default=None),
            "median_probability": statistics.median(d.probability for d in mine)
            if mine else None,
            "wer": pooled_wer(heard) if heard else None,
            "wer_median_talk": statistics.median(t.wer for t in heard) if heard else None,
            "reference_words": sum(len(t.reference.split()) for t in heard),
            "transcribe_s_per_audio_s": sum(t.seconds for t in heard) /
            sum(t.audio_s for t in heard) if heard else None,
        }
    share = right / len(detections) if detections else 0.0
    seconds = [t["seconds"] for t in results.talks]
    return {
        "talks": len(results.talks),
        "languages": len(languages),
        "talk_seconds": {"shortest": min(seconds), "longest": max(seconds),
                         "median": statistics.median(seconds)},
        "right": right,
        "accuracy": share,
        "accuracy_interval_95": wilson(right, len(detections)),
        "reference_right": sum(d.reference == d.spoken for d in detections),
        # The method apart from the voices: talks base itself places.
        "right_where_reference_right": sum(d.right for d in detections
                                           if d.reference == d.spoken),
        "detect_s_median": statistics.median(own),
        "detect_s_p95": percentile(own, 95),
        "detect_s_first": own[0],
        "detect_wall_s_median": statistics.median(wall),
        "detect_wall_s_p95": percentile(wall, 95),
        "accuracy_target_met": share >= TARGET_RIGHT,
        "time_target_met": statistics.median(own) <= TARGET_SECONDS,
        "per_language": per_language,
    }


def markdown(results: Results, totals: dict) -> str:
    m = results.machine
    low, high = totals["accuracy_interval_95"]
    lines = [
        "# Talks in seven languages: detection and transcription",
        "",
        "`make bench-languages` (`python -m benchmarks.languages`, issue 32). Measured "
        f"{m['date']} on {m['cpu']} ({m['cpu_count']} cores, {m['ram_gb']} GB), load "
        f"{m['load_average_at_start']} at the start; faster-whisper {m['faster_whisper']}, "
        f"ctranslate2 {m['ctranslate2']}. The whole run took {results.wall_s / 60:.1f} min.",
        "",
        f"{totals['talks']} espeak-ng talks in {totals['languages']} languages, "
        f"{totals['talk_seconds']['shortest']:.0f}–{totals['talk_seconds']['longest']:.0f} s "
        f"each (median {totals['talk_seconds']['median']:.0f} s): each a topic's sentences "
        "in a seeded order, then other topics' up to a length drawn between 30 and 90 s "
        "(tests/support/speech.py's TALKS_IN, one espeak-ng voice per language).",
        "",
        "## Detection",
        "",
        "`pipeline.asr.language.detect_language`, as the transcribe stage calls it (base's "
        "encoder, model load included, 2 threads).",
        "",
        "| | measured | target | |",
        "|---|---|---|---|",
        f"| right | {totals['right']} of {totals['talks']}: {totals['accuracy']:.1%} "
        f"(95 % interval {low:.1%}–{high:.1%}) | ≥ {TARGET_RIGHT:.0%} | "
        f"{verdict(totals['accuracy_target_met'])} |",
        f"| time per talk, median | {totals['detect_s_median']:.2f} s (p95 "
        f"{totals['detect_s_p95']:.2f} s; the first, disk cold: "
        f"{totals['detect_s_first']:.2f} s) | ≤ {TARGET_SECONDS:.0f} s | "
        f"{verdict(totals['time_target_met'])} |",
        f"| wall time around the call | median {totals['detect_wall_s_median']:.2f} s, p95 "
        f"{totals['detect_wall_s_p95']:.2f} s | | |",
        f"| base's own detection (faster-whisper, first 30 s), right | "
        f"{totals['reference_right']} of {totals['talks']} | | |",
        f"| right, of the talks base's own detection places | "
        f"{totals['right_where_reference_right']} of {totals['reference_right']} | | |",
        "",
        "| language | talks | right | median probability | lowest when right | base's own "
        "detection right |",
        "|---|---|---|---|---|---|",
    ]
    for code, row in totals["per_language"].items():
        lowest = row["lowest_probability_right"]
        lines.append(f"| {row['name']} ({code}) | {row['talks']} | {row['right']} | "
                     f"{row['median_probability']:.2f} | "
                     f"{'—' if lowest is None else f'{lowest:.2f}'} | "
                     f"{row['reference_right']} |")
    wrong = [d for d in results.detections if not d.right or d.reference != d.spoken]
    lines += ["", "Wrong detections (by talks, or by base's own): " + ("none." if not wrong
                                                                        else "")]
    for d in wrong:
        ranked = ", ".join(f"{code} {p:.2f}" for code, p in d.ranked)
        lines.append(f"- {d.talk} ({d.spoken}) heard as {d.heard} ({ranked}); base's own: "
                     f"{d.reference} {d.reference_probability:.2f}")
    if results.transcriptions:
        lines += [
            "",
            "## WER per language (base, faster-whisper, the language given)",
            "",
            "Each talk transcribed in its language and scored against the sentences spoken; "
            "a language's talks pooled (errors over all its reference words). Normalised "
            "alike on both sides: NFKC, lowercase, apostrophes dropped, other punctuation a "
            "space, accents kept.",
            "",
            "| language | WER | median talk | reference words | transcription time / audio |",
            "|---|---|---|---|---|",
        ]
        for code, row in totals["per_language"].items():
            if row["wer"] is None:
                continue
            lines.append(f"| {row['name']} ({code}) | {row['wer']:.1%} | "
                         f"{row['wer_median_talk']:.1%} | {row['reference_words']} | "
                         f"{row['transcribe_s_per_audio_s']:.2f} |")
    lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-language", type=int, default=PER_LANGUAGE)
    parser.add_argument("--languages", default=",".join(TALKS_IN))
    parser.add_argument("--no-wer", action="store_true", help="detection only")
    parser.add_argument("--out", type=Path, default=OUT, help="results, without suffix")
    args = parser.parse_args(argv)
    languages = [code.strip() for code in args.languages.split(",") if code.strip()]
    unknown = [code for code in languages if code not in TALKS_IN]
    if unknown:
        parser.error(f"no talks in {', '.join(unknown)}: use some of {', '.join(TALKS_IN)}")

    began = time.perf_counter()
    results = Results(describe())
    print(f"Speaking {args.per_language} talks in each of {', '.join(languages)} …", flush=True)
    talks = make_talks(languages, args.per_language)
    results.talks = [{"name": t.name, "language": t.language, "seconds": round(t.seconds, 2),
                      "words": len(t.script.split())} for t in talks]
    print("Detecting their languages …", flush=True)
    results.detections = detect_all(talks)
    print("Detecting them as faster-whisper does by itself …", flush=True)
    reference_detect_all(talks, results.detections)
    if not args.no_wer:
        print("Transcribing each in its language …", flush=True)
        results.transcriptions = transcribe_all(talks)
    results.wall_s = time.perf_counter() - began
    totals = summary(results)
    totals["load_average_at_end"] = load_average()

    text = markdown(results, totals)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(text, encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(
        {"summary": totals, "machine": results.machine, "talks": results.talks,
         "detections": [asdict(d) for d in results.detections],
         "transcriptions": [asdict(t) for t in results.transcriptions],
         "wall_s": results.wall_s}, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"Written: {args.out.with_suffix('.md')} and .json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
