"""Every talk's voice kept, and the voices nobody has named grouped across the archive.

After each run's queue, one worker (one model load for all) hears the filed talks whose main
voice is not kept yet — a talk filed with an empty library, or before voices were kept — from
the samples the identify stage kept, or else once from the raw backup or the filed copy
(never by transcribing again), resumably: each voice is saved as it is heard. Then the talks
under the default speaker are grouped by voice (speakers/voice_groups.py) and the groups
kept, their ids stable from run to run. `talks voices` names them.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from common.names import same_name
from pipeline.config.settings import Config
from pipeline.filing.compact import TimeMap
from pipeline.ledger import FileRow, Ledger
from pipeline.run.events import LogLine, OnEvent, VoiceHeard, VoicesGrouped
from pipeline.run.logs import get_logger
from pipeline.run.memory import checkpoint
from pipeline.run.states import Stage
from pipeline.run.worker import StopFlag, WorkerLink, WorkerResult, WorkerStatus, run_in_worker
from pipeline.stages.identify import (
    embed_samples,
    embedder_settings,
    keep_main_voice,
    one_blas_thread,
    talk_speech,
)
from speakers.calibration import grouping
from speakers.embedding import cache_key, create_embedder
from speakers.voice_match import Span, plan_speech_samples

# The ledger facts: what the groups were last made of, and the next new group's id.
GROUPED_FOR = "voices grouped for"
NEXT_GROUP = "next voice group"


@dataclass(frozen=True)
class Grouped:
    groups: int  # groups of two or more talks waiting for a name
    talks: int   # the talks in them


def waiting_for_a_name(config: Config, ledger: Ledger) -> list[FileRow]:
    """Filed talks under the default speaker: the voices the groups are made of."""
    default = config.speakers.default_speaker
    return [r for r in ledger.all_files()
            if r.state == "filed" and same_name(r.speaker or "", default)]


def _grouping_key(ledger: Ledger, backend: str, waiting: list[int]) -> str:
    """What the groups depend on: the waiting talks, the corrections and the rule."""
    key = [backend, sorted(waiting),
           sorted(sorted(p) for p in ledger.voice_links("together")),
           sorted(sorted(p) for p in ledger.voice_links("apart")),
           vars(grouping(backend))]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()


def keep_voices(config: Config, ledger: Ledger, emit: OnEvent,
                control: StopFlag | None, regroup: bool = False) -> Grouped | None:
    """Hear the talks whose voice is not kept, and group the unnamed ones again when what
    the groups depend on changed (`regroup`: in any case). None when nothing was to do, or
    when it could not be done this time (said; the next run tries again)."""
    if not config.speakers.identify:
        return None
    backend = cache_key(embedder_settings(config))
    unheard = ledger.unvoiced(backend)
    waiting = [r.id for r in waiting_for_a_name(config, ledger)]
    key = _grouping_key(ledger, backend, waiting)
    if not unheard and not regroup and ledger.fact(GROUPED_FOR) == key:
        return None
    if not unheard and len(waiting) < 2:
        # One voice or none waiting: no group can form, and no worker is needed to say so.
        ledger.set_voice_groups({})
        ledger.set_fact(GROUPED_FOR, key)
        return None
    result = run_in_worker(voices_job, ([r.id for r in unheard], config, os.getpid()), emit,
                           control, stall_seconds=600.0, stage=Stage.IDENTIFY)
    if result.status != WorkerStatus.DONE:
        if result.detail:
            get_logger().error("voices worker error:\n%s", result.detail)
        if result.status != WorkerStatus.CANCELLED:
            emit(LogLine("voices", "WARNING", f"The talks' voices could not be kept or "
                         f"grouped ({result.message}); the next run tries again."))
        return None
    # (the worker only hears and groups: the waiting talks are the same as before it)
    ledger.set_fact(GROUPED_FOR, key)
    groups = ledger.voice_groups()
    done = Grouped(len(set(groups.values())), len(groups))
    emit(VoicesGrouped(done.groups, done.talks))
    return done


# --- in the worker process ----------------------------------------------------------------

def filed_samples(ledger: Ledger, row: FileRow, config: Config) -> tuple[Path, list[list[Span]]]:
    """Where to hear a filed talk's voice, and the samples a new talk would take (placed by
    its transcript), on that audio's clock (see `where_to_hear`)."""
    sp = config.speakers
    samples = plan_speech_samples(talk_speech(ledger, row.id), row.duration or 0.0,
                                  sp.sample_count, sp.sample_seconds, sp.sample_offset_s,
                                  sp.skip_end_s)
    return where_to_hear(row, samples)


def where_to_hear(row: FileRow, samples: list[list[Span]]) -> tuple[Path, list[list[Span]]]:
    """The audio to cut a filed talk's speech from, and `samples` (pieces on the original's
    clock) on its clock: the raw backup while it is kept (the original's own audio and
    clock), else the filed copy, on its own clock when it is a compact one."""
    if row.raw_backup and Path(row.raw_backup).is_file():
        return Path(row.raw_backup), samples
    kept = (row.compact or {}).get("pieces")
    if kept:
        clock = TimeMap(tuple((int(a), int(n)) for a, n in kept),
                        int((row.compact or {}).get("original_samples", 0)))
        samples = [[(clock.to_compact(a), clock.to_compact(a + n) - clock.to_compact(a))
                    for a, n in pieces] for pieces in samples]
        samples = [[(a, n) for a, n in pieces if n > 0] for pieces in samples]
    return Path(row.destination or ""), samples


def hear_again(ledger: Ledger, row: FileRow, config: Config, embedder) -> list:
    """The talk's voice, sample by sample, from its raw backup or filed copy (see
    `filed_samples`), kept in the ledger with its main voice."""
    voice, _heard = embed_samples(*filed_samples(ledger, row, config), embedder)
    ledger.save_talk_voice(row.id, embedder.cache_key, voice)
    keep_main_voice(ledger, row.id, embedder.cache_key, voice)
    return voice


def _hear(link: WorkerLink, ledger: Ledger, file_ids: list[int], config: Config,
          backend: str, root_pid: int) -> bool:
    """The voices not kept yet; False when asked to stop."""
    from common.media import MediaError

    embedder = None
    try:
        for position, file_id in enumerate(file_ids, start=1):
            if link.should_stop():
                return False
            row = ledger.get(file_id)
            samples = ledger.talk_voice(file_id, backend)
            if samples is not None:  # heard by the identify stage: no model needed
                keep_main_voice(ledger, file_id, backend, samples)
            else:
                if embedder is None:
                    embedder = create_embedder(embedder_settings(config))
                    embedder.load()
                    one_blas_thread()
                    link.send(checkpoint("speaker model loaded (keeping voices)", root_pid))
                try:
                    hear_again(ledger, row, config, embedder)
                except (MediaError, OSError) as exc:
                    keep_main_voice(ledger, file_id, backend, [])  # tried: not every run
                    get_logger().warning("%s: its voice could not be heard from %s (%s); "
                                         "`talks voices --regroup` tries again once it is "
                                         "back", row.name, row.destination, exc)
            link.send(VoiceHeard(row.name, position, len(file_ids)))
    finally:
        if embedder is not None:
            embedder.unload()
            link.send(checkpoint("speaker model unloaded", root_pid))
    return True


def group_again(config: Config, ledger: Ledger, backend: str) -> dict[int, int]:
    """The unnamed voices grouped anew, each group keeping its id (talk -> group id)."""
    import numpy as np

    from speakers.voice_groups import Voices, keep_ids

    waiting = [r.id for r in waiting_for_a_name(config, ledger)]
    heard = ledger.voices(backend, waiting)
    ids = sorted(heard)
    vectors = np.stack([heard[i] for i in ids]) if ids else np.zeros((0, 1), np.float32)
    voices = Voices(ids, vectors, grouping(backend), together=ledger.voice_links("together"),
                    apart=ledger.voice_links("apart"))
    old = ledger.voice_groups()
    next_id = int(ledger.fact(NEXT_GROUP) or 1)
    next_id = max([next_id, *[g + 1 for g in old.values()]])
    groups = keep_ids(voices.groups(), old, next_id)
    with ledger.transaction():
        ledger.set_voice_groups(groups)
        ledger.set_fact(NEXT_GROUP, str(max([next_id - 1, *groups.values()]) + 1))
    return groups


def voices_job(link: WorkerLink, file_ids: list[int], config: Config, root_pid: int) -> None:
    backend = cache_key(embedder_settings(config))
    with Ledger(config.output.ledger_path) as ledger:
        if not _hear(link, ledger, file_ids, config, backend, root_pid):
            link.send(WorkerResult(WorkerStatus.CANCELLED))
            return
        group_again(config, ledger, backend)
    link.send(WorkerResult(WorkerStatus.DONE))
