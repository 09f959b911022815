"""Filing: copy, verify, write transcripts, record — and never lose or overwrite anything.

Layout under the output root:
    talks/YEAR/SPEAKER/SPEAKER - TITLE.ext
    transcripts/YEAR/SPEAKER/SPEAKER - TITLE (Transcript).txt|.srt|.vtt|.json
    raw/YEAR/original-name.ext          (an untouched backup, when configured)
A name already taken gets " (2)", " (3)", …; every name is cleaned for every file system and
checked to stay inside the output root.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.asr.base import Segment
from pipeline.config import Config
from pipeline.ledger import FileRow, content_hash
from pipeline.transcripts import FORMATS, render

MAX_COMPONENT_BYTES = 120  # well under every file system's 255, leaving room for suffixes
_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)


class FilingError(Exception):
    """Filing could not finish; the original is untouched. The message says what to do."""


def sanitize_component(text: str, fallback: str = "Untitled",
                       max_bytes: int = MAX_COMPONENT_BYTES) -> str:
    """One safe path component: no separators, no control or reserved characters, no leading
    dots (so never '..'), no trailing dots or spaces, at most `max_bytes` in UTF-8."""
    text = unicodedata.normalize("NFC", text)
    text = _FORBIDDEN.sub(" ", text)
    text = " ".join(text.split())
    text = text.lstrip(". ").rstrip(". ,;:!-")
    if _RESERVED.match(text):
        text = f"{text}_"
    encoded = text.encode("utf-8")
    if len(encoded) > max_bytes:
        cut = encoded[:max_bytes].decode("utf-8", "ignore")
        # Prefer ending at a word boundary when one is reasonably close.
        if " " in cut[len(cut) // 2:]:
            cut = cut[: cut.rfind(" ")]
        text = cut.rstrip(". ,;:!-")
    return text or fallback


def inside(root: Path, candidate: Path) -> Path:
    """`candidate` resolved, refusing anything that would land outside `root`."""
    resolved_root = root.resolve()
    resolved = candidate.resolve()
    if resolved != resolved_root and resolved_root not in resolved.parents:
        raise FilingError(f"Refusing to write {candidate}: it is outside the output root "
                          f"{root}.")
    return resolved


@dataclass(frozen=True)
class Names:
    stem: str
    talk: Path
    transcripts: dict[str, Path]

    def all_paths(self) -> list[Path]:
        return [self.talk, *self.transcripts.values()]


def names_for(config: Config, year: int, speaker: str, title: str, ext: str,
              stem: str) -> Names:
    folder = (str(year), sanitize_component(speaker, "Unknown Speaker"))
    talk = inside(config.output.root, config.output.talks_dir.joinpath(*folder, stem + ext))
    transcripts = {fmt: inside(config.output.root, config.output.transcripts_dir.joinpath(
        *folder, f"{stem} (Transcript).{fmt}")) for fmt in FORMATS}
    return Names(stem, talk, transcripts)


def base_stem(speaker: str, title: str) -> str:
    speaker = sanitize_component(speaker, "Unknown Speaker", max_bytes=60)
    title = sanitize_component(title, "Untitled Talk", max_bytes=MAX_COMPONENT_BYTES - 80)
    return f"{speaker} - {title}"


def free_names(config: Config, year: int, speaker: str, title: str, ext: str) -> Names:
    """The first " (n)" variant whose talk and transcripts are all unused."""
    stem = base_stem(speaker, title)
    for n in range(1, 10_000):
        candidate = stem if n == 1 else f"{stem} ({n})"
        names = names_for(config, year, speaker, title, ext, candidate)
        if not any(p.exists() for p in names.all_paths()):
            return names
    raise FilingError(f"More than 9999 talks are named {stem!r}: rename some of them.")


def link_no_clobber(tmp: Path, final: Path) -> None:
    """Give `tmp` its final name only if that name is free (never overwrite); on a clash the
    temporary copy is removed and FileExistsError raised."""
    try:
        os.link(tmp, final)
    except FileExistsError:
        tmp.unlink(missing_ok=True)
        raise
    except OSError:
        # File systems without hard links (exFAT, some network shares): check, then rename.
        if final.exists():
            tmp.unlink(missing_ok=True)
            raise FileExistsError(final) from None
        os.replace(tmp, final)
        return
    tmp.unlink()


def copy_verified(src: Path, final: Path, expected_hash: str, keep_times: bool = False) -> Path:
    """Copy `src` to `final` through a temporary file, fsync it, read it back and compare its
    size and hash with the original's before it takes its name."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.part")
    digest = hashlib.sha256()
    with open(src, "rb") as fin, open(tmp, "wb") as fout:
        while block := fin.read(1 << 20):
            digest.update(block)
            fout.write(block)
        fout.flush()
        os.fsync(fout.fileno())
    if digest.hexdigest() != expected_hash:
        tmp.unlink(missing_ok=True)
        raise FilingError(f"{src.name} changed while it was being copied: leave it alone "
                          "until it is complete, then run again.")
    if tmp.stat().st_size != src.stat().st_size or content_hash(tmp) != expected_hash:
        tmp.unlink(missing_ok=True)
        raise FilingError(f"The copy of {src.name} at {final.parent} did not match the "
                          "original: check that disk, then run again.")
    if keep_times:
        shutil.copystat(src, tmp)  # the filed talk keeps the recording's own dates
    link_no_clobber(tmp, final)
    return final


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def raw_backup(config: Config, src: Path, year: int, digest: str) -> Path:
    """An untouched copy of the original under raw/YEAR/, named as it was."""
    folder = config.output.raw_dir / str(year)
    name = sanitize_component(src.stem, "recording")
    ext = src.suffix.lower()
    for n in range(1, 10_000):
        candidate = inside(config.output.root,
                           folder / (f"{name}{ext}" if n == 1 else f"{name} ({n}){ext}"))
        if candidate.exists():
            if candidate.stat().st_size == src.stat().st_size and \
                    content_hash(candidate) == digest:
                return candidate  # already backed up (a resumed run)
            continue
        try:
            return copy_verified(src, candidate, digest)
        except FileExistsError:
            continue
    raise FilingError(f"Too many raw backups named {name}: clean up {folder}.")


def _same_recording(path: Path, row: FileRow) -> bool:
    return path.stat().st_size == row.size and content_hash(path) == row.hash


def _reusable_stems(row: FileRow, speaker: str, title: str) -> list[str]:
    """Names this talk already owns: the one reserved by an interrupted run, and the one it
    was filed under before a --full-scan (when its speaker and title are unchanged)."""
    stems = [row.planned_name] if row.planned_name else []
    if row.destination:
        old = Path(row.destination).stem
        base = base_stem(speaker, title)
        if old == base or re.fullmatch(re.escape(base) + r" \(\d+\)", old):
            stems.append(old)
    return stems


@dataclass(frozen=True)
class Filed:
    talk: Path
    transcripts: list[Path]
    raw: Path | None


def file_talk(config: Config, row: FileRow, segments: Sequence[Segment], meta: dict,
              title: str, speaker: str, year: int, reserve: Callable[[str], None]) -> Filed:
    """Copy the recording into place with its transcripts. `reserve(stem)` records the chosen
    name in the ledger before anything is written, so a resumed run finishes the same filing
    instead of starting a " (2)" beside it."""
    src = Path(row.path)
    if not src.is_file():
        raise FilingError(f"{src} is no longer there: put it back, or run again to file it "
                          "from where it is now.")
    ext = src.suffix.lower()
    names = None
    for stem in _reusable_stems(row, speaker, title):
        candidate = names_for(config, year, speaker, title, ext, stem)
        if not candidate.talk.exists() or _same_recording(candidate.talk, row):
            names = candidate
            break
    if names is None:
        names = free_names(config, year, speaker, title, ext)
        reserve(names.stem)
    if not names.talk.exists():
        try:
            copy_verified(src, names.talk, row.hash, keep_times=True)
        except FileExistsError:
            # Someone took the name between our look and our copy: pick again.
            return file_talk(config, row, segments, meta, title, speaker, year, reserve)
    for fmt, path in names.transcripts.items():
        write_text_atomic(path, render(fmt, segments, {**meta, "talk": names.talk.name}))
    backup = raw_backup(config, src, year, row.hash) if config.output.raw_backup else None
    return Filed(names.talk, list(names.transcripts.values()), backup)


def remove_previous_filing(row: FileRow, filed: Filed) -> None:
    """After a --full-scan re-filed a talk under a new name, drop the old copy (verified to be
    the same recording) so the talk is not filed twice."""
    if not row.destination:
        return
    old = Path(row.destination)
    if old == filed.talk or not old.is_file():
        return
    if old.stat().st_size == row.size and content_hash(old) == row.hash:
        old.unlink()
        for path in row.transcripts:
            if Path(path) not in filed.transcripts:
                Path(path).unlink(missing_ok=True)


def release_original(config: Config, row: FileRow, filed: Filed) -> bool:
    """With originals = "move", delete the original only now that its copy is verified."""
    if config.output.originals != "move":
        return False
    src = Path(row.path)
    if not src.is_file():
        return False
    if content_hash(filed.talk) != row.hash:
        raise FilingError(f"The filed copy {filed.talk} does not match {src.name}; the "
                          "original was kept. Check the disk and run again.")
    src.unlink()
    return True


def delete_old_raw_backups(config: Config, filed_hashes: set[str], now: float | None = None
                           ) -> list[Path]:
    """cleanup_days: remove raw backups older than that, but only of talks that are filed
    (their hash is in `filed_hashes`), so a backup is never the last copy."""
    days = config.output.cleanup_days
    if days <= 0 or not config.output.raw_dir.is_dir():
        return []
    cutoff = (now or time.time()) - days * 86400
    removed = []
    for path in config.output.raw_dir.rglob("*"):
        if path.is_file() and not path.name.startswith(".") and path.stat().st_mtime < cutoff:
            if content_hash(path) in filed_hashes:
                path.unlink()
                removed.append(path)
    return removed
