"""Which language a talk is spoken in, heard once from its opening minutes.

Whisper's multilingual models name the language of 30 s of audio from one pass of their
encoder. A talk is heard that way once, before its chunks, by base (installed offline with
talks, and multilingual): the speech detector finds the speech in the opening minutes, a few
stretches of it spread over them fill one 30 s window, and that window's languages, ranked,
are the answer. Music, a silent intro or applause before the talk never reach the window.

`detect_language` runs in a worker process (numpy and CTranslate2 are imported there only);
the names and codes below are light enough for any process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

DETECTION_MODEL = "base"  # multilingual, and installed with talks (pipeline/asr/models.py)
OPENING_SECONDS = 360.0  # the speech is looked for in this much of the start
WINDOW_SECONDS = 30.0  # what Whisper's encoder hears at once
PIECES = 3  # at least this many stretches of speech, spread over the opening minutes
MIN_STRETCH_SECONDS = 1.0  # shorter bursts are coughs, clicks and single words

# Whisper's language codes, the language's three-letter ISO 639-2 code (the terminology one,
# as ISO 639-3 has it: what ID3's TLAN frame and taggers such as Picard write) and its name.
_TABLE = """
af afr Afrikaans|am amh Amharic|ar ara Arabic|as asm Assamese|az aze Azerbaijani
ba bak Bashkir|be bel Belarusian|bg bul Bulgarian|bn ben Bengali|bo bod Tibetan
br bre Breton|bs bos Bosnian|ca cat Catalan|cs ces Czech|cy cym Welsh|da dan Danish
de deu German|el ell Greek|en eng English|es spa Spanish|et est Estonian|eu eus Basque
fa fas Persian|fi fin Finnish|fo fao Faroese|fr fra French|gl glg Galician|gu guj Gujarati
ha hau Hausa|haw haw Hawaiian|he heb Hebrew|hi hin Hindi|hr hrv Croatian
ht hat Haitian Creole|hu hun Hungarian|hy hye Armenian|id ind Indonesian|is isl Icelandic
it ita Italian|ja jpn Japanese|jw jav Javanese|ka kat Georgian|kk kaz Kazakh|km khm Khmer
kn kan Kannada|ko kor Korean|la lat Latin|lb ltz Luxembourgish|ln lin Lingala|lo lao Lao
lt lit Lithuanian|lv lav Latvian|mg mlg Malagasy|mi mri Maori|mk mkd Macedonian
ml mal Malayalam|mn mon Mongolian|mr mar Marathi|ms msa Malay|mt mlt Maltese|my mya Burmese
ne nep Nepali|nl nld Dutch|nn nno Norwegian Nynorsk|no nor Norwegian|oc oci Occitan
pa pan Punjabi|pl pol Polish|ps pus Pashto|pt por Portuguese|ro ron Romanian|ru rus Russian
sa san Sanskrit|sd snd Sindhi|si sin Sinhala|sk slk Slovak|sl slv Slovenian|sn sna Shona
so som Somali|sq sqi Albanian|sr srp Serbian|su sun Sundanese|sv swe Swedish|sw swa Swahili
ta tam Tamil|te tel Telugu|tg tgk Tajik|th tha Thai|tk tuk Turkmen|tl tgl Tagalog
tr tur Turkish|tt tat Tatar|uk ukr Ukrainian|ur urd Urdu|uz uzb Uzbek|vi vie Vietnamese
yi yid Yiddish|yo yor Yoruba|zh zho Chinese|yue yue Cantonese
"""


def _parse(table: str) -> dict[str, tuple[str, str]]:
    rows = (entry.split(" ", 2) for entry in table.replace("\n", "|").split("|") if entry)
    return {code: (three, name) for code, three, name in rows}


_LANGUAGES = _parse(_TABLE)
LANGUAGE_CODES = tuple(_LANGUAGES)  # every language Whisper knows, by its code


def is_language_code(code: str) -> bool:
    return code in _LANGUAGES


def language_name(code: str) -> str:
    """The language's English name ("fr" -> "French"); an unknown code as it is."""
    return _LANGUAGES[code][1] if code in _LANGUAGES else code


def iso639_2(code: str) -> str:
    """The three-letter code taggers write ("fr" -> "fra"); "" for an unknown code."""
    return _LANGUAGES[code][0] if code in _LANGUAGES else ""


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

    from common.media import SAMPLE_RATE, decode_range
    from pipeline.asr.lean_frontend import log_mel, speech_stretches
    from pipeline.asr.models import resolve_ct2_model
    from pipeline.asr.windows import HOP, N_FFT

    # Only the opening minutes are decoded: a talk's language is settled by then, and a
    # two-hour file costs no more than a short one (360 s of samples: 23 MB).
    opening = min(duration, OPENING_SECONDS) if duration > 0 else OPENING_SECONDS
    pcm = decode_range(path, 0.0, opening)
    # Stretches no longer than a piece, so that even unbroken speech gives several to spread.
    stretches = [(a, b) for a, b in speech_stretches(pcm, max_speech_s=WINDOW_SECONDS / PIECES)
                 if b - a >= MIN_STRETCH_SECONDS * SAMPLE_RATE]
    window = listening_window(pcm, stretches, SAMPLE_RATE)
    del pcm
    # Never fetched: base comes from its PyPI packages, joined once into the cache.
    folder = resolve_ct2_model(DETECTION_MODEL, cache_dir, allow_download=False)
    model = ctranslate2.models.Whisper(folder, device="cpu", compute_type="int8",
                                       intra_threads=threads)
    from faster_whisper.feature_extractor import FeatureExtractor

    filters = FeatureExtractor(feature_size=model.n_mels).mel_filters
    frames = round(WINDOW_SECONDS * SAMPLE_RATE) // HOP
    mel = log_mel(window, filters, N_FFT, HOP, padding=HOP)[:, :frames]
    found = model.detect_language(ctranslate2.StorageView.from_array(
        np.ascontiguousarray(mel)[None]))[0]
    ranked = tuple((token.strip("<|>"), round(float(p), 4)) for token, p in found[:5])
    speech = sum(b - a for a, b in stretches) / SAMPLE_RATE
    return Heard(ranked[0][0], ranked[0][1], ranked, round(time.monotonic() - began, 3),
                 round(speech, 2))


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
