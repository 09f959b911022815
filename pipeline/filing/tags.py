"""Tags of the filed copy: what the source carried, and what talks knows about the talk.

The filed copy starts as a byte-for-byte copy of the original (verified by hash), so the
source's own tags (title, date, artist, album, genre, comment …) are already in it. On top of
them talks writes the talk's title, the speaker as artist, the album from `[tags] album`, the
recording's date when the source had none, the first words of the transcript as lyrics or
description, the language it is spoken in (ISO 639-2's three letters, as taggers write it),
and `Original Title: …` (the source's title tag, else its file name) in the comment, so
nothing the source said is lost.

One small adapter per tag family (ID3 for mp3 and wav, MP4 atoms, Vorbis comments for flac,
ogg and opus) maps these few logical fields onto the format. Only the filed copy is ever
tagged: the original and the raw backup are never opened for writing here.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from common.errors import TalksError
from pipeline.asr.language import iso639_2
from pipeline.config.settings import TagsConfig
from pipeline.filing import riff_info
from pipeline.filing.place import part_name

ORIGINAL_TITLE = "Original Title: "


class TagError(TalksError):
    """The file's tags could not be read or written; the talk is filed without them."""


@dataclass(frozen=True)
class TalkTags:
    title: str
    artist: str
    album: str
    date: str          # used only when the source carried no date of its own
    excerpt: str       # '' writes no lyrics/description
    source_name: str   # the original's file name, for "Original Title" when it had no title
    language: str = ""  # ISO 639-2 ("fra"); '' writes none


def talk_tags(config: TagsConfig, title: str, speaker: str, year: int, date: str,
              transcript: str, source_name: str, language: str | None = None) -> TalkTags:
    words = transcript.split()
    excerpt = " ".join(words[:config.excerpt_words])
    if config.excerpt_words and len(words) > config.excerpt_words:
        excerpt += " …"
    return TalkTags(title=title, artist=speaker,
                    album=config.album.format(year=year, speaker=speaker),
                    date=date, excerpt=excerpt if config.excerpt_words else "",
                    source_name=source_name, language=iso639_2(language or ""))


# --- one adapter per tag family --------------------------------------------------------------

class _Id3:
    """ID3v2 (mp3, and the `id3 ` chunk of a wav)."""

    FRAMES = {"title": "TIT2", "artist": "TPE1", "album": "TALB", "date": "TDRC",
              "genre": "TCON", "language": "TLAN"}

    def __init__(self, audio) -> None:
        if audio.tags is None:
            audio.add_tags()
        self.audio = audio
        self.tags = audio.tags

    def get(self, key: str) -> str:
        if key == "comment":
            # ffmpeg writes a comment as TXXX:comment, most taggers as COMM: either counts.
            frames = [f for f in self.tags.getall("COMM") if not f.desc]
            frames += self.tags.getall("TXXX:comment")
            return str(frames[0].text[0]) if frames and frames[0].text else ""
        if key == "excerpt":
            lyrics = self.tags.getall("USLT")
            return str(lyrics[0].text) if lyrics else ""
        frame = self.tags.get(self.FRAMES[key])
        return str(frame.text[0]) if frame is not None and frame.text else ""

    def set(self, key: str, value: str) -> None:
        from mutagen import id3

        if key == "comment":
            for frame in [f for f in self.tags.getall("COMM") if not f.desc]:
                self.tags.delall(frame.HashKey)
            self.tags.delall("TXXX:comment")  # merged into the one comment written here
            self.tags.add(id3.COMM(encoding=3, lang="eng", desc="", text=[value]))
        elif key == "excerpt":
            self.tags.delall("USLT")
            if value:
                self.tags.add(id3.USLT(encoding=3, lang="eng", desc="", text=value))
        elif key == "language" and not value:
            self.tags.delall("TLAN")  # not known: none, rather than an empty one
        else:
            frame_id = self.FRAMES[key]
            self.tags.setall(frame_id, [getattr(id3, frame_id)(encoding=3, text=[value])])

    def save(self) -> None:
        # ID3v2.3: read by every player, Windows and older Apple software included.
        self.audio.save(v2_version=3)


class _Wave(_Id3):
    """A wav: ID3 in its `id3 ` chunk, and the RIFF INFO list that ffmpeg and most wav tools
    write and read (ffmpeg prefers it to the ID3 chunk). Both are read and both written."""

    INFO = {"title": b"INAM", "artist": b"IART", "album": b"IPRD", "date": b"ICRD",
            "genre": b"IGNR", "comment": b"ICMT", "language": b"ILNG"}

    def __init__(self, audio, path: Path) -> None:
        super().__init__(audio)
        self.path = path
        self.info = riff_info.read(path)

    def get(self, key: str) -> str:
        own = super().get(key)
        if own or key not in self.INFO:
            return own
        return self.info.get(self.INFO[key], b"").decode("utf-8", "replace")

    def set(self, key: str, value: str) -> None:
        super().set(key, value)
        if key in self.INFO:
            self.info[self.INFO[key]] = value.encode("utf-8")

    def save(self) -> None:
        super().save()
        riff_info.write(self.path, self.info)


class _Mp4:
    # MP4 has no atom for a talk's language: a freeform one, named the way iTunes names its
    # own (ffprobe shows it as "LANGUAGE").
    ATOMS = {"title": "\xa9nam", "artist": "\xa9ART", "album": "\xa9alb", "date": "\xa9day",
             "genre": "\xa9gen", "comment": "\xa9cmt", "excerpt": "desc",
             "language": "----:com.apple.iTunes:LANGUAGE"}

    def __init__(self, audio) -> None:
        if audio.tags is None:
            audio.add_tags()
        self.audio = audio

    def get(self, key: str) -> str:
        value = self.audio.tags.get(self.ATOMS[key])
        if not value:
            return ""
        first = value[0]  # a freeform atom holds bytes
        return bytes(first).decode("utf-8") if isinstance(first, bytes) else str(first)

    def set(self, key: str, value: str) -> None:
        atom = self.ATOMS[key]
        if value:
            self.audio.tags[atom] = [value.encode("utf-8") if atom.startswith("----")
                                     else value]
        else:
            self.audio.tags.pop(atom, None)

    def save(self) -> None:
        self.audio.save()


class _Vorbis:
    """Vorbis comments: flac, ogg vorbis, opus. ffmpeg keeps a comment in DESCRIPTION (and
    shows DESCRIPTION as "comment"), other taggers in COMMENT: both are read, and a comment
    is written to whichever the file uses, so every player sees the same one. The excerpt
    goes to LYRICS, leaving DESCRIPTION to the comment."""

    KEYS = {"title": "title", "artist": "artist", "album": "album", "date": "date",
            "genre": "genre", "excerpt": "lyrics", "language": "language"}
    COMMENT_KEYS = ("comment", "description")

    def __init__(self, audio) -> None:
        if audio.tags is None:
            audio.add_tags()
        self.audio = audio

    def _first(self, name: str) -> str:
        values = self.audio.tags.get(name) or []
        return str(values[0]) if values else ""

    def get(self, key: str) -> str:
        if key == "comment":
            return next((v for v in map(self._first, self.COMMENT_KEYS) if v), "")
        return self._first(self.KEYS[key])

    def set(self, key: str, value: str) -> None:
        if key == "comment":
            names = [n for n in self.COMMENT_KEYS if n in self.audio.tags] or ["comment"]
            for name in names:
                self.audio.tags[name] = [value]
            return
        name = self.KEYS[key]
        if value:
            self.audio.tags[name] = [value]
        elif name in self.audio.tags:
            del self.audio.tags[name]

    def save(self) -> None:
        self.audio.save()


def _open(path: Path):
    import mutagen
    from mutagen.flac import FLAC
    from mutagen.mp3 import MP3
    from mutagen.mp4 import MP4
    from mutagen.oggopus import OggOpus
    from mutagen.oggvorbis import OggVorbis
    from mutagen.wave import WAVE

    try:
        audio = mutagen.File(str(path))
    except Exception as exc:  # noqa: BLE001 - mutagen raises many kinds on a damaged file
        raise TagError(f"its container could not be read for tagging ({exc})") from None
    if isinstance(audio, WAVE):
        return _Wave(audio, path)
    if isinstance(audio, MP3):
        return _Id3(audio)
    if isinstance(audio, MP4):
        return _Mp4(audio)
    if isinstance(audio, FLAC | OggVorbis | OggOpus):
        return _Vorbis(audio)
    kind = type(audio).__name__ if audio is not None else "an unknown container"
    raise TagError(f"talks does not write tags into {kind}")


def read_tags(path: Path) -> dict[str, str]:
    """The logical fields as the file has them now (empty strings for missing ones)."""
    fields = _open(path)
    try:
        return {key: fields.get(key) for key in ("title", "artist", "album", "date", "genre",
                                                 "comment", "excerpt", "language")}
    except Exception as exc:  # noqa: BLE001
        raise TagError(f"its tags could not be read ({exc})") from None


def write_tags(path: Path, tags: TalkTags) -> None:
    """Tag `path` in place (a file nobody else sees yet: the caller's temporary copy)."""
    fields = _open(path)
    try:
        comment = fields.get("comment")
        if ORIGINAL_TITLE not in comment:
            # First tagging: remember what the source called itself. A re-tagging (relabel,
            # rename) finds it already there and leaves the comment alone.
            original = fields.get("title") or Path(tags.source_name).stem
            comment = "\n".join(p for p in (comment, ORIGINAL_TITLE + original) if p)
            fields.set("comment", comment)
        fields.set("title", tags.title)
        fields.set("artist", tags.artist)
        fields.set("album", tags.album)
        if not fields.get("date") and tags.date:
            fields.set("date", tags.date)
        fields.set("excerpt", tags.excerpt)
        fields.set("language", tags.language)
        fields.save()
    except TagError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged container fails in many ways
        raise TagError(f"its tags could not be written ({type(exc).__name__}: {exc})") from None


def tag_in_place_safely(path: Path, tags: TalkTags,
                        before_replace: Callable[[Path], None]) -> None:
    """Re-tag a filed copy without ever leaving it half-written: the tags go onto a
    temporary copy, `before_replace` sees it whole (to record its hash), then it replaces
    the file in one rename, keeping the file's times."""
    tmp = part_name(path)
    try:
        shutil.copyfile(path, tmp)
        write_tags(tmp, tags)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        shutil.copystat(path, tmp)
        before_replace(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
