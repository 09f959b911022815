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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from common.chaos import chaos_point
from common.errors import TalksError
from common.names import MAX_COMPONENT_BYTES, sanitize_component
from pipeline.asr.base import Segment
from pipeline.config.settings import Config
from pipeline.filing.transcripts import FORMATS, render
from pipeline.ledger import FileRow, content_hash


class FilingError(TalksError):
    """Filing could not finish; the original is untouched. The message says what to do."""


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


PART_SUFFIX = ".part"


def part_name(final: Path) -> Path:
    """The temporary name a file is written under before it takes `final`'s name: hidden,
    beside it, `.NAME.part` (the one place that says it; sweep_parts finds them by it)."""
    return final.with_name(f".{final.name}{PART_SUFFIX}")


def copy_verified(src: Path, final: Path, expected_hash: str, keep_times: bool = False,
                  step: str = "organize",
                  finish: Callable[[Path], None] | None = None) -> Path:
    """Copy `src` to `final` through a temporary file, fsync it, read it back and compare its
    size and hash with the original's before it takes its name. `finish` gets the verified
    temporary copy before that (to tag it and record what it then is). Whatever stops it (a
    full disk, a signal) takes the temporary file away with it."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = part_name(final)
    try:
        digest = hashlib.sha256()
        with open(src, "rb") as fin, open(tmp, "wb") as fout:
            while block := fin.read(1 << 20):
                digest.update(block)
                fout.write(block)
                chaos_point(f"{step}.copy")
            fout.flush()
            os.fsync(fout.fileno())
        chaos_point(f"{step}.fsync")
        if digest.hexdigest() != expected_hash:
            raise FilingError(f"{src.name} changed while it was being copied: leave it alone "
                              "until it is complete, then run again.")
        if tmp.stat().st_size != src.stat().st_size or content_hash(tmp) != expected_hash:
            raise FilingError(f"The copy of {src.name} at {final.parent} did not match the "
                              "original: check that disk, then run again.")
        if finish is not None:
            finish(tmp)
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        if keep_times:
            shutil.copystat(src, tmp)  # the filed talk keeps the recording's own dates
        link_no_clobber(tmp, final)
    except BaseException:
        _remove_quietly(tmp)
        raise
    chaos_point(f"{step}.rename")
    return final


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only disk: nothing could have been written there either


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = part_name(path)
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _remove_quietly(tmp)
        raise


def sweep_parts(config: Config) -> list[Path]:
    """Remove the temporary files an interrupted run left in the folders talks writes (only
    names talks makes: `.NAME.part`). Called with the run lock held, so no other run is
    writing them."""
    removed = []
    for folder in (config.output.talks_dir, config.output.transcripts_dir,
                   config.output.raw_dir):
        if not folder.is_dir():
            continue
        for path in folder.rglob(f".*{PART_SUFFIX}"):
            if path.is_file() and not path.is_symlink():
                path.unlink()
                removed.append(path)
    return removed


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
            return copy_verified(src, candidate, digest, step="organize.raw")
        except FileExistsError:
            continue
    raise FilingError(f"Too many raw backups named {name}: clean up {folder}.")


def _same_recording(path: Path, row: FileRow) -> bool:
    """Whether `path` is this talk's filed copy (tagged or compact copies have a hash of
    their own, which the ledger keeps)."""
    if path.stat().st_size != row.size and not row.filed_hash:
        return False
    return row.is_filed_copy(content_hash(path))


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
    digest: str = ""  # the hash of the filed copy as written ("" = the original's)


def file_talk(config: Config, row: FileRow, segments: Sequence[Segment], meta: dict,
              title: str, speaker: str, year: int, reserve: Callable[[str], None],
              make_copy: Callable[[Path, Path], str] | None = None,
              ext: str | None = None) -> Filed:
    """Copy the recording into place with its transcripts. `reserve(stem)` records the chosen
    name in the ledger before anything is written, so a resumed run finishes the same filing
    instead of starting a " (2)" beside it. `make_copy(original, final)` writes the filed copy
    (default: a verified byte copy) and returns its hash; `ext` is the copy's extension."""
    src = Path(row.path)
    if not src.is_file():
        raise FilingError(f"{src} is no longer there: put it back, or run again to file it "
                          "from where it is now.")
    ext = ext or src.suffix.lower()
    names = None
    for stem in _reusable_stems(row, speaker, title):
        candidate = names_for(config, year, speaker, title, ext, stem)
        if not candidate.talk.exists() or _same_recording(candidate.talk, row):
            names = candidate
            break
    if names is None:
        names = free_names(config, year, speaker, title, ext)
        reserve(names.stem)
    digest = row.filed_hash or row.hash
    if not names.talk.exists():
        try:
            if make_copy is None:
                copy_verified(src, names.talk, row.hash, keep_times=True)
                digest = row.hash
            else:
                digest = make_copy(src, names.talk)
        except FileExistsError:
            # Someone took the name between our look and our copy: pick again.
            return file_talk(config, row, segments, meta, title, speaker, year, reserve,
                             make_copy, ext)
    for fmt, path in names.transcripts.items():
        write_text_atomic(path, render(fmt, segments, {**meta, "talk": names.talk.name}))
    # A compact copy is other audio: the untouched original is always kept beside it.
    keep_raw = config.output.raw_backup or config.output.filed_audio == "compact"
    backup = raw_backup(config, src, year, row.hash) if keep_raw else None
    return Filed(names.talk, list(names.transcripts.values()), backup, digest)


def remove_previous_filing(row: FileRow, filed: Filed) -> None:
    """After a --full-scan re-filed a talk under a new name, drop the old copy (verified to be
    the same recording) so the talk is not filed twice."""
    if not row.destination:
        return
    old = Path(row.destination)
    if old == filed.talk or not old.is_file():
        return
    if row.is_filed_copy(content_hash(old)):
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
    if src.resolve().is_relative_to(config.output.raw_dir.resolve()):
        return False  # transcribed again from its raw backup (talks language): that stays
    if not filed.talk.is_file() or content_hash(filed.talk) != (filed.digest or row.hash):
        raise FilingError(f"The filed copy {filed.talk} does not match {src.name}; the "
                          "original was kept. Check the disk and run again.")
    if config.output.filed_audio == "compact" and (
            filed.raw is None or content_hash(filed.raw) != row.hash):
        raise FilingError(f"The raw backup of {src.name} is missing or does not match it; "
                          "the original was kept. Check the disk and run again.")
    if src.stat().st_size != row.size or content_hash(src) != row.hash:
        return False  # it changed since it was filed: it is another recording now, keep it
    chaos_point("organize.release")
    src.unlink()
    chaos_point("organize.released")
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
