"""Names that become file and folder names: made safe for every file system, and compared the
way a person reads them.

macOS hands out names in decomposed Unicode (NFD: "Zoë" as "Zoe" + a combining diaeresis)
while a keyboard types them composed (NFC). Both are the same name to a person, so names are
stored in NFC and compared after normalising.
"""

from __future__ import annotations

import re
import unicodedata

MAX_COMPONENT_BYTES = 120  # well under every file system's 255, leaving room for suffixes
_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])\s*(\..*)?$", re.IGNORECASE)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def same_name(a: str, b: str) -> bool:
    """True when two names read the same, whichever Unicode form each came in."""
    return nfc(a) == nfc(b)


def sanitize_component(text: str, fallback: str = "Untitled",
                       max_bytes: int = MAX_COMPONENT_BYTES) -> str:
    """One safe path component: no separators, no control or reserved characters, no leading
    dots (so never '..'), no trailing dots or spaces, at most `max_bytes` in UTF-8, NFC."""
    text = nfc(text)
    text = _FORBIDDEN.sub(" ", text)
    # Control and format characters (C1 controls, bidi overrides that make a name read
    # backwards, zero-width marks), line separators, and lone surrogates (undecodable bytes
    # of an original's name) have no place in a file name.
    text = "".join(" " if unicodedata.category(c) in _UNSAFE_CATEGORIES else c for c in text)
    text = " ".join(text.split())
    text = nfc(text.lstrip(". ").rstrip(". ,;:!-"))
    encoded = text.encode("utf-8")
    if len(encoded) > max_bytes:
        cut = encoded[:max_bytes].decode("utf-8", "ignore")
        # Prefer ending at a word boundary when one is reasonably close.
        if " " in cut[len(cut) // 2:]:
            cut = cut[: cut.rfind(" ")]
        text = nfc(cut).rstrip(". ,;:!-")
        while len(text.encode("utf-8")) > max_bytes:  # a cut between a letter and its accent
            text = text[:-1].rstrip(". ,;:!-")
    reserved = _RESERVED.match(text)
    if reserved:  # "CON.mp3" is as reserved as "CON" on Windows: "CON_.mp3"
        text = f"{reserved.group(1)}_{text[len(reserved.group(1)):]}"
    return text or fallback


def is_text(name: str) -> bool:
    """False for a name holding bytes that are not UTF-8 (a disk or zip from an older system
    that wrote names in Latin-1 or a Windows code page). Python keeps such bytes as lone
    surrogates, which no ledger, log, event file or terminal can take."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def readable(name: str) -> str:
    """The name as a person can be shown it: each byte that is not UTF-8 as `\\xff`."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def counted(count: int, one: str, many: str = "") -> str:
    """`1 clip`, `4 clips`, `1 person`, `2 people`: a number and its noun, agreeing."""
    return f"{count} {one if count == 1 else many or one + 's'}"
