"""The speaker library on disk: short clips of each person who speaks at the user's events.

Two layouts, mixed freely in one folder:
    NAME.mp3, NAME_1.mp3, NAME_2.wav …   (the original system's convention)
    NAME/any-name.wav …                  (a folder per person)
Names may hold spaces and any letters; a name is the same in composed and decomposed Unicode
(macOS hands out decomposed file names), and is given out composed (NFC). Nothing here deletes
a clip: removing a person moves their clips under `.removed/`.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import time
import wave
from dataclasses import dataclass
from pathlib import Path

from common.chaos import chaos_point
from common.errors import ExitCode, TalksError
from common.media import MediaError, cut_pieces, cut_sample, probe
from common.names import is_text, nfc, readable, sanitize_component

CLIP_EXTENSIONS = {".mp3", ".wav", ".m4a", ".flac", ".mp4", ".ogg", ".opus", ".aac", ".webm"}
_NUMBERED = re.compile(r"^(?P<name>.+?)_(?P<n>\d+)$")
MAX_CLIP_SECONDS = 120.0  # longer sources need a time range: a clip is a sample, not a talk
REMOVED = ".removed"
MIN_SPEECH_S = 30.0  # less enrolled speech than this identifies a person poorly


class LibraryError(TalksError):
    """A library operation that cannot be done as asked (a name that cannot be one, a person
    or a clip that is not there): the command was given wrong, so it exits 2, and the
    sentence says what to do instead."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class Person:
    name: str  # NFC
    clips: tuple[Path, ...]
    has_folder: bool
    folder: Path | None = None  # their folder as it is on disk, when they have one


def person_of(path: Path, folder: Path) -> str | None:
    """Whose clip a file is, by the library's naming rules (None: not a clip)."""
    if path.suffix.lower() not in CLIP_EXTENSIONS or path.name.startswith("."):
        return None
    rel = path.relative_to(folder)
    if len(rel.parts) == 2:
        return nfc(rel.parts[0])
    if len(rel.parts) == 1:
        match = _NUMBERED.match(path.stem)
        return nfc(match.group("name") if match else path.stem)
    return None


_SECONDS: dict[tuple[str, int, int], float] = {}


def clip_seconds(path: Path) -> float:
    """A clip's length: from a wav header, else ffprobe; 0 for what cannot be read. Kept per
    file size and time, so a screen can ask again cheaply."""
    try:
        st = path.stat()
    except OSError:
        return 0.0
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _SECONDS:
        seconds = 0.0
        if path.suffix.lower() == ".wav":
            try:
                with wave.open(str(path), "rb") as w:
                    seconds = w.getnframes() / float(w.getframerate())
            except (wave.Error, EOFError, OSError):
                seconds = 0.0
        if not seconds:
            try:
                seconds = probe(path).duration
            except MediaError:
                seconds = 0.0
        _SECONDS[key] = seconds
    return _SECONDS[key]


def unreadable_clip(clip: Path, folder: Path) -> str:
    """The sentence for a clip that holds no audio ffmpeg can read (a damaged or empty file,
    a document saved under an audio name)."""
    return (f"{clip.relative_to(folder)} in the speaker library cannot be read as audio: it is "
            "left out; replace it with a clip that plays, or remove it.")


def audio_digest(path: Path) -> str:
    """What a clip holds, as a hash: a WAV's samples and their format (its header also names
    the ffmpeg that wrote it, which two cuts of one recording need not share), any other
    file's bytes; "" for a file that cannot be read."""
    digest = hashlib.sha256()
    try:
        if path.suffix.lower() == ".wav":
            try:
                with wave.open(str(path), "rb") as w:
                    digest.update(repr(w.getparams()[:3]).encode())  # channels, width, rate
                    while frames := w.readframes(1 << 16):
                        digest.update(frames)
                return digest.hexdigest()
            except (wave.Error, EOFError):
                digest = hashlib.sha256()  # not PCM WAV: its bytes, as for any other file
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
    except OSError:
        return ""
    return digest.hexdigest()


def check_name(name: str) -> str:
    """The name as stored (NFC), or LibraryError saying why it cannot be one."""
    clean = sanitize_component(name, fallback="")
    if not clean or clean != nfc(name.strip()):
        raise LibraryError(f"{name!r} cannot be a speaker's name: avoid / \\ : * ? \" < > | "
                           "and leading dots.")
    if _NUMBERED.match(clean):
        raise LibraryError(f"{name!r} ends in _NUMBER, which the library reads as a clip "
                           "number: choose a name without it.")
    return clean


class SpeakerLibrary:
    def __init__(self, folder: Path):
        self.folder = folder

    def seconds(self) -> dict[str, float]:
        """Each person's enrolled audio, in seconds (the length of their clips)."""
        return {p.name: sum(clip_seconds(c) for c in p.clips) for p in self.people()}

    def people(self) -> list[Person]:
        if not self.folder.is_dir():
            return []
        clips: dict[str, list[Path]] = {}
        folders: dict[str, Path] = {}
        for path in sorted(self.folder.iterdir()):
            if path.name.startswith(".") or not is_text(path.name):
                continue  # see left_out()
            if path.is_dir():
                folders[nfc(path.name)] = path
                found = [p for p in sorted(path.iterdir()) if p.is_file()
                         and is_text(p.name) and person_of(p, self.folder)]
                clips.setdefault(nfc(path.name), []).extend(found)
            elif path.is_file() and (name := person_of(path, self.folder)):
                clips.setdefault(name, []).append(path)
        return [Person(name, tuple(paths), name in folders, folders.get(name))
                for name, paths in sorted(clips.items(), key=lambda kv: kv[0].casefold())
                if paths]

    def left_out(self) -> list[str]:
        """What people() leaves out because its name is not UTF-8 text (bytes of an older
        system's encoding): a person's name must be text. One sentence each, saying what to
        do."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in sorted(self.folder.iterdir()):
            if path.name.startswith("."):
                continue
            if not is_text(path.name):
                if path.is_dir() or path.suffix.lower() in CLIP_EXTENSIONS:
                    found.append(path)
            elif path.is_dir():
                found += [p for p in sorted(path.iterdir()) if not is_text(p.name)
                          and p.suffix.lower() in CLIP_EXTENSIONS]
        return [f"{readable(str(path.relative_to(self.folder)))} is left out of the speaker "
                "library: its name is not UTF-8 text; rename it." for path in found]

    def person(self, name: str) -> Person:
        for person in self.people():
            if person.name == nfc(name.strip()):
                return person
        known = ", ".join(p.name for p in self.people()) or "none yet"
        raise LibraryError(f"No speaker named {name!r} in {self.folder} (known: {known}).")

    def _folder_of(self, name: str) -> Path | None:
        """`name`'s folder as it is on disk (it may be in another Unicode form)."""
        if (self.folder / name).is_dir():
            return self.folder / name
        if self.folder.is_dir():
            for path in self.folder.iterdir():
                if path.is_dir() and nfc(path.name) == name:
                    return path
        return None

    def _next_clip_path(self, name: str, ext: str) -> Path:
        if (folder := self._folder_of(name)) is not None:
            base = folder
        else:
            base = self.folder
            if not any((base / f"{name}{e}").exists() for e in CLIP_EXTENSIONS):
                return base / f"{name}{ext}"
        n = 1
        while any((base / f"{name}_{n}{e}").exists() for e in CLIP_EXTENSIONS):
            n += 1
        return base / f"{name}_{n}{ext}"

    def add(self, name: str, sources: list[Path], start: float | None = None,
            duration: float | None = None) -> list[Path]:
        """Copy clips in as 16 kHz mono WAV (any format ffmpeg reads), or a time range of a
        longer recording. Returns the new clip files; audio already in the library (anyone's)
        is refused, and then nothing is added."""
        name = check_name(name)
        if (start is not None and start < 0) or (duration is not None and duration <= 0):
            raise LibraryError("--start must be 0 or more and --duration more than 0 seconds.")
        if len({p.resolve() for p in sources}) < len(sources):
            # One range of one file twice would be one voice sample counted twice: the check's
            # "own person" score would be a clip compared with itself.
            raise LibraryError("The same file is given twice: give each clip once.")
        spans = [self._clip_span(source, start, duration) for source in sources]
        # Every source is checked before any is cut: a command given wrong adds nothing.
        self.folder.mkdir(parents=True, exist_ok=True)
        # Each is cut under a hidden .part name first (people() skips it; a killed command's
        # is swept), then checked against the library: a recording already in it is refused.
        staged: list[Path] = []
        try:
            for n, (source, (begin, span)) in enumerate(zip(sources, spans, strict=True)):
                stage = self.folder / f".{name}.{n}.part.wav"
                try:
                    cut_sample(source, begin, span, stage)
                except MediaError as exc:
                    raise LibraryError(str(exc)) from None
                staged.append(stage)
            self._refuse_known(name, sources, staged, whole=start is None and duration is None)
            added = []
            for stage in staged:
                target = self._next_clip_path(name, ".wav")
                stage.replace(target)
                added.append(target)
            return added
        finally:
            for stage in staged:
                stage.unlink(missing_ok=True)

    def _refuse_known(self, name: str, sources: list[Path], staged: list[Path],
                      whole: bool) -> None:
        """LibraryError when a new clip is the same audio as a clip in the library (or as
        another of this command): one recording counted twice is a clip scored against itself,
        and `speakers check` would read 1.000 and suggest values from it. `whole`: each clip is
        its whole source, so a copy of a library clip that is not a WAV (an .mp3 put there by
        hand) is known by its bytes too."""
        known = {audio_digest(clip): (person.name, clip)
                 for person in self.people() for clip in person.clips}
        known.pop("", None)
        given: dict[str, Path] = {}
        for source, stage in zip(sources, staged, strict=True):
            cut = audio_digest(stage)
            for digest in (cut, audio_digest(source) if whole else ""):
                if digest in known:
                    owner, clip = known[digest]
                    raise LibraryError(self._already(source, name, owner, clip))
            if cut and cut in given:
                raise LibraryError(f"{source.name} and {given[cut].name} are the same audio: "
                                   "give each clip once.")
            given[cut] = source

    def _already(self, source: Path, name: str, owner: str, clip: Path) -> str:
        rel = clip.relative_to(self.folder)
        if owner == name:
            return (f"{source.name} is the same audio as {rel}, already one of {name}'s "
                    "clips: give another recording of them. Nothing was added.")
        return (f"{source.name} is the same audio as {rel}, one of {owner}'s clips: one "
                f"recording is one person's voice, so if it is {name} speaking, move {rel} out "
                "of the library first. Nothing was added.")

    @staticmethod
    def _clip_span(source: Path, start: float | None,
                   duration: float | None) -> tuple[float, float]:
        """Where a clip of `source` begins and how long it is, or why it cannot be one."""
        if not source.is_file():
            raise LibraryError(f"{source} does not exist: give the path of an audio file.")
        try:
            length = probe(source).duration
        except MediaError:
            # probe's own advice is for a recording found in an input folder; this one was
            # given on the command line to be a clip.
            raise LibraryError(f"{source} is not audio: give a recording of the speaker's "
                               "voice instead (any format ffmpeg plays).") from None
        begin = start or 0.0
        span = duration if duration is not None else length - begin
        if begin >= length:
            raise LibraryError(f"{source.name} is only {length:.0f} s long: start the "
                               "range inside it.")
        if span > MAX_CLIP_SECONDS:
            raise LibraryError(f"{source.name} would give a {span:.0f} s clip: give a time "
                               f"range of at most {MAX_CLIP_SECONDS:.0f} s with --start "
                               "and --duration.")
        return begin, span

    def add_speech(self, name: str, source: Path,
                   pieces: list[tuple[float, float]]) -> Path | None:
        """One clip made of the (start, length) pieces of a recording, joined: the speech of a
        talk without its pauses, music or applause. None when the library already holds that
        very audio (the same talk enrolled twice): a clip counted twice is scored against
        itself (see `_refuse_known`)."""
        name = check_name(name)
        self.folder.mkdir(parents=True, exist_ok=True)
        stage = self.folder / f".{name}.speech.part.wav"
        try:
            cut_pieces(source, pieces, stage)
            known = {audio_digest(c) for person in self.people() for c in person.clips}
            if audio_digest(stage) in known - {""}:
                return None
            target = self._next_clip_path(name, ".wav")
            stage.replace(target)
            return target
        except MediaError as exc:
            raise LibraryError(str(exc)) from None
        finally:
            stage.unlink(missing_ok=True)

    def _move_clips(self, person: Person, new_name: str) -> list[Path]:
        moved = []
        for clip in person.clips:
            target = self._next_clip_path(new_name, clip.suffix.lower())
            target.parent.mkdir(parents=True, exist_ok=True)
            clip.rename(target)
            moved.append(target)
            chaos_point("speakers.rename")
        if person.folder is not None:
            _remove_if_empty(person.folder)
        return moved

    def rename(self, old: str, new: str) -> list[Path]:
        person = self.person(old)
        new = check_name(new)
        if any(p.name == new for p in self.people()):
            raise LibraryError(f"{new!r} already exists: use merge to put the clips of "
                               f"{old!r} with theirs.")
        if person.folder is not None and not any(c.parent == self.folder
                                                 for c in person.clips):
            person.folder.rename(self.folder / new)
            return list(self.person(new).clips)
        return self._move_clips(person, new)

    def merge(self, source: str, target: str) -> list[Path]:
        if nfc(source.strip()) == nfc(target.strip()):
            raise LibraryError("Merging a speaker with themselves changes nothing.")
        person = self.person(source)
        target = self.person(target).name  # must exist
        return self._move_clips(person, target)

    def remove(self, name: str) -> Path:
        """Move a person's clips to .removed/NAME-TIME/ (kept, in case it was a mistake)."""
        person = self.person(name)
        bin_folder = self.folder / REMOVED / f"{person.name}-{time.strftime('%Y%m%d-%H%M%S')}"
        bin_folder.mkdir(parents=True, exist_ok=True)
        for clip in person.clips:
            shutil.move(str(clip), bin_folder / clip.name)
        if person.folder is not None:
            _remove_if_empty(person.folder)
        return bin_folder


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
