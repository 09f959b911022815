"""Speaker identification on real voices, every backend side by side: `make bench-speakers`.

`python -m benchmarks.speakers_real [--backends campplus,resemblyzer,pyannote] [--no-e2e]`

The voices are real people, fetched from PyPI by scripts/fetch-test-speech.sh (never kept in
the repository): speakerbox's 9 Seattle city council members in 5 meetings, the two people of
pyannote.audio's sample call, and two CMU ARCTIC speakers. For each backend it measures:

1. Embeddings: equal error rate over all pairs of utterances and over pairs from different
   meetings only; mean cosine of the same and of different people; top-1 identification of
   each utterance against centroids (and best clips) made from the other meetings; CPU
   seconds per 10 s of audio.
2. Decisions, simulated (no transcription): each meeting in turn is the one people are
   enrolled from (clips = their utterances there); every other meeting's speech of a person
   is a talk, sampled as the pipeline samples it; each talk is decided with that person
   enrolled (should be a match) and without (a stranger: never a name). The rotations that
   do not use the end-to-end meeting choose the thresholds (the rule is in `suggest_rules`).
3. End to end through the real program (`talks --batch`): 7 people enrolled from one
   meeting, talks made of their speech in the other meetings (with music before the speech
   and silences, as recordings have), and 2 people never enrolled. Counted: right name,
   wrong name, review, unknown, never-enrolled named; the speaker worker's peak RSS (its
   own and the process tree's during the speaker stage) and its CPU per 10 s of speech.

Results: printed, and written to benchmarks/speaker_results.md (+ .json).
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import tomlkit

from benchmarks.paths import BENCH_DIR, ROOT, WORK_DIR, child_env
from benchmarks.procs import run_sampled
from benchmarks.sampler import TreeSampler
from common.media import SAMPLE_RATE, decode_range
from pipeline.stages.identify import one_blas_thread
from speakers.calibration import CALIBRATED, Calibrated, suggest
from speakers.decisions import SpeakerDecision
from speakers.embedding import EmbedderSettings, EmbedderUnavailable, create_embedder
from speakers.voice_match import (
    Rules,
    decide,
    main_voice,
    plan_speech_samples,
    score_sample,
)
from tests.support.voices import (
    FETCH_SCRIPT,
    REAL_DIR,
    Utterance,
    real_speakers,
    speakerbox_utterances,
)

BACKENDS = ("campplus", "resemblyzer", "pyannote")
MATCH, REVIEW = SpeakerDecision.MATCH, SpeakerDecision.REVIEW
RESULTS_MD = BENCH_DIR / "speaker_results.md"
RESULTS_JSON = BENCH_DIR / "speaker_results.json"
RUN_DIR = WORK_DIR / "speakers_real"

MIN_UTTERANCE_S = 2.0   # shorter utterances (7 of 73, all under 1.5 s) are left out
MIN_TALK_SPEECH_S = 10.0  # a person's speech in a meeting makes a talk from this much on
MIN_ENROLL_S = 15.0     # … and enrolls them (simulation) from this much on
E2E_MEETING = "9f581faa5ece"  # everyone speaks in it: the end-to-end enrollment meeting
STRANGERS = ("sawant", "strauss")  # never enrolled end to end
METHODS = ("centroid", "best_clip")
# The pipeline's defaults (config.py): samples per talk, their length, skipped intro/outro.
SAMPLE_COUNT, SAMPLE_SECONDS, SKIP_START, SKIP_END = 5, 20.0, 60.0, 60.0
MIN_AGREEMENT = 0.6
MUSIC_S, SILENCE_S, PAUSE_S, TAIL_S = 8.0, 2.0, 0.6, 3.0


# --- numbers -------------------------------------------------------------------------------

def equal_error_rate(genuine: Sequence[float], impostor: Sequence[float]) -> tuple[float, float]:
    """(EER, the threshold where false accepts and false rejects are closest)."""
    g, i = np.sort(np.asarray(genuine)), np.sort(np.asarray(impostor))
    best = (2.0, 0.0, 0.0)
    for t in np.concatenate((g, i)):
        far = 1.0 - np.searchsorted(i, t, side="left") / len(i)  # impostors at or above t
        frr = np.searchsorted(g, t, side="left") / len(g)        # genuine below t
        if abs(far - frr) < best[0]:
            best = (abs(far - frr), (far + frr) / 2, float(t))
    return best[1], best[2]


BOOTSTRAP_ROUNDS = 1000


def eer_interval(people: Sequence[str], meetings: Sequence[str], scores: np.ndarray, *,
                 cross_meeting: bool, rounds: int = BOOTSTRAP_ROUNDS,
                 seed: int = 0) -> tuple[float, float]:
    """A 95 % interval for the EER: the utterances drawn again with replacement `rounds`
    times (pairs of one utterance share it, so it is utterances that are resampled, not
    pairs). One false reject among ~190 same-person pairs moves the EER by half a point, so
    a target near the measured figure needs this to be read honestly."""
    person, meeting = np.asarray(people), np.asarray(meetings)
    rng = np.random.default_rng(seed)
    found = []
    for _ in range(rounds):
        idx = rng.integers(0, len(person), len(person))
        a, b = np.triu_indices(len(idx), 1)
        keep = idx[a] != idx[b]  # an utterance drawn twice is not a pair with itself
        if cross_meeting:
            keep &= meeting[idx[a]] != meeting[idx[b]]
        same = person[idx[a]] == person[idx[b]]
        pair_scores = scores[idx[a], idx[b]]
        if (keep & same).any() and (keep & ~same).any():
            found.append(equal_error_rate(pair_scores[keep & same], pair_scores[keep & ~same])[0])
    low, high = np.percentile(found, [2.5, 97.5])
    return float(low), float(high)


def pct(x: float) -> str:
    return f"{100 * x:.2f} %"


def span(interval: tuple[float, float]) -> str:
    return f"{100 * interval[0]:.2f}–{100 * interval[1]:.2f}"


def spread(values: Sequence[float]) -> str:
    if not values:
        return "–"
    return (f"{min(values):.3f} / {statistics.median(values):.3f} / {max(values):.3f} "
            f"(n={len(values)})")


# --- embeddings ----------------------------------------------------------------------------

class Embeddings:
    """One backend: embeds audio once per key and keeps the CPU it spent."""

    def __init__(self, backend: str):
        one_blas_thread()  # as the speaker worker runs them
        self.backend = backend
        self.model = create_embedder(EmbedderSettings(backend))
        began = time.process_time()
        self.model.load()
        self.load_cpu_s = time.process_time() - began
        self.cpu_s = 0.0
        self.audio_s = 0.0
        self.cache: dict[object, np.ndarray] = {}

    def of(self, key: object, audio: Callable[[], np.ndarray]) -> np.ndarray:
        if key not in self.cache:
            pcm = audio()
            began = time.process_time()
            self.cache[key] = self.model.embed(pcm)
            self.cpu_s += time.process_time() - began
            self.audio_s += len(pcm) / SAMPLE_RATE
        return self.cache[key]

    @property
    def cpu_per_10s(self) -> float:
        return 10 * self.cpu_s / self.audio_s if self.audio_s else 0.0


def council_utterances() -> list[Utterance]:
    """speakerbox's council utterances long enough to use, fetched first when not here yet."""
    utts = [u for u in speakerbox_utterances(REAL_DIR) if u.seconds >= MIN_UTTERANCE_S]
    if not utts:
        subprocess.run(["bash", str(FETCH_SCRIPT), str(REAL_DIR)], check=True)
        utts = [u for u in speakerbox_utterances(REAL_DIR) if u.seconds >= MIN_UTTERANCE_S]
    return utts


def read_all(path: Path) -> np.ndarray:
    return decode_range(path, 0.0, 600.0)


@dataclass
class PairStats:
    eer_all: float
    eer_all_at: float
    eer_cross: float
    eer_cross_at: float
    eer_all_interval: tuple[float, float]
    eer_cross_interval: tuple[float, float]
    same_mean: float
    different_mean: float
    pairs: dict[str, int]
    top1: dict[str, tuple[int, int]]  # method -> (right, tried)


def pair_stats(utts: Sequence[Utterance], vectors: np.ndarray) -> PairStats:
    scores = vectors @ vectors.T
    g, i, gc, ic = [], [], [], []
    for a in range(len(utts)):
        for b in range(a + 1, len(utts)):
            same = utts[a].person == utts[b].person
            (g if same else i).append(scores[a, b])
            if utts[a].meeting != utts[b].meeting:
                (gc if same else ic).append(scores[a, b])
    eer_all, at_all = equal_error_rate(g, i)
    eer_cross, at_cross = equal_error_rate(gc, ic)
    top1 = {}
    for method in METHODS:
        right = tried = 0
        for a, utt in enumerate(utts):
            others: dict[str, list[np.ndarray]] = {}
            for b, other in enumerate(utts):
                if other.meeting != utt.meeting:
                    others.setdefault(other.person, []).append(vectors[b])
            if utt.person not in others:
                continue
            ranked = score_sample(vectors[a], others, method)
            tried += 1
            right += max(ranked, key=ranked.get) == utt.person  # type: ignore[arg-type]
        top1[method] = (right, tried)
    people, meetings = [u.person for u in utts], [u.meeting for u in utts]
    interval_all = eer_interval(people, meetings, scores, cross_meeting=False)
    interval_cross = eer_interval(people, meetings, scores, cross_meeting=True)
    return PairStats(eer_all, at_all, eer_cross, at_cross, interval_all, interval_cross,
                     float(np.mean(g)), float(np.mean(i)),
                     {"same": len(g), "different": len(i), "same, cross-meeting": len(gc),
                      "different, cross-meeting": len(ic)}, top1)


def small_sets(emb: Embeddings) -> dict[str, dict]:
    """pyannote's call and the ARCTIC sentences: genuine and impostor cosines."""
    out = {}
    real = real_speakers(REAL_DIR)
    for label, prefix in (("pyannote sample.wav (phone call, turns ≥ 3 s)", "pyannote-"),
                          ("CMU ARCTIC (one sentence each, halves)", "arctic-")):
        people = {p: c for p, c in real.items() if p.startswith(prefix)}
        vectors: list[tuple[str, np.ndarray]] = []
        for person, clips in people.items():
            for clip in clips:
                pcm = read_all(clip)
                pieces = [pcm] if prefix == "pyannote-" else [pcm[: len(pcm) // 2],
                                                              pcm[len(pcm) // 2:]]
                for n, piece in enumerate(pieces):
                    vectors.append((person, emb.of(("clip", str(clip), n),
                                                   lambda piece=piece: piece)))
        g = [float(np.dot(a[1], b[1])) for k, a in enumerate(vectors) for b in vectors[k + 1:]
             if a[0] == b[0]]
        i = [float(np.dot(a[1], b[1])) for k, a in enumerate(vectors) for b in vectors[k + 1:]
             if a[0] != b[0]]
        out[label] = {"same": g, "different": i}
    return out


# --- simulated decisions -------------------------------------------------------------------

@dataclass(frozen=True)
class Talk:
    person: str
    meeting: str
    utterances: tuple[Utterance, ...]

    @property
    def speech_s(self) -> float:
        return sum(u.seconds for u in self.utterances)

    @property
    def key(self) -> str:
        return f"{self.person}@{self.meeting}"


def talks_of(utts: Sequence[Utterance]) -> list[Talk]:
    by: dict[tuple[str, str], list[Utterance]] = {}
    for u in utts:
        by.setdefault((u.person, u.meeting), []).append(u)
    talks = [Talk(p, m, tuple(sorted(us, key=lambda u: u.path.name)))
             for (p, m), us in sorted(by.items())]
    return [t for t in talks if t.speech_s >= MIN_TALK_SPEECH_S]


def talk_samples(emb: Embeddings, talk: Talk, audio: dict[Path, np.ndarray]
                 ) -> list[np.ndarray]:
    """The talk's speech sampled as the pipeline samples a talk's speech."""
    speech = np.concatenate([audio[u.path] for u in talk.utterances])
    total = len(speech) / SAMPLE_RATE
    plan = plan_speech_samples([(0.0, total)], total, SAMPLE_COUNT, SAMPLE_SECONDS,
                               SKIP_START, SKIP_END)
    vectors = []
    for n, pieces in enumerate(plan):
        cut = np.concatenate([speech[int(a * SAMPLE_RATE):int((a + b) * SAMPLE_RATE)]
                              for a, b in pieces])
        vectors.append(emb.of(("talk", talk.key, n), lambda cut=cut: cut))
    return vectors


@dataclass
class Trial:
    """One talk decided against one library."""
    enrolled_from: str
    talk: str
    truth: str | None  # None: the speaker is not in the library
    per_sample: dict[str, list[dict[str, float]]]  # method -> per-sample scores


def simulate(emb: Embeddings, utts: Sequence[Utterance], talks: Sequence[Talk],
             audio: dict[Path, np.ndarray],
             samples: dict[str, list[np.ndarray]] | None = None) -> list[Trial]:
    """Every talk decided against each meeting's library (with its person and without).
    `samples`: each talk's sample vectors (default: its own speech, sampled as the pipeline
    samples it); a talk without an entry there is left out."""
    vector_of = {u.path: emb.of(("utt", str(u.path)), lambda u=u: audio[u.path]) for u in utts}
    if samples is None:
        samples = {t.key: talk_samples(emb, t, audio) for t in talks}
    talks = [t for t in talks if t.key in samples]
    trials = []
    for meeting in sorted({u.meeting for u in utts}):
        library: dict[str, list[np.ndarray]] = {}
        for person in sorted({u.person for u in utts}):
            mine = [u for u in utts if u.person == person and u.meeting == meeting]
            if sum(u.seconds for u in mine) >= MIN_ENROLL_S:
                library[person] = [vector_of[u.path] for u in mine]
        for talk in talks:
            if talk.meeting == meeting:
                continue
            cases = [(talk.person, library)] if talk.person in library else []
            without = {p: v for p, v in library.items() if p != talk.person}
            if len(without) >= 2:
                cases.append((None, without))
            for truth, lib in cases:
                trials.append(Trial(meeting, talk.key, truth,
                                    {m: [score_sample(v, lib, m) for v in samples[talk.key]]
                                     for m in METHODS}))
    return trials


# Talks with other voices in them, as recordings are: a host introduces the speaker, people
# ask questions at the end. With 5 samples spread over a long talk, the introduction fills the
# first and the questions the last. Voices of the talk's own meeting (the same room and day):
# the host is whoever else speaks most there, the questions 10 s each of the next two.
FRAMES = ("introduction", "questions", "introduction and questions")
MIN_FRAMED_SPEECH_S = 15.0


def framed_samples(emb: Embeddings, talk: Talk, utts: Sequence[Utterance],
                   audio: dict[Path, np.ndarray]) -> dict[str, list[np.ndarray]] | None:
    """The talk's samples in each frame: the speaker's own are 20 s windows spread evenly
    over their speech (overlapping when it is short, where a long talk's would not), the
    others are the host's and the questioners' speech. None when the meeting has too few
    other voices or the talk too little speech."""
    others: dict[str, list[Utterance]] = {}
    for u in utts:
        if u.meeting == talk.meeting and u.person != talk.person:
            others.setdefault(u.person, []).append(u)
    voices = sorted(others.values(), key=lambda us: -sum(u.seconds for u in us))
    if len(voices) < 3 or talk.speech_s < MIN_FRAMED_SPEECH_S:
        return None
    speech = np.concatenate([audio[u.path] for u in talk.utterances])
    size = int(min(SAMPLE_SECONDS, talk.speech_s) * SAMPLE_RATE)

    def own(count: int) -> list[np.ndarray]:
        starts = np.linspace(0, len(speech) - size, count).astype(int)
        return [emb.of(("own", talk.key, count, n), lambda a=a: speech[a:a + size])
                for n, a in enumerate(starts)]

    def voice(key: str, parts: list[np.ndarray], seconds: float) -> np.ndarray:
        pcm = np.concatenate(parts)[:int(seconds * SAMPLE_RATE)]
        return emb.of((key, talk.key), lambda: pcm)

    intro = voice("intro", [audio[u.path] for u in voices[0]], SAMPLE_SECONDS)
    questions = voice("questions", [np.concatenate([audio[u.path] for u in us])
                                    [:int(SAMPLE_SECONDS / 2 * SAMPLE_RATE)]
                                    for us in voices[1:3]], SAMPLE_SECONDS)
    return {"introduction": [intro, *own(SAMPLE_COUNT - 1)],
            "questions": [*own(SAMPLE_COUNT - 1), questions],
            "introduction and questions": [intro, *own(SAMPLE_COUNT - 2), questions]}


def simulate_framed(emb: Embeddings, utts: Sequence[Utterance], talks: Sequence[Talk],
                    audio: dict[Path, np.ndarray]) -> dict[str, list[Trial]]:
    framed = {t.key: f for t in talks if (f := framed_samples(emb, t, utts, audio))}
    return {frame: simulate(emb, utts, talks, audio,
                            {key: f[frame] for key, f in framed.items()})
            for frame in FRAMES}


@dataclass
class Counts:
    right: int = 0
    wrong: int = 0
    review: int = 0
    unknown: int = 0
    stranger_named: int = 0
    stranger_review: int = 0
    stranger_unknown: int = 0

    @property
    def enrolled(self) -> int:
        return self.right + self.wrong + self.review + self.unknown

    @property
    def strangers(self) -> int:
        return self.stranger_named + self.stranger_review + self.stranger_unknown

    def add(self, truth: str | None, kind: str, speaker: str | None) -> None:
        if truth is None:
            if kind == MATCH:
                self.stranger_named += 1
            elif kind == REVIEW:
                self.stranger_review += 1
            else:
                self.stranger_unknown += 1
        elif kind == MATCH:
            if speaker == truth:
                self.right += 1
            else:
                self.wrong += 1
        elif kind == REVIEW:
            self.review += 1
        else:
            self.unknown += 1

    def row(self) -> str:
        enrolled = self.enrolled or 1
        return (f"{self.right}/{self.enrolled} ({100 * self.right / enrolled:.0f} %) | "
                f"{self.wrong} | {self.review} | {self.unknown} | "
                f"{self.stranger_named}/{self.strangers} | {self.stranger_review} | "
                f"{self.stranger_unknown}")


def count(trials: Sequence[Trial], rules: Rules, method: str) -> Counts:
    c = Counts()
    for t in trials:
        d = decide(t.per_sample[method], rules)
        c.add(t.truth, d.kind, d.speaker)
    return c


@dataclass
class TalkScores:
    own: list[float] = field(default_factory=list)       # the right person's mean score
    impostor: list[float] = field(default_factory=list)  # the best wrong/unenrolled mean
    gap: list[float] = field(default_factory=list)       # own − best other, when own is first


def talk_scores(trials: Sequence[Trial], method: str) -> TalkScores:
    out = TalkScores()
    for t in trials:
        means = dict(main_voice(t.per_sample[method])[0])  # as decide() scores a talk
        others = [s for n, s in means.items() if n != t.truth]
        if t.truth is not None:
            out.own.append(means[t.truth])
            if others and means[t.truth] > max(others):
                out.gap.append(means[t.truth] - max(others))
        if others:
            out.impostor.append(max(others))
    return out


def suggest_rules(scores: TalkScores) -> Calibrated:
    """The rule of speakers.calibration.suggest, on the calibration rotations' talks."""
    return suggest(scores.own, scores.impostor, scores.gap)


# --- end to end ----------------------------------------------------------------------------

def music(seconds: float) -> np.ndarray:
    """A soft chord progression with a beat: music-like, never words."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    chords = ((220.0, 261.6, 329.6), (196.0, 246.9, 293.7), (174.6, 220.0, 261.6))
    out = np.zeros_like(t)
    for n, chord in enumerate(chords):
        on = (t >= n * seconds / 3) & (t < (n + 1) * seconds / 3)
        for f in chord:
            out[on] += np.sin(2 * np.pi * f * t[on]) + 0.3 * np.sin(4 * np.pi * f * t[on])
    beat = 0.6 + 0.4 * (np.sin(2 * np.pi * 2 * t) > 0)
    return (0.05 * out * beat).astype(np.float32)


def write_audio(pcm: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = (np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes()
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "s16le", "-ar",
                    str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:", str(path)], input=raw,
                   check=True)


def person_name(person: str) -> str:
    return person.capitalize()


@dataclass
class Scenario:
    library: Path
    inbox: Path
    truth: dict[str, str | None]  # talk file name -> enrolled name, None: never enrolled
    speech_s: dict[str, float]


def build_scenario(utts: Sequence[Utterance], audio: dict[Path, np.ndarray]) -> Scenario:
    base = RUN_DIR / "scenario"
    stamp = base / ".complete"
    library, inbox = base / "library", base / "inbox"
    talks = [t for t in talks_of(utts) if t.meeting != E2E_MEETING]
    truth = {f"{t.person} {t.meeting}.mp3": (None if t.person in STRANGERS
                                            else person_name(t.person)) for t in talks}
    speech = {f"{t.person} {t.meeting}.mp3": t.speech_s for t in talks}
    if stamp.is_file():
        return Scenario(library, inbox, truth, speech)
    shutil.rmtree(base, ignore_errors=True)
    for u in utts:
        if u.meeting == E2E_MEETING and u.person not in STRANGERS:
            folder = library / person_name(u.person)  # a folder per person
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy2(u.path, folder / u.path.name)
    pause = np.zeros(int(PAUSE_S * SAMPLE_RATE), np.float32)
    for t in talks:
        parts = [music(MUSIC_S), np.zeros(int(SILENCE_S * SAMPLE_RATE), np.float32)]
        for u in t.utterances:
            parts += [audio[u.path], pause]
        parts.append(np.zeros(int(TAIL_S * SAMPLE_RATE), np.float32))
        write_audio(np.concatenate(parts), inbox / f"{t.person} {t.meeting}.mp3")
    stamp.touch()
    return Scenario(library, inbox, truth, speech)


_STAGE_LINE = re.compile(r": (probe|transcribe|identify|title|organize)$")
_SAMPLES_LINE = re.compile(r"memory speaker samples embedded \(([\d.]+) s of speech in "
                           r"([\d.]+) s CPU; (\d+) new clip\(s\) in ([\d.]+) s CPU\)")
_WORKER_END = re.compile(r"memory speaker model unloaded: .*process peak ([\d.]+) MB")


def _phase(line: str, sampler: TreeSampler) -> None:
    if match := _STAGE_LINE.search(line):
        sampler.set_phase(match.group(1))


@dataclass
class EndToEnd:
    counts: Counts
    outcomes: dict[str, tuple[str | None, str, str]]  # talk -> (truth, decision, filed as)
    wall_s: float
    identify_tree_peak_mb: float
    worker_peak_mb: float
    cpu_per_10s: float
    clip_cpu_s: float
    files: int


def end_to_end(backend: str, scenario: Scenario) -> EndToEnd:
    run = RUN_DIR / f"e2e-{backend}"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    config = {
        "input": {"folders": [str(scenario.inbox)], "min_duration_s": 1.0},
        "output": {"root": str(run / "output"), "raw_backup": False},
        "speakers": {"folder": str(run / "library"), "backend": backend},
        "transcription": {"engine": "faster-whisper", "model": "tiny.en", "threads": 2},
        "logging": {"file": str(run / "talks.log"), "memory": True},
    }
    shutil.copytree(scenario.library, run / "library")
    (run / "config.toml").write_text(tomlkit.dumps(config), encoding="utf-8")
    cmd = [sys.executable, "-m", "tui.cli", "--batch", "--json", "--config",
           str(run / "config.toml")]
    env = child_env()
    # talks remembers the output roots it filed into (a missing one is an unmounted disk,
    # not an empty folder); this run's root was just removed and made anew on purpose, so
    # it gets a memory of its own, or every run after the first would be refused.
    env["TALKS_STATE_DIR"] = str(run / "state")
    done = run_sampled(cmd, cwd=ROOT, env=env, on_stderr=_phase)
    if done.returncode != 0:
        raise RuntimeError(f"talks --batch failed ({done.returncode}): {done.stderr[-2000:]}")
    db = sqlite3.connect(f"file:{run / 'output' / '.talks' / 'ledger.sqlite'}?mode=ro", uri=True)
    rows = db.execute("SELECT path, speaker, speaker_decision FROM files").fetchall()
    db.close()
    if len(rows) != len(scenario.truth):
        raise RuntimeError(f"talks --batch took {len(rows)} of the {len(scenario.truth)} talks: "
                           f"{done.stderr[-2000:]}")
    counts = Counts()
    outcomes = {}
    for path, speaker, kind in rows:
        name = Path(path).name
        truth = scenario.truth[name]
        counts.add(truth, kind, speaker if kind == MATCH else None)
        outcomes[name] = (truth, kind, speaker)
    log = (run / "talks.log").read_text(encoding="utf-8")
    used = [(float(a), float(b), float(c)) for a, b, _n, c in _SAMPLES_LINE.findall(log)]
    speech = sum(u[0] for u in used)
    peaks = [float(p) for p in _WORKER_END.findall(log)]
    return EndToEnd(counts, outcomes, done.wall_s,
                    done.memory.phase_peaks_mb.get("identify", 0.0), max(peaks, default=0.0),
                    10 * sum(u[1] for u in used) / speech if speech else 0.0,
                    sum(u[2] for u in used), len(rows))


# --- the report ----------------------------------------------------------------------------

@dataclass
class BackendResult:
    backend: str
    available: bool
    reason: str = ""
    pairs: PairStats | None = None
    cpu_per_10s: float = 0.0
    load_cpu_s: float = 0.0
    small: dict[str, dict] = field(default_factory=dict)
    calibration: dict[str, TalkScores] = field(default_factory=dict)
    suggested: dict[str, Calibrated] = field(default_factory=dict)
    simulated: dict[str, dict[str, Counts]] = field(default_factory=dict)
    framed: dict[str, Counts] = field(default_factory=dict)  # frame -> rules in force
    e2e: EndToEnd | None = None


def rules_from(values: Calibrated) -> Rules:
    return Rules(values.threshold, values.unknown_below, values.margin, MIN_AGREEMENT)


def measure(backend: str, utts: Sequence[Utterance], audio: dict[Path, np.ndarray],
            scenario: Scenario | None) -> BackendResult:
    try:
        emb = Embeddings(backend)
    except EmbedderUnavailable as exc:
        return BackendResult(backend, False, str(exc))
    result = BackendResult(backend, True, load_cpu_s=emb.load_cpu_s)
    vectors = np.stack([emb.of(("utt", str(u.path)), lambda u=u: audio[u.path]) for u in utts])
    result.pairs = pair_stats(utts, vectors)
    result.cpu_per_10s = emb.cpu_per_10s  # whole utterances only: the steadiest figure
    result.small = small_sets(emb)
    talks = talks_of(utts)
    trials = simulate(emb, utts, talks, audio)
    calibration = [t for t in trials if t.enrolled_from != E2E_MEETING]
    held_out = [t for t in trials if t.enrolled_from == E2E_MEETING]
    in_force = rules_from(CALIBRATED[backend])
    for method in METHODS:
        scores = talk_scores(calibration, method)
        result.calibration[method] = scores
        result.suggested[method] = suggest_rules(scores)
        result.simulated[method] = {
            "calibration rotations, rules in force": count(calibration, in_force, method),
            f"enrolled from {E2E_MEETING}, rules in force": count(held_out, in_force, method),
            "calibration rotations, suggested rules": count(
                calibration, rules_from(result.suggested[method]), method),
            f"enrolled from {E2E_MEETING}, suggested rules": count(
                held_out, rules_from(result.suggested[method]), method)}
    result.framed = {frame: count(framed, in_force, "centroid")
                     for frame, framed in simulate_framed(emb, utts, talks, audio).items()}
    emb.model.unload()
    if scenario is not None:
        result.e2e = end_to_end(backend, scenario)
    return result


def report(results: Sequence[BackendResult], utts: Sequence[Utterance], seconds: float,
           scenario: Scenario | None) -> str:
    measured = [r for r in results if r.available]
    people = sorted({u.person for u in utts})
    lines = [
        "# Speaker identification on real voices",
        "",
        f"Measured {datetime.now():%Y-%m-%d %H:%M} on {platform.machine()}, "
        f"{_cores()} cores, Python {platform.python_version()}; `make bench-speakers` took "
        f"{seconds / 60:.1f} min. Backends: "
        + ", ".join(r.backend if r.available else f"{r.backend} (not measured: {r.reason})"
                    for r in results) + ".",
        "",
        f"Voices: speakerbox 1.2.0's diarized.zip — {len(people)} Seattle city council "
        f"members, {len(utts)} utterances of ≥ {MIN_UTTERANCE_S:g} s "
        f"({sum(u.seconds for u in utts) / 60:.1f} min) from "
        f"{len({u.meeting for u in utts})} meetings; pyannote.audio's sample.wav; two CMU "
        "ARCTIC sentences. Fetched from PyPI by scripts/fetch-test-speech.sh.",
        "",
        "## Summary",
        "",
        "| backend | EER all pairs (95 % interval) | EER cross-meeting (95 % interval) "
        "| same / different person (mean cosine) "
        "| top-1 (centroid) | end to end: right / wrong / review / unknown | never enrolled "
        "named | CPU s per 10 s | speaker worker peak | tree peak, speaker stage |",
        "|---|---:|---:|---|---:|---|---:|---:|---:|---:|",
    ]
    for r in measured:
        p = r.pairs
        assert p is not None
        right, tried = p.top1["centroid"]
        e = r.e2e
        e2e = (f"{e.counts.right}/{e.counts.enrolled} / {e.counts.wrong} / {e.counts.review} / "
               f"{e.counts.unknown}" if e else "–")
        lines.append(
            f"| {r.backend} | {pct(p.eer_all)} ({span(p.eer_all_interval)}) | "
            f"{pct(p.eer_cross)} ({span(p.eer_cross_interval)}) | {p.same_mean:.3f} / "
            f"{p.different_mean:.3f} | {right}/{tried} | {e2e} | "
            f"{f'{e.counts.stranger_named}/{e.counts.strangers}' if e else '–'} | "
            f"{r.cpu_per_10s:.2f} | {f'{e.worker_peak_mb:.0f} MB' if e else '–'} | "
            f"{f'{e.identify_tree_peak_mb:.0f} MB' if e else '–'} |")
    for r in results:
        if not r.available:
            lines.append(f"| {r.backend} | not measured: {r.reason} | | | | | | | | |")
    lines += ["", "Targets (issue 11): ≥ 95 % of enrolled people's talks under their own name, "
              "0 under a wrong name, 0 never-enrolled voices named, EER ≤ 2 % cross-meeting, "
              "speaker stage ≤ 300 MB tree peak and ≤ 0.5 s CPU per 10 s of audio. The EER "
              f"intervals: the utterances resampled with replacement {BOOTSTRAP_ROUNDS} times "
              "(a bootstrap); a difference inside them is not one this data can tell apart.",
              ""]
    for r in measured:
        lines += _backend_section(r)
    if scenario is not None:
        lines += _scenario_section(scenario, measured)
    return "\n".join(lines) + "\n"


def _cores() -> int:
    import os

    return os.cpu_count() or 0


def _backend_section(r: BackendResult) -> list[str]:
    p = r.pairs
    assert p is not None
    lines = [f"## {r.backend}", "",
             f"Embeddings: EER {pct(p.eer_all)} over all pairs (at cosine {p.eer_all_at:.3f}; "
             f"95 % interval {span(p.eer_all_interval)} %), {pct(p.eer_cross)} over "
             f"cross-meeting pairs (at {p.eer_cross_at:.3f}; {span(p.eer_cross_interval)} %); "
             "pairs: "
             + ", ".join(f"{k} {v}" for k, v in p.pairs.items()) + ". Top-1 against the other "
             "meetings: " + ", ".join(f"{m} {a}/{b}" for m, (a, b) in p.top1.items())
             + f". CPU {r.cpu_per_10s:.2f} s per 10 s of audio (model load "
             f"{r.load_cpu_s:.2f} s).", ""]
    for label, sets in r.small.items():
        lines.append(f"- {label}: same person {spread(sets['same'])}; different "
                     f"{spread(sets['different'])}")
    lines += ["", "Talk-level scores in the calibration rotations (the mean over the samples "
              "that hear a talk's voice, as decide() sees it; min / median / max):", "",
              "| scoring | right person | best other (wrong or not enrolled) | lead of the "
              "right person | suggested threshold / unknown_below / margin |",
              "|---|---|---|---|---|"]
    for method, scores in r.calibration.items():
        s = r.suggested[method]
        lines.append(f"| {method} | {spread(scores.own)} | {spread(scores.impostor)} | "
                     f"{spread(scores.gap)} | {s.threshold} / {s.unknown_below} / "
                     f"{s.margin} |")
    c = CALIBRATED[r.backend]
    lines += ["", f"In force (speakers/calibration.py): threshold {c.threshold}, unknown_below "
              f"{c.unknown_below}, margin {c.margin}, min_agreement {MIN_AGREEMENT}.", "",
              "Simulated decisions (enrolled talks: right | wrong | review | unknown; "
              "never-enrolled talks: named | review | unknown):", "",
              "| scoring | library and rules | right | wrong | review | unknown | named | "
              "review | unknown |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for method, table in r.simulated.items():
        for label, counts in table.items():
            lines.append(f"| {method} | {label} | {counts.row()} |")
    lines += ["", "Talks with other voices in them (simulated, all rotations, centroid, rules "
              "in force): a host's introduction fills the first of the 5 samples, questions "
              "from two other people the last; the speaker's own samples are 20 s windows of "
              f"their speech in the meeting (talks of ≥ {MIN_FRAMED_SPEECH_S:g} s whose "
              "meeting has 3 other voices). decide() scores the samples that hear the talk's "
              "voice.", "",
              "| other voices | right | wrong | review | unknown | named | review | unknown |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for frame, counts in r.framed.items():
        lines.append(f"| {frame} | {counts.row()} |")
    if r.e2e is not None:
        e = r.e2e
        lines += ["", f"End to end (`talks --batch`, {e.files} talks, {e.wall_s:.0f} s "
                  f"wall): speaker worker peak {e.worker_peak_mb:.0f} MB (its own high-water "
                  f"mark), process tree during the speaker stage {e.identify_tree_peak_mb:.0f} "
                  f"MB; the talks' samples took {e.cpu_per_10s:.2f} s CPU per 10 s of speech "
                  f"(the first talk also embedded the library: {e.clip_cpu_s:.1f} s CPU).", "",
                  "| talk | truth | decision | filed as |", "|---|---|---|---|"]
        for name, (truth, kind, speaker) in sorted(e.outcomes.items()):
            lines.append(f"| {name} | {truth or 'never enrolled'} | {kind} | {speaker} |")
    lines.append("")
    return lines


def _scenario_section(scenario: Scenario, measured: Sequence[BackendResult]) -> list[str]:
    enrolled = sorted({t for t in scenario.truth.values() if t})
    return ["## The end-to-end scenario", "",
            f"Enrolled from meeting {E2E_MEETING}: {', '.join(enrolled)} (each utterance of "
            "theirs there is a clip, in a folder per person). Never enrolled: "
            f"{', '.join(person_name(s) for s in STRANGERS)}. Each talk is one person's "
            f"speech in one other meeting (≥ {MIN_TALK_SPEECH_S:g} s), as an mp3: "
            f"{MUSIC_S:g} s of music, {SILENCE_S:g} s of silence, the utterances with "
            f"{PAUSE_S:g} s pauses, {TAIL_S:g} s of silence. {len(scenario.truth)} talks, "
            f"{sum(1 for t in scenario.truth.values() if t)} by enrolled people. The program "
            "runs with its defaults (tiny.en, 5 samples × 20 s of speech, the backend's "
            "calibrated thresholds).", ""]


def to_json(results: Sequence[BackendResult]) -> dict:
    out = {}
    for r in results:
        if not r.available:
            out[r.backend] = {"available": False, "reason": r.reason}
            continue
        p = r.pairs
        assert p is not None
        entry = {"eer_all": p.eer_all, "eer_cross_meeting": p.eer_cross,
                 "eer_all_interval_95": p.eer_all_interval,
                 "eer_cross_meeting_interval_95": p.eer_cross_interval,
                 "same_mean": p.same_mean, "different_mean": p.different_mean,
                 "top1": p.top1, "cpu_s_per_10s": r.cpu_per_10s,
                 "suggested": {m: vars(s) for m, s in r.suggested.items()},
                 "framed_talks": {f: vars(c) for f, c in r.framed.items()},
                 "in_force": vars(CALIBRATED[r.backend])}
        if r.e2e is not None:
            entry["end_to_end"] = {**vars(r.e2e.counts), "worker_peak_mb": r.e2e.worker_peak_mb,
                                   "identify_tree_peak_mb": r.e2e.identify_tree_peak_mb,
                                   "cpu_s_per_10s_speech": r.e2e.cpu_per_10s}
        out[r.backend] = entry
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--no-e2e", action="store_true", help="skip the talks --batch runs")
    args = parser.parse_args(argv)
    began = time.monotonic()
    utts = council_utterances()
    audio = {u.path: read_all(u.path) for u in utts}
    scenario = None if args.no_e2e else build_scenario(utts, audio)
    results = []
    for backend in args.backends.split(","):
        print(f"{backend} …", flush=True)
        results.append(measure(backend, utts, audio, scenario))
    text = report(results, utts, time.monotonic() - began, scenario)
    print(text)
    RESULTS_MD.write_text(text, encoding="utf-8")
    RESULTS_JSON.write_text(json.dumps(to_json(results), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
