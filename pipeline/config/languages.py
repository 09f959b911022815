"""The languages Whisper knows, and the ones a person sets: per input folder
(`[input] languages`) or for one talk (`talks language`).

The codes are written out here rather than read from faster-whisper's tokenizer: the config is
loaded by every `talks` command, `talks --help` included, and must not import a speech engine
(tests/pipeline/config/test_languages.py holds this table to faster-whisper's list, which
mlx-whisper's matches). The names are for people: "fr" is shown as "French".
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.config.settings import Config

# Whisper's language codes (the 100 of its multilingual models) and their names in English.
WHISPER_LANGUAGES: Mapping[str, str] = {
    "af": "Afrikaans", "am": "Amharic", "ar": "Arabic", "as": "Assamese",
    "az": "Azerbaijani", "ba": "Bashkir", "be": "Belarusian", "bg": "Bulgarian",
    "bn": "Bengali", "bo": "Tibetan", "br": "Breton", "bs": "Bosnian", "ca": "Catalan",
    "cs": "Czech", "cy": "Welsh", "da": "Danish", "de": "German", "el": "Greek",
    "en": "English", "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian",
    "fi": "Finnish", "fo": "Faroese", "fr": "French", "gl": "Galician", "gu": "Gujarati",
    "ha": "Hausa", "haw": "Hawaiian", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian",
    "ht": "Haitian Creole", "hu": "Hungarian", "hy": "Armenian", "id": "Indonesian",
    "is": "Icelandic", "it": "Italian", "ja": "Japanese", "jw": "Javanese",
    "ka": "Georgian", "kk": "Kazakh", "km": "Khmer", "kn": "Kannada", "ko": "Korean",
    "la": "Latin", "lb": "Luxembourgish", "ln": "Lingala", "lo": "Lao", "lt": "Lithuanian",
    "lv": "Latvian", "mg": "Malagasy", "mi": "Maori", "mk": "Macedonian",
    "ml": "Malayalam", "mn": "Mongolian", "mr": "Marathi", "ms": "Malay", "mt": "Maltese",
    "my": "Burmese", "ne": "Nepali", "nl": "Dutch", "nn": "Norwegian Nynorsk",
    "no": "Norwegian", "oc": "Occitan", "pa": "Punjabi", "pl": "Polish", "ps": "Pashto",
    "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sa": "Sanskrit", "sd": "Sindhi",
    "si": "Sinhala", "sk": "Slovak", "sl": "Slovenian", "sn": "Shona", "so": "Somali",
    "sq": "Albanian", "sr": "Serbian", "su": "Sundanese", "sv": "Swedish", "sw": "Swahili",
    "ta": "Tamil", "te": "Telugu", "tg": "Tajik", "th": "Thai", "tk": "Turkmen",
    "tl": "Tagalog", "tr": "Turkish", "tt": "Tatar", "uk": "Ukrainian", "ur": "Urdu",
    "uz": "Uzbek", "vi": "Vietnamese", "yi": "Yiddish", "yo": "Yoruba", "yue": "Cantonese",
    "zh": "Chinese",
}

AUTO = "auto"  # [transcription] language: detect it from the talk's speech

# Who said which language a talk is in (the ledger's files.language_source).
SOURCES = {"detected": "detected from its speech",
           "folder": "set by its folder ([input] languages)",
           "config": "set by [transcription] language", "person": "set by a person"}


def is_language(code: str) -> bool:
    return code in WHISPER_LANGUAGES


def language_name(code: str) -> str:
    """"French" for "fr"; a code Whisper does not know is shown as it is."""
    return WHISPER_LANGUAGES.get(code, code)


def close_codes(text: str, count: int = 3) -> list[str]:
    """The codes a person may have meant by `text`: the code in other letters ("FR") or with
    a region ("en-US"), the code of a language named ("french"), then codes and names that
    look alike ("fe")."""
    import difflib  # only when a code was given wrong

    typed = text.strip().casefold()
    if typed in WHISPER_LANGUAGES:
        return [typed]
    region = typed.replace("_", "-").split("-")[0]  # "en-US", "pt_BR": Whisper has no regions
    if region in WHISPER_LANGUAGES:
        return [region]
    by_name = {name.casefold(): code for code, name in WHISPER_LANGUAGES.items()}
    if typed in by_name:
        return [by_name[typed]]
    found = [by_name[name] for name in difflib.get_close_matches(typed, by_name, count, 0.75)]
    alike = difflib.get_close_matches(typed, list(WHISPER_LANGUAGES), count + 3, 0.5)
    # A code mistyped keeps its first letter more often than not ("fe" was "fr").
    found += sorted(alike, key=lambda code: code[:1] != typed[:1])
    return list(dict.fromkeys(found))[:count]


CODES_HINT = ('one of Whisper\'s language codes, like "en", "fr" or "es" (`talks language '
              '--list` lists them)')


def meant(text: str) -> str:
    """'did you mean "fr" (French)' for a code given wrong, or "" when nothing is close."""
    close = close_codes(text)
    said = [f'"{c}" ({language_name(c)})' for c in close]
    if not said:
        return ""
    return "did you mean " + (", ".join(said[:-1]) + " or " if len(said) > 1 else "") + said[-1]


def _folder_key(key: str) -> tuple[str, ...]:
    """A key of `[input] languages` as the folder names it ends with, compared without case
    (a Mac's disk does not tell "Spanish" from "spanish"); an absolute key keeps its root."""
    path = Path(os.path.expanduser(key.strip()))
    return tuple(part.casefold() for part in path.parts)


def language_for_folder(config: Config, path: Path) -> str | None:
    """The language `[input] languages` sets for the recording at `path`, or None.

    A key is a folder's name ("spanish-mass": any folder of that name that holds the
    recording, however deep), a path of folders ("guest lectures/fr": folders ending so), or
    a whole path ("/Volumes/talks/es"). The folder nearest the recording wins; for one folder,
    the key naming more of its path."""
    parents = list(Path(path).parents)  # nearest first
    best: tuple[int, int, str] | None = None  # (depth from the recording, -key length, code)
    for key, code in config.input.languages.items():
        wanted = _folder_key(key)
        if not wanted:
            continue
        for depth, folder in enumerate(parents):
            parts = tuple(part.casefold() for part in folder.parts)
            whole = Path(wanted[0]).is_absolute()
            if (parts == wanted) if whole else parts[-len(wanted):] == wanted:
                found = (depth, -len(wanted), code)
                if best is None or found[:2] < best[:2]:
                    best = found
                break
    return best[2] if best else None
