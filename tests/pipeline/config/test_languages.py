"""The languages a person sets: Whisper's codes (held to the engines' own lists), a wrong
code said with what was meant, `[input] languages` validated, written and read back with the
file's comments, and the folder nearest a recording deciding its language."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from pipeline.config.languages import (
    WHISPER_LANGUAGES,
    close_codes,
    language_for_folder,
    language_name,
    meant,
)
from pipeline.config.settings import ConfigError, from_dict, load_config, to_dict
from pipeline.config.toml_file import write_changes, write_new
from tests.support.paths import ROOT


def test_the_codes_are_whispers_own_as_the_engine_knows_them():
    # (mlx-whisper's list is the same 100; importing it costs 2 s of mlx here.)
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    assert set(WHISPER_LANGUAGES) == set(_LANGUAGE_CODES)
    assert len(WHISPER_LANGUAGES) == 100
    assert language_name("fr") == "French" and language_name("yue") == "Cantonese"
    assert language_name("xx") == "xx"  # shown as it is, never a KeyError


def test_loading_the_config_imports_no_speech_engine():
    # `talks --help` loads the config module: the codes must not cost a faster-whisper import.
    done = subprocess.run([sys.executable, "-c", "import sys, pipeline.config.settings; "
                           "print(sorted(m for m in sys.modules if 'whisper' in m))"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(("typed", "codes"), [
    ("FR", ["fr"]), ("french", ["fr"]), ("Spanish", ["es"]), ("en-US", ["en"]),
    ("pt_BR", ["pt"]), ("germn", ["de"]), ("xx", []),
])
def test_what_a_person_meant_by_a_wrong_code(typed, codes):
    assert close_codes(typed)[:len(codes) or None] == codes
    if codes:
        assert meant(typed).startswith(f'did you mean "{codes[0]}" ({language_name(codes[0])})')
    else:
        assert meant(typed) == ""


def test_the_config_refuses_a_language_whisper_does_not_know_saying_what_to_write(tmp_path):
    data = {"input": {"languages": {"spanish-mass": "spanish", " ": "fr", "cours": "fr"}},
            "transcription": {"language": "FR"}}
    with pytest.raises(ConfigError) as info:
        from_dict(data, tmp_path)
    said = [str(p) for p in info.value.problems]
    assert said == [
        "transcription.language = 'FR': must be \"auto\" or one of Whisper's language codes, "
        "like \"en\", \"fr\" or \"es\" (`talks language --list` lists them); did you mean "
        "\"fr\" (French)?",
        "input.languages = {'spanish-mass': 'spanish'}: the language of 'spanish-mass' must be "
        "one of Whisper's language codes, like \"en\", \"fr\" or \"es\" (`talks language "
        "--list` lists them); did you mean \"es\" (Spanish)?",
        "input.languages = {' ': 'fr'}: each folder must have a name or a path"]
    with pytest.raises(ConfigError) as info:
        from_dict({"input": {"languages": "es"}}, tmp_path)
    assert str(info.value.problems[0]) == ("input.languages = 'es': must be a table of names "
                                           "and strings, like {\"spanish-mass\" = \"es\"}")
    assert from_dict({"transcription": {"language": "auto"}}, tmp_path).transcription.language \
        == "auto"


def test_the_bundled_config_shows_the_key_commented_out_and_it_loads_as_written():
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    example = next(line for line in text.splitlines() if line.startswith("# languages = "))
    table = tomllib.loads(example.removeprefix("# "))["languages"]
    assert table == {"spanish-mass": "es", "guest lectures/fr": "fr"}
    assert load_config(ROOT / "config.toml").input.languages == {}
    assert from_dict({"input": {"languages": table}}, ROOT).input.languages == table


def test_a_table_is_written_on_its_keys_line_and_edited_keeping_the_comments(tmp_path):
    path = tmp_path / "config.toml"
    config = from_dict({"input": {"languages": {"spanish-mass": "es"}}}, tmp_path, source=path)
    write_new(config, path)
    text = path.read_text(encoding="utf-8")
    assert 'languages = {spanish-mass = "es"}' in text  # in [input], not a [input.languages]
    assert "[input.languages]" not in text
    assert load_config(path).input.languages == {"spanish-mass": "es"}
    path.write_text("[input]\n# my folders\nfolders = [\"inbox\"]  # mine\n", encoding="utf-8")
    old = load_config(path)
    new = from_dict({"input": {"folders": ["inbox"],
                               "languages": {"guest lectures/fr": "fr", "mass": "es"}}},
                    tmp_path, source=path)
    write_changes(path, old, new)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("[input]\n# my folders\nfolders = [\"inbox\"]  # mine\n")
    assert 'languages = {"guest lectures/fr" = "fr", mass = "es"}' in text
    assert to_dict(load_config(path)) == to_dict(new)


def test_the_folder_nearest_the_recording_decides_its_language(tmp_path):
    config = from_dict({"input": {"languages": {
        "spanish-mass": "es",          # a folder's name, at any depth
        "fr": "de",                    # … even one as short as this
        "guest lectures/fr": "fr",     # a path of folders: the deeper key wins on one folder
        str(tmp_path / "in" / "Archiv"): "de",  # a whole path
    }}}, tmp_path)
    inbox = tmp_path / "in"
    cases = {
        "spanish-mass/2019/mass.mp3": "es",
        "Spanish-Mass/mass.mp3": "es",                        # a Mac's disk ignores case
        "guest lectures/fr/talk.mp3": "fr",
        "other/fr/talk.mp3": "de",
        "spanish-mass/guest lectures/fr/talk.mp3": "fr",      # nearest folder, not first key
        "guest lectures/fr/spanish-mass/talk.mp3": "es",
        "Archiv/1998/talk.mp3": "de",
        "talk.mp3": None,
        "spanish-massive/talk.mp3": None,                     # a name is whole, not a piece
    }
    for where, code in cases.items():
        assert language_for_folder(config, inbox / where) == code, where
    assert language_for_folder(from_dict({}, tmp_path), inbox / "fr" / "talk.mp3") is None
    assert language_for_folder(config, Path("/elsewhere/Archiv/talk.mp3")) is None
