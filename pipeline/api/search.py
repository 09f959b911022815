"""Search the archive's words (pipeline/search/): what `talks search` and the app's `/` use.

Every call opens the ledger itself and brings the index up to date first when talks are
missing from it (an archive filed before the index existed, or a catch-up that was stopped),
so a face never reads an index behind the archive. SQLite and the search modules are
imported on first use: `talks --help` imports this room.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.config.settings import Config

if TYPE_CHECKING:
    from pipeline.search.hits import Hit, TalkHits
    from pipeline.search.passages import Cue

Progress = Callable[[int, int], None]  # (talks indexed so far, talks to index)
MARK_ON, MARK_OFF = "\x02", "\x03"  # around matched words (pipeline/search/hits.py)
CLIP_S = 30.0  # a clip of a hit: this long, the words a third of the way in


def archive_filed(config: Config) -> bool:
    """Whether anything was ever filed into this output root (a search makes no ledger)."""
    return config.output.ledger_path.is_file()


def talks_to_index(config: Config) -> int:
    """How many filed talks are not in the index yet (0 with nothing filed)."""
    if not archive_filed(config):
        return 0
    from pipeline.ledger import Ledger
    from pipeline.search.index import FORMAT, FORMAT_FACT, waiting

    with Ledger(config.output.ledger_path) as ledger:
        if ledger.fact(FORMAT_FACT) not in (None, FORMAT):
            return len(ledger.db.execute("SELECT 1 FROM files WHERE state = 'filed'")
                       .fetchall())
        return len(waiting(ledger)[0])


def index_archive(config: Config, on_progress: Progress | None = None,
                  should_stop: Callable[[], bool] | None = None, *, again: bool = False) -> int:
    """Index the filed talks missing from the index (`again`: every talk, from nothing).
    Returns how many were indexed; resumable when stopped."""
    if not archive_filed(config):
        return 0
    from pipeline.ledger import Ledger
    from pipeline.search.index import catch_up, rebuild

    with Ledger(config.output.ledger_path) as ledger:
        work = rebuild if again else catch_up
        return work(ledger, on_progress, should_stop)


def check_query(words: str) -> None:
    """QueryError (exit 2) when `words` hold nothing to look for: asked before any work."""
    from pipeline.search.query import parse

    parse(words)


def search_archive(config: Config, words: str, *, speaker: str | None = None,
                   years: tuple[int, int] | None = None, limit: int = 20,
                   on_progress: Progress | None = None) -> list[TalkHits]:
    """The best `limit` moments for `words`, grouped by talk (QueryError, exit 2, for a
    query with nothing to look for or a speaker nobody is filed under)."""
    check_query(words)  # a query that cannot run says so before any indexing
    if not archive_filed(config):
        return []
    from pipeline.ledger import Ledger
    from pipeline.search.hits import search
    from pipeline.search.index import catch_up

    with Ledger(config.output.ledger_path) as ledger:
        catch_up(ledger, on_progress)
        return search(ledger, words, speaker=speaker, years=years, limit=limit)


def hits_in_talk(config: Config, file_id: int, words: str) -> list[Hit]:
    """Every moment of one talk that matches, in time order."""
    from pipeline.ledger import Ledger
    from pipeline.search.hits import talk_hits

    with Ledger(config.output.ledger_path) as ledger:
        return talk_hits(ledger, file_id, words)


def marked_transcript(config: Config, file_id: int, words: str) -> list[tuple[Cue, str]]:
    """One talk's cues (start, end, text), each with the wanted words marked."""
    from pipeline.ledger import Ledger
    from pipeline.search.hits import marked_cues

    with Ledger(config.output.ledger_path) as ledger:
        return marked_cues(ledger, file_id, words)


def parse_years(text: str) -> tuple[int, int]:
    """--year 2019 or 2019-2021 (QueryError, exit 2, otherwise)."""
    from pipeline.search.query import parse_years as years

    return years(text)


def clips_folder(config: Config) -> Path:
    return config.output.clips


def write_clip(config: Config, talk: TalkHits, hit: Hit) -> Path:
    """About CLIP_S seconds of the filed recording around a hit, as an .mp3 in the clips
    folder (named by the talk and the moment, so asking twice reuses it). MediaError when
    ffmpeg cannot cut it; the recording itself is never touched."""
    from common.media import cut_sample

    source = Path(talk.talk)
    start = max(0.0, hit.at - CLIP_S / 3)
    stem = re.sub(r"[^\w\- ]+", "", Path(talk.talk).stem).strip() or f"talk {talk.file_id}"
    target = clips_folder(config) / f"{stem} at {clock(hit.at).replace(':', '.')}.mp3"
    if target.is_file():
        return target
    return cut_sample(source, start, CLIP_S, target)


def clock(seconds: float) -> str:
    """h:mm:ss, as a hit's time is shown."""
    whole = max(0, int(seconds))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"
