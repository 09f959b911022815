"""The queue of a run: the recordings in the input folders in order, those still being copied
in last and only once settled; when asked for more, the folders looked at again."""

from __future__ import annotations

from pathlib import Path

from common.names import readable
from pipeline.config.settings import Config
from pipeline.inbox.discover import discover, name_not_text, split_takeable
from pipeline.inbox.settle import SettleWatch
from pipeline.ledger import Ledger
from pipeline.run.control import RunControl
from pipeline.run.events import FileFailed, FileQueued, FileSkipped, OnEvent, TalkIndexed
from pipeline.run.housekeeping import before_the_queue
from pipeline.run.in_flight import file_them
from pipeline.run.states import OutcomeStatus, Stage
from pipeline.run.summary import BatchSummary, Outcome, Refiled
from pipeline.search.index import catch_up
from pipeline.stages.reidentify import follow_library
from pipeline.stages.voices import keep_voices


def file_the_inbox(config: Config, emit: OnEvent, control: RunControl, ledger: Ledger,
                    run_id: int, full_scan: bool, summary: BatchSummary) -> None:
    before_the_queue(config, ledger)
    _follow_library(config, emit, control, ledger, summary)
    taken: set[Path] = set()
    aside: set[Path] = set()
    paths = _takeable(discover(config), aside, emit, summary)
    watch = SettleWatch(config.input.settle_seconds)
    while paths:
        # Files still being copied in go last, and only once they have settled.
        ready, arriving = watch.split(paths)
        for position, path in enumerate(ready + arriving, start=len(taken) + 1):
            emit(FileQueued(path.name, position, len(taken) + len(paths)))
        taken.update(paths)
        file_them(ready, config, emit, control, ledger, run_id, full_scan, summary)
        if arriving and not control.is_set():
            late, still = watch.wait(arriving, timeout=2 * config.input.settle_seconds)
            file_them(late, config, emit, control, ledger, run_id, full_scan, summary)
            for path in still:
                reason = (f"still being copied in (it changed in the last "
                          f"{config.input.settle_seconds:g} s): a later run takes it")
                emit(FileSkipped(path.name, reason))
                summary.outcomes.append(Outcome(path.name, OutcomeStatus.WAITING,
                                                reason=reason))
                taken.discard(path)  # a look for more may find it settled
        more = control.take_more()
        found = [p for p in discover(config) if p not in taken] if more else []
        paths = _takeable(found, aside, emit, summary)
    if not control.is_set():
        catch_up(ledger, lambda done, total: emit(TalkIndexed(done, total)) if done else None,
                 control.is_set)
    if not control.is_set():
        keep_voices(config, ledger, emit, control)
    groups = ledger.voice_groups()
    summary.voice_groups, summary.voice_group_talks = len(set(groups.values())), len(groups)


def _follow_library(config: Config, emit: OnEvent, control: RunControl, ledger: Ledger,
                    summary: BatchSummary) -> None:
    """Talks filed under the default speaker before the library knew their speaker move to
    them now, before new recordings are filed."""
    followed = follow_library(config, ledger, emit, control)
    if followed is not None:
        summary.refiled.extend(Refiled(m.file, m.speaker, m.destination)
                               for m in followed.moved)
        summary.to_review += followed.to_review


def _takeable(paths: list[Path], aside: set[Path], emit: OnEvent,
              summary: BatchSummary) -> list[Path]:
    """The paths a run can take. A recording whose name is not text fails here (once a
    run: `aside`), saying what to do, and the rest of the batch goes on."""
    kept, refused = split_takeable(paths)
    for path in refused:
        if path not in aside:
            aside.add(path)
            name, reason = readable(path.name), name_not_text(path)
            emit(FileFailed(name, Stage.DISCOVER, reason))
            summary.outcomes.append(Outcome(name, OutcomeStatus.FAILED, stage=Stage.DISCOVER,
                                            reason=reason))
    return kept
