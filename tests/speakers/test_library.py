"""The speaker library on disk: both layouts, unicode names, add/rename/merge/remove."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from common.media import probe
from speakers.library import LibraryError, SpeakerLibrary, check_name, person_of
from tests.support.paths import ROOT  # noqa: E402
from tests.support.speech import TALKS, make_long_talk, make_talk


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("src") / "clip.mp3"
    make_talk(path, TALKS["bees"][:2])
    return path


@pytest.fixture(scope="module")
def other_clip(tmp_path_factory) -> Path:
    """Another recording (other sentences) of the same voice."""
    path = tmp_path_factory.mktemp("src") / "other take.wav"
    make_talk(path, TALKS["bees"][2:4])
    return path


def cli(config: Path):
    def talks(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config), *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
    return talks


def files_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_both_layouts_and_unicode_names(tmp_path, clip):
    lib = tmp_path / "lib"
    (lib / "Zoë Ångström").mkdir(parents=True)
    for name in ("Anna Maria.mp3", "Anna Maria_1.mp3", "Anna Maria_2.wav", "Bob_3.m4a",
                 "Zoë Ångström/morning.wav", "Zoë Ångström/evening.mp3", "notes.txt",
                 ".hidden.mp3"):
        (lib / name).write_bytes(clip.read_bytes())
    (lib / "__pycache__").mkdir()
    people = {p.name: p for p in SpeakerLibrary(lib).people()}
    assert sorted(people) == ["Anna Maria", "Bob", "Zoë Ångström"]
    assert len(people["Anna Maria"].clips) == 3
    assert len(people["Zoë Ångström"].clips) == 2 and people["Zoë Ångström"].has_folder
    assert person_of(lib / "Bob_3.m4a", lib) == "Bob"


def test_names_that_are_not_utf8_are_left_out_and_said(tmp_path, clip):
    # Clips copied from an older system keep Latin-1 names ("Renée" with the byte 0xE9):
    # such a name cannot be a person's, and before it stopped every command (and every
    # talk's identify stage) on a UnicodeEncodeError.
    lib = tmp_path / "lib"
    folder = lib / os.fsdecode(b"Andr\xe9")
    folder.mkdir(parents=True)
    (folder / "one.mp3").write_bytes(clip.read_bytes())
    (lib / "Anna").mkdir()
    for name in (b"Ren\xe9e.mp3", b"Anna/caf\xe9.wav", b"Anna/good.mp3", b"notes \xe9.txt"):
        (lib / os.fsdecode(name)).write_bytes(clip.read_bytes())
    library = SpeakerLibrary(lib)
    people = library.people()
    assert [(p.name, [c.name for c in p.clips]) for p in people] == [("Anna", ["good.mp3"])]
    assert library.left_out() == [
        f"{shown} is left out of the speaker library: its name is not UTF-8 text; rename it."
        for shown in ("Andr\\xe9", "Anna/caf\\xe9.wav", "Ren\\xe9e.mp3")]
    config = tmp_path / "config.toml"
    config.write_text('[input]\nfolders = ["inbox"]\n[speakers]\nfolder = "lib"\n'
                      '[output]\nroot = "out"\n[logging]\nfile = "out/log"\n')
    (tmp_path / "inbox").mkdir()

    def talks(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config), *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)

    listed = talks("speakers", "list")
    assert listed.returncode == 0, listed.stderr
    assert "Ren\\xe9e.mp3 is left out of the speaker library" in listed.stdout
    assert "Anna: 1 clip, " in listed.stdout
    run = talks("--batch")  # each run says it, or the person would just go unrecognised
    assert run.returncode == 0, run.stderr
    assert "note: Andr\\xe9 is left out of the speaker library" in run.stderr


def test_add_copies_any_format_or_a_time_range(tmp_path, clip):
    lib = SpeakerLibrary(tmp_path / "lib")
    first = lib.add("Élodie Núñez", [clip])
    assert [p.name for p in first] == ["Élodie Núñez.wav"]
    long_talk = tmp_path / "talk.mp3"
    make_long_talk(long_talk, 125, topics=["kayaking"])
    with pytest.raises(LibraryError, match="--start"):
        lib.add("Élodie Núñez", [long_talk])
    ranged = lib.add("Élodie Núñez", [long_talk], start=30, duration=12)
    assert [p.name for p in ranged] == ["Élodie Núñez_1.wav"]
    info = probe(ranged[0])
    assert 11.5 <= info.duration <= 12.5
    assert len(lib.person("Élodie Núñez").clips) == 2
    with pytest.raises(LibraryError, match="does not exist"):
        lib.add("X", [tmp_path / "missing.wav"])
    with pytest.raises(LibraryError, match="cannot be a speaker's name"):
        lib.add("../evil", [clip])
    with pytest.raises(LibraryError, match="clip number"):
        lib.add("Agent_7", [clip])


def test_names_are_the_same_in_nfc_and_nfd(tmp_path, clip):
    nfd, nfc = unicodedata.normalize("NFD", "Zoë Ångström"), "Zoë Ångström"
    assert nfd != nfc
    lib_dir = tmp_path / "lib"
    (lib_dir / nfd).mkdir(parents=True)  # as macOS hands out a folder made in the Finder
    (lib_dir / nfd / "a.wav").write_bytes(clip.read_bytes())
    (lib_dir / f"{nfc}.mp3").write_bytes(clip.read_bytes())  # typed on a keyboard
    lib = SpeakerLibrary(lib_dir)
    (person,) = lib.people()  # one person, not two
    assert person.name == nfc and len(person.clips) == 2
    assert lib.person(nfd).name == nfc
    assert check_name(nfd) == nfc  # accepted, and stored composed
    added = lib.add(nfd, [clip], start=1)  # a part: the whole clip is in the library already
    assert added[0].parent == lib_dir / nfd  # into their folder, whatever its form
    lib.rename(nfd, "Zoë A")
    assert [p.name for p in lib.people()] == ["Zoë A"]
    assert len(lib.person("Zoe\u0308 A").clips) == 3


def test_rename_merge_remove_keep_every_clip(tmp_path, clip):
    lib = SpeakerLibrary(tmp_path / "lib")
    # Three parts of one recording: the same audio twice is refused, even in two adds.
    lib.add("Ann", [clip], start=0, duration=2)
    lib.add("Ann", [clip], start=2, duration=2)
    lib.add("Anne", [clip], start=4, duration=2)
    lib.rename("Ann", "Ann Smith")
    assert sorted(p.name for p in lib.person("Ann Smith").clips) == ["Ann Smith.wav",
                                                                      "Ann Smith_1.wav"]
    with pytest.raises(LibraryError, match="use merge"):
        lib.rename("Anne", "Ann Smith")
    lib.merge("Anne", "Ann Smith")
    assert [p.name for p in lib.people()] == ["Ann Smith"]
    assert len(lib.person("Ann Smith").clips) == 3
    kept = lib.remove("Ann Smith")
    assert lib.people() == []
    assert len(list(kept.iterdir())) == 3  # nothing deleted
    with pytest.raises(LibraryError, match="No speaker named"):
        lib.remove("Nobody")


def test_speakers_command_line(tmp_path, clip, other_clip):
    config = tmp_path / "config.toml"
    config.write_text('[speakers]\nfolder = "lib"\n[output]\nroot = "out"\n'
                      '[logging]\nfile = "out/log"\n')
    talks = cli(config)

    assert "No speakers enrolled" in talks("speakers", "list").stdout
    twice = talks("speakers", "add", "Renée", str(clip), str(clip))
    assert twice.returncode == 2 and "The same file is given twice" in twice.stderr
    copy = tmp_path / "second take.wav"  # the same recording under another name
    shutil.copy(clip, copy)
    copied = talks("speakers", "add", "Renée", str(clip), str(copy))
    assert copied.returncode == 2
    assert "second take.wav and clip.mp3 are the same audio: give each clip once." \
        in copied.stderr
    assert "No speakers enrolled" in talks("speakers", "list").stdout  # nothing was added
    added = talks("speakers", "add", "Renée", str(clip), str(other_clip))
    assert added.returncode == 0 and added.stdout.count("Added") == 2
    listed = talks("speakers", "list")
    assert "Renée: 2 clips, 18 s in all — under 30 s: add more; 0 embedded with campplus, 2 " \
        "not yet (the next run or `talks speakers check` embeds them)" in listed.stdout
    assert talks("speakers", "rename", "Renée", "Renée Dupont").returncode == 0
    bad = talks("speakers", "merge", "Nobody", "Renée Dupont")
    assert bad.returncode == 2 and "No speaker named 'Nobody'" in bad.stderr
    assert talks("speakers", "remove", "Renée Dupont").returncode == 0
    assert "No speakers enrolled" in talks("speakers", "list").stdout


def test_a_recording_already_in_the_library_is_refused_for_them_and_for_anyone_else(
        tmp_path, clip, other_clip):
    # Added again in a second command (or a copy under another name), it became a second
    # clip: `speakers check` then scored it against itself ("Own person: 1.000").
    config = tmp_path / "config.toml"
    config.write_text('[speakers]\nfolder = "lib"\n[output]\nroot = "out"\n'
                      '[logging]\nfile = "out/log"\n')
    talks = cli(config)
    assert talks("speakers", "add", "Renée", str(clip)).returncode == 0
    before = files_in(tmp_path / "lib")
    again = talks("speakers", "add", "Renée", str(clip))
    assert again.returncode == 2, again.stderr
    assert ("talks: clip.mp3 is the same audio as Renée.wav, already one of Renée's clips: "
            "give another recording of them. Nothing was added.\n") == again.stderr
    copy = tmp_path / "copy of it.mp3"
    shutil.copy(clip, copy)
    other = talks("speakers", "add", "Bob", str(other_clip), str(copy))
    assert other.returncode == 2, other.stderr
    assert ("copy of it.mp3 is the same audio as Renée.wav, one of Renée's clips: one "
            "recording is one person's voice, so if it is Bob speaking, move Renée.wav out of "
            "the library first. Nothing was added.") in other.stderr
    assert files_in(tmp_path / "lib") == before  # nothing added, not even Bob's other clip
    # A part of it is another clip: not refused.
    part = talks("speakers", "add", "Renée", str(clip), "--start", "1", "--duration", "3")
    assert part.returncode == 0, part.stderr
