"""Names made from content are untrusted: titles and speaker names come from speech and
people, original names from anywhere (a file name may even hold bytes that are not UTF-8).
Whatever they are, the file names made from them stay inside the output root, are NFC, fit in
255 bytes of UTF-8, hold no control characters or reserved names, and do not depend on
whether the input was composed (NFC) or decomposed (NFD)."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from common.names import sanitize_component
from pipeline.config.settings import Config, OutputConfig
from pipeline.filing.place import FORMATS, base_stem, names_for
from speakers.library import LibraryError, check_name

RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
            *(f"lpt{i}" for i in range(10))}
# Text as it comes: any code point (surrogates too, as undecodable file-name bytes give),
# with the troublemakers made likely.
TROUBLE = st.sampled_from(["/", "\\", "..", ".", ":", "*", "?", "\"", "<", ">", "|", "\x00",
                           "\n", "\t", "\x85", "\u202e", "\u200d", "\u2028", "e\u0301",
                           "\U0001F600", "CON", "nul", "COM1", " ", "~", "\udcff"])
TEXT = st.lists(st.one_of(st.text(max_size=40), TROUBLE), max_size=30).map("".join)
PROPS = settings(max_examples=300, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])


def is_safe_component(name: str) -> None:
    assert name and name not in (".", "..")
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert unicodedata.is_normalized("NFC", name)
    assert len(name.encode("utf-8")) <= 255
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in name)
    assert name.split(".")[0].strip().lower() not in RESERVED
    assert not name.startswith(".") and name == name.rstrip(". ")


@PROPS
@given(TEXT)
@example("CON.mp3")
@example("CON:.0")
@example("Re\u0301sume\u0301 " * 40)
@example("\u202egnp.exe")
def test_a_component_is_safe_and_the_same_for_nfc_and_nfd(text):
    name = sanitize_component(text)
    is_safe_component(name)
    assume("\udcff" not in text)  # a lone surrogate has no NFD form to compare with
    assert sanitize_component(unicodedata.normalize("NFD", text)) == \
        sanitize_component(unicodedata.normalize("NFC", text)) == name


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Config:
    return Config(output=OutputConfig(root=tmp_path_factory.mktemp("root") / "out"))


@PROPS
@given(speaker=TEXT, title=TEXT, year=st.integers(1900, 2100),
       ext=st.sampled_from([".mp3", ".m4a", ".wav", ".opus"]))
def test_filed_names_stay_inside_the_root(config, speaker, title, year, ext):
    stem = base_stem(speaker, title)
    for variant in (stem, f"{stem} (9999)"):  # the longest a name-clash suffix makes
        names = names_for(config, year, speaker, title, ext, variant)
        root = config.output.root.resolve()
        for path in names.all_paths():
            assert root in path.resolve().parents
            for part in path.relative_to(root).parts:
                is_safe_component(part)
        assert set(names.transcripts) == set(FORMATS)
    nfd = base_stem(unicodedata.normalize("NFD", speaker), unicodedata.normalize("NFD", title))
    if "\udcff" not in speaker + title:
        assert nfd == stem


@PROPS
@given(TEXT)
def test_an_original_name_for_the_raw_backup_is_safe(text):
    """raw/YEAR/<original name>: the name on disk may be anything the file system allowed."""
    stem = Path(os.fsdecode(os.fsencode(text.replace("/", "_")) or b"x")).stem
    is_safe_component(sanitize_component(stem, "recording") + ".mp3")


@PROPS
@given(TEXT)
def test_a_speaker_name_is_refused_or_safe_and_composition_does_not_matter(text):
    try:
        name = check_name(text)
    except LibraryError:
        name = None
    if name is not None:
        is_safe_component(name)
    if "\udcff" in text:
        return
    try:
        decomposed = check_name(unicodedata.normalize("NFD", text))
    except LibraryError:
        decomposed = None
    assert decomposed == name
