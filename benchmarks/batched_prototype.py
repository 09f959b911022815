"""Issue 34: a measured prototype of batched decoding without timestamps (not a pipeline path).

One process, tiny.en through CTranslate2 (int8, 2 cores), one talk, each variant timed with
the model already loaded:

- `engine`: today's path: the faster-whisper engine as the worker creates it (two streams of
  one core each), the talk's 300-s chunks planned and heard as the worker hears them
  (decode the chunk, the engine's windows with timestamps and the cursor, repetition loops
  dropped, cues repaired);
- `nots-1by1` / `nots-enc8`: the same chunks, each chunk's speech (the VAD's stretches, a
  stretch over 30 s split at its longest pause) packed into independent windows of up to
  30 s, 8 windows decoded by one batched `generate` without timestamps; the word times come
  from CTranslate2's cross-attention alignment (`Whisper.align`) and make cues of at most
  CUE_SECONDS. `1by1`: each window through the encoder alone (the engine's way, for
  memory); `enc8`: 8 windows through the encoder at once; `align1`: as `1by1`, but each
  window aligned on its own (the alignment's cross-attention held for one window);
  `b4-align1`: as `align1`, 4 windows decoded at once;
- `fw-batched`: faster-whisper's BatchedInferencePipeline, batch 8, on the file, as a user
  runs it (benchmarks/engine_whole.py's settings).

For each: transcription time, WER (the suite's normalisation, benchmarks/measure.score), the
process's peak RSS above its RSS before the variant (the kernel's high-water mark, reset
through /proc/self/clear_refs), and for the prototype the cue checks of
pipeline/filing/cues.py. Run: python -m benchmarks.batched_prototype [AUDIO] --reps 2
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.measure import score
from benchmarks.paths import BENCH_DIR, WORK_DIR

DEFAULT_AUDIO = WORK_DIR / "recordings" / "talk-600s-seed0.mp3"
MODEL = "tiny.en"
THREADS = 2
BATCH = 8
CHUNK_SECONDS = 300.0  # the worker's default chunk
CUE_SECONDS = 7.0  # a cue is cut before it would run longer than this
ENCODER_FRAMES_PER_SECOND = 50  # encoder positions a second: 16 kHz / 160 hop / stride 2


# --- memory: the kernel's high-water mark, reset per variant ------------------------------

def _status_kb(field_name: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field_name}")


def start_peak() -> int:
    """Give back free heap pages and reset the high-water mark; the RSS (kB) from here."""
    from pipeline.run.memory import return_freed_memory

    gc.collect()
    return_freed_memory()
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # 5: reset the peak RSS to the current RSS (Linux >= 4.0)
    return _status_kb("VmRSS")


def peak_delta_mb(rss_before_kb: int) -> float:
    return (_status_kb("VmHWM") - rss_before_kb) / 1024


# --- the prototype: windows at pauses, no timestamps, times from the alignment -----------

@dataclass
class Phases:
    """Seconds spent in each part of the prototype, summed over the chunks."""

    audio: float = 0.0
    vad_and_mels: float = 0.0
    encode: float = 0.0
    generate: float = 0.0
    align: float = 0.0
    cues: float = 0.0
    windows: int = 0
    fallbacks: int = 0
    # How far the process's high-water mark rose (MB) during each part: where the peak is.
    peak_rise_mb: dict[str, float] = field(default_factory=dict)
    _hwm_kb: int = 0

    def add(self, name: str, began: float) -> float:
        now = time.perf_counter()
        setattr(self, name, getattr(self, name) + now - began)
        hwm = _status_kb("VmHWM")
        if self._hwm_kb:
            rise = (hwm - self._hwm_kb) / 1024
            self.peak_rise_mb[name] = round(self.peak_rise_mb.get(name, 0.0) + rise, 1)
        self._hwm_kb = hwm
        return time.perf_counter()


@dataclass
class Word:
    start: float  # seconds from the start of the window's audio (pauses removed)
    end: float
    text: str


def words_of(tokenizer, tokens: Sequence[int], alignment) -> list[Word]:
    """Word times from one window's alignment: a token's time is where the alignment path
    first reaches it; a word runs from its first token's time to the next word's."""
    words, word_tokens = tokenizer.split_to_word_tokens([*tokens, tokenizer.eot])
    if len(word_tokens) <= 1 or not alignment.alignments:
        return []
    path = np.asarray(alignment.alignments)
    text_index, time_index = path[:, 0], path[:, 1]
    reached = np.concatenate(([True], np.diff(text_index) != 0))
    token_times = time_index[reached] / ENCODER_FRAMES_PER_SECOND  # one per token, and eot
    bounds = np.concatenate(([0], np.cumsum([len(t) for t in word_tokens])))
    out = []
    for k, text in enumerate(words[:-1]):  # the last "word" is the end of text
        first, after = bounds[k], min(bounds[k + 1], len(token_times) - 1)
        out.append(Word(float(token_times[first]), float(token_times[after]), text))
    return out


def cues_of(words: Sequence[Word], to_chunk: Callable[[float, bool], float], offset: float,
            limit: float = CUE_SECONDS) -> list:
    """Cues of at most `limit` seconds of the window's audio, ended at a sentence's end when
    one comes after a second and a half, otherwise before the word that would overrun."""
    from pipeline.asr.base import Segment

    cues, held = [], []

    def close() -> None:
        if held:
            cues.append(Segment(offset + to_chunk(held[0].start, False),
                                offset + to_chunk(held[-1].end, True),
                                "".join(w.text for w in held).strip()))
            held.clear()

    for word in words:
        if held and word.end - held[0].start > limit:
            close()
        held.append(word)
        if word.text.rstrip().endswith((".", "?", "!")) and word.end - held[0].start >= 1.5:
            close()
    close()
    return cues


def no_timestamp_decoder(model, settings):
    """The engine's CTranslate2 windows (encoder, ladder, checks), asked for text only."""
    from pipeline.asr.faster_whisper_engine import _Ct2Windows

    class NoTimestamps(_Ct2Windows):
        def _prompts(self, count: int) -> list[list[int]]:
            prompt = self.model.get_prompt(self.tokenizer, [], without_timestamps=True)
            return [list(prompt) for _ in range(count)]

    return NoTimestamps(model, settings)


def encode_together(decoder, mels: Sequence[np.ndarray]) -> list[np.ndarray]:
    """All windows through the encoder in one pass (the engine sends one at a time)."""
    from faster_whisper.audio import pad_or_trim

    features = np.stack([pad_or_trim(np.ascontiguousarray(m.T)) for m in mels])
    return list(np.asarray(decoder.model.encode(features)))


def prototype_chunk(decoder, pcm: np.ndarray, offset: float, together: bool,
                    phases: Phases, align_batch: int = BATCH, batch_size: int = BATCH) -> list:
    """A chunk's cues, the prototype's way."""
    import ctranslate2

    from pipeline.asr.faster_whisper_engine import _one_array
    from pipeline.asr.lean_frontend import speech_stretches
    from pipeline.asr.pause_windows import pause_windows
    from pipeline.asr.windows import HOP, WINDOW_SECONDS, Window, fall_back

    began = time.perf_counter()
    stretches = speech_stretches(pcm, max_speech_s=WINDOW_SECONDS)
    windows = pause_windows(stretches)  # what the pipeline now does (pause_windows.py)
    # One floor for the chunk's speech (as a stream's frames are computed), each window a
    # slice of the frames: per-window floors let faint noise through (windows.py).
    mel = decoder.features(Window(tuple(stretches)).audio(pcm)) if stretches else None
    del pcm
    spans, at = [], 0
    for w in windows:
        n = w.samples // HOP
        spans.append((at, min(at + n, len(mel))))
        at += n
    began = phases.add("vad_and_mels", began)
    cues = []
    for first in range(0, len(windows), batch_size):
        batch = windows[first:first + batch_size]
        mels = [mel[a:b] for a, b in spans[first:first + batch_size]]
        encoded = encode_together(decoder, mels) if together else decoder.encode(mels)
        began = phases.add("encode", began)
        attempts = decoder.decode(encoded, decoder.ladder[0], 0)
        for i, attempt in enumerate(attempts):
            if not attempt.passes(decoder_checks()):
                phases.fallbacks += 1
                attempts[i] = fall_back(decoder, batch[i], encoded[i], offset, attempt,
                                         decoder_checks())
        began = phases.add("generate", began)
        spoken = [i for i, a in enumerate(attempts)
                  if not a.is_silence(decoder_checks()) and a.tokens]
        # The alignment holds the cross-attention of every window it is given at once (~25 MB
        # a window here): `align_batch` windows at a time.
        for part in range(0, len(spoken), align_batch):
            these = spoken[part:part + align_batch]
            tokens = [[t for t in attempts[i].tokens if t < decoder.eot] for i in these]
            alignments = decoder.model.model.align(
                ctranslate2.StorageView.from_array(_one_array([encoded[i] for i in these])),
                decoder.tokenizer.sot_sequence, tokens,
                [len(mels[i]) for i in these])
            began = phases.add("align", began)
            for i, toks, alignment in zip(these, tokens, alignments, strict=True):
                words = words_of(decoder.tokenizer, toks, alignment)
                cues += cues_of(words, batch[i].chunk_time, offset)
            began = phases.add("cues", began)
        phases.windows += len(batch)
        del encoded
    return cues


def decoder_checks():
    from pipeline.asr.windows import WHISPER_CHECKS

    return WHISPER_CHECKS


# --- the variants ---------------------------------------------------------------------------

@dataclass
class Result:
    variant: str
    rep: int
    seconds: float
    peak_delta_mb: float
    load_before: float
    load_after: float
    wer: float
    errors: int
    words: int
    cues: int = 0
    cue_notes: int = 0  # what pipeline.filing.cues.repair had to change
    cue_problems: int = 0  # what its check still finds after repair
    longest_cue_s: float = 0.0
    median_cue_s: float = 0.0
    phases: dict = field(default_factory=dict)


def plan(audio: Path, duration: float) -> list[tuple[float, float]]:
    from common.media import decode_range
    from pipeline.stages.chunking import plan_chunks, quietest_point

    return plan_chunks(duration, CHUNK_SECONDS,
                       lambda lo, hi: quietest_point(decode_range(audio, lo, hi - lo), lo))


def run_engine(engine, audio: Path, chunks) -> tuple[list, Phases | None]:
    from common.media import decode_range
    from pipeline.filing.cues import repair
    from pipeline.stages.chunking import drop_repetition_loops

    segments = []
    for start, end in chunks:
        found = engine.transcribe(decode_range(audio, start, end - start), offset=start)
        segments += repair(drop_repetition_loops(found), duration=end, floor=start).segments
    return segments, None


def run_prototype(decoder, audio: Path, chunks, together: bool,
                  align_batch: int = BATCH, batch_size: int = BATCH) -> tuple[list, Phases]:
    from common.media import decode_range

    phases = Phases(_hwm_kb=_status_kb("VmHWM"))
    segments = []
    for start, end in chunks:
        began = time.perf_counter()
        pcm = decode_range(audio, start, end - start)
        phases.add("audio", began)
        segments += prototype_chunk(decoder, pcm, start, together, phases, align_batch,
                                    batch_size)
    return segments, phases


def run_fw_batched(model, audio: Path) -> tuple[list, Phases | None]:
    from faster_whisper import BatchedInferencePipeline

    from pipeline.asr.base import Segment

    found, _ = BatchedInferencePipeline(model).transcribe(
        str(audio), language="en", beam_size=1, best_of=1, batch_size=BATCH)
    return [Segment(s.start, s.end, s.text.strip()) for s in found], None


def measure(name: str, rep: int, work: Callable[[], tuple[list, Phases | None]],
            spoken: str, duration: float) -> Result:
    from pipeline.filing.cues import check, repair

    load_before = os.getloadavg()[0]
    rss = start_peak()
    began = time.perf_counter()
    segments, phases = work()
    seconds = time.perf_counter() - began
    peak = peak_delta_mb(rss)
    errors = score(spoken, " ".join(s.text for s in segments))
    repaired = repair(segments, duration=duration)
    lengths = sorted(s.end - s.start for s in repaired.segments) or [0.0]
    result = Result(name, rep, round(seconds, 2), round(peak, 1), load_before,
                    os.getloadavg()[0], round(100 * errors.wer, 2),
                    errors.substitutions + errors.deletions + errors.insertions,
                    errors.reference_words, len(segments), len(repaired.notes),
                    len(check(repaired.segments, duration)), round(lengths[-1], 2),
                    round(lengths[len(lengths) // 2], 2),
                    {k: round(v, 2) if isinstance(v, float) else v
                     for k, v in vars(phases).items() if not k.startswith("_")}
                    if phases else {})
    if rep == 0:  # the cues themselves, once, to compare the variants' times by eye
        result.phases["first_cues"] = [(round(s.start, 2), round(s.end, 2), s.text)
                                       for s in repaired.segments[:25]]
    print(json.dumps({k: v for k, v in vars(result).items() if k != "phases"}
                     | {"phases": {k: v for k, v in result.phases.items()
                                   if k != "first_cues"}}), flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("audio", type=Path, nargs="?", default=DEFAULT_AUDIO)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--variants", default="",
                        help="comma-separated names to run (default: all)")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "batched_prototype.json")
    args = parser.parse_args(argv)
    audio: Path = args.audio
    reference = audio.with_suffix(".txt")
    if not audio.is_file() or not reference.is_file():
        parser.error(f"{audio} and its reference {reference.name} beside it are needed: make "
                     "them with `make bench` (benchmarks/recordings.py) or give another talk.")
    spoken = reference.read_text()

    from faster_whisper import WhisperModel

    from common.media import measure_duration
    from pipeline.asr import create_engine
    from pipeline.asr.base import EngineSettings

    duration = measure_duration(audio)
    chunks = plan(audio, duration)
    cache = Path("~/.cache/talks/models").expanduser()
    # Today's default for 2 cores: two streams, batch 1 (pipeline/config/speed.py).
    engine = create_engine("faster-whisper", MODEL, cache, False, "en", THREADS, "int8", 1, 1,
                           batch_size=1, streams=2)
    engine.load()
    # One CTranslate2 worker on both cores for the batched variants, the same int8 weights.
    model = WhisperModel(engine._weights(), device="cpu", compute_type="int8",
                         cpu_threads=THREADS, num_workers=1, local_files_only=True)
    decoder = no_timestamp_decoder(model, EngineSettings(
        model_dir=engine._weights(), language="en", threads=THREADS, compute_type="int8",
        beam_size=1))
    variants: list[tuple[str, Callable[[], tuple[list, Phases | None]]]] = [
        ("engine", lambda: run_engine(engine, audio, chunks)),
        ("nots-1by1", lambda: run_prototype(decoder, audio, chunks, together=False)),
        ("nots-enc8", lambda: run_prototype(decoder, audio, chunks, together=True)),
        ("fw-batched", lambda: run_fw_batched(model, audio)),
        ("nots-align1", lambda: run_prototype(decoder, audio, chunks, together=False,
                                              align_batch=1)),
        ("nots-b4-align1", lambda: run_prototype(decoder, audio, chunks, together=False,
                                                 align_batch=1, batch_size=4)),
    ]
    if args.variants:
        variants = [v for v in variants if v[0] in args.variants.split(",")]
    results = []
    for rep in range(args.reps):
        order = variants if rep % 2 == 0 else variants[::-1]  # alternate: drift evens out
        results += [measure(name, rep, work, spoken, duration) for name, work in order]
    args.out.write_text(json.dumps({
        "audio": str(audio.name), "duration_s": duration, "chunks": chunks,
        "model": MODEL, "threads": THREADS, "batch": BATCH, "cpus": os.cpu_count(),
        "results": [vars(r) for r in results]}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
