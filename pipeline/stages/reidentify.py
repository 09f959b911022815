"""The archive follows the library: talks filed under the default speaker are identified again
when the speaker library changes, from the voice kept for each talk, never transcribed again.

A first run with an empty library files everyone under the default speaker. Once people are
enrolled, each run compares the library with the one the archive was last identified against
(a fingerprint of every clip's content, the backend and the decision rules, kept in the
ledger). When they differ, every talk still under the default speaker — unknown, or waiting
for review, and not put there by a person — is scored again by the same rules as a new talk:
a match is re-filed under its person, a close call is listed for review, the rest stay.

The voice of a talk filed before voices were kept (or by another backend) is heard once from
its filed copy, at the places its transcript says someone speaks (on a compact copy's own
clock), and kept. All of it runs in one worker process: one model load for the whole archive.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from pipeline.config.settings import Config, decision_values
from pipeline.filing.relabel import RelabelError, refile
from pipeline.ledger import FileRow, Ledger
from pipeline.run.events import ArchiveFollowed, LogLine, OnEvent, TalkReidentified
from pipeline.run.logs import get_logger
from pipeline.run.memory import checkpoint
from pipeline.run.states import Stage
from pipeline.run.worker import StopFlag, WorkerLink, WorkerResult, WorkerStatus, run_in_worker
from pipeline.stages.identify import embedder_settings, one_blas_thread, read_clip, rules_of
from pipeline.stages.voices import hear_again, waiting_for_a_name
from speakers.decisions import SpeakerDecision
from speakers.embedding import cache_key, create_embedder
from speakers.library import SpeakerLibrary
from speakers.voice_match import (
    decide,
    enrolled_embeddings,
    score_sample,
)

# The ledger fact naming the library the archive's talks were last identified against.
IDENTIFIED_AGAINST = "library identified against"


@dataclass(frozen=True)
class Moved:
    file: str  # the recording's name
    speaker: str
    destination: str


@dataclass(frozen=True)
class Followed:
    """What one pass over the archive did."""
    checked: int
    moved: tuple[Moved, ...]
    to_review: int
    not_heard: tuple[str, ...]  # talks whose voice could not be heard (filed copy gone)


def library_fingerprint(config: Config, ledger: Ledger) -> str | None:
    """What the talks' identification depended on: each person's clips (by content), the
    backend and the rules. None when nobody is enrolled or identification is off: nothing
    can move then."""
    sp = config.speakers
    if not sp.identify:
        return None
    people = SpeakerLibrary(sp.folder).people()
    if not people:
        return None
    clips = sorted((p.name, ledger.hash_of(c)) for p in people for c in p.clips)
    values = decision_values(sp)
    key = [cache_key(embedder_settings(config)), sp.scoring, values.threshold,
           values.unknown_below, values.margin, sp.min_agreement, clips]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()


def waiting_talks(config: Config, ledger: Ledger) -> list[FileRow]:
    """Filed talks under the default speaker that the program put there (not a person)."""
    return [r for r in waiting_for_a_name(config, ledger)
            if r.destination and r.speaker_decision != SpeakerDecision.MANUAL]


def to_identify_again(config: Config, ledger: Ledger) -> list[FileRow]:
    """The talks the next run identifies again: none unless the library changed since the
    archive was last identified."""
    fingerprint = library_fingerprint(config, ledger)
    if fingerprint is None or ledger.fact(IDENTIFIED_AGAINST) == fingerprint:
        return []
    return waiting_talks(config, ledger)


def follow_library(config: Config, ledger: Ledger, emit: OnEvent,
                   control: StopFlag | None) -> Followed | None:
    """Identify the waiting talks again when the library changed since they were last
    identified; None when it had not (or nothing could be done this run: said, and tried
    again next run)."""
    fingerprint = library_fingerprint(config, ledger)
    if fingerprint is None or ledger.fact(IDENTIFIED_AGAINST) == fingerprint:
        return None
    talks = waiting_talks(config, ledger)
    followed = Followed(0, (), 0, ())
    if talks:
        emit(LogLine("speakers", "INFO",
                     f"The speaker library changed: {len(talks)} talk(s) filed under "
                     f"{config.speakers.default_speaker} are identified again from their "
                     "voices (nothing is transcribed again)."))
        result = run_in_worker(reidentify_job, ([r.id for r in talks], config, os.getpid()),
                               emit, control, stall_seconds=600.0, stage=Stage.IDENTIFY)
        if result.status != WorkerStatus.DONE:
            if result.detail:
                get_logger().error("re-identify worker error:\n%s", result.detail)
            if result.status != WorkerStatus.CANCELLED:
                emit(LogLine("speakers", "WARNING",
                             f"Talks under {config.speakers.default_speaker} could not be "
                             f"identified again ({result.message}); the next run tries again."))
            return None
        followed = _act_on_decisions(config, ledger, [ledger.get(r.id) for r in talks], emit)
        emit(ArchiveFollowed(followed.checked, tuple((m.file, m.speaker, m.destination)
                                                     for m in followed.moved),
                             followed.to_review))
    # A talk not heard (its filed copy gone) is said once, and tried at the next change.
    ledger.set_fact(IDENTIFIED_AGAINST, fingerprint)
    return followed


def _act_on_decisions(config: Config, ledger: Ledger, talks: list[FileRow],
                      emit: OnEvent) -> Followed:
    """Each talk where its new decision puts it: under its person, in review, or left."""
    moved: list[Moved] = []
    to_review = 0
    not_heard = []
    for row in talks:
        evidence = row.speaker_evidence or {}
        if evidence.get("not_heard"):
            not_heard.append(row.name)
            emit(LogLine(row.name, "WARNING", evidence["not_heard"]))
            continue
        if row.speaker_decision == SpeakerDecision.MATCH and evidence.get("speaker"):
            try:
                done = refile(config, ledger, row, str(evidence["speaker"]), confirmed=False)
            except RelabelError as exc:
                emit(LogLine(row.name, "WARNING", str(exc)))
                continue
            ledger.update(row.id, needs_review=0)
            moved.append(Moved(row.name, done.row.speaker or "", str(done.talk)))
        elif row.speaker_decision == SpeakerDecision.REVIEW:
            ledger.update(row.id, needs_review=1)
            to_review += 1
        else:
            ledger.update(row.id, needs_review=0)
    return Followed(len(talks), tuple(moved), to_review, tuple(not_heard))


# --- in the worker process ----------------------------------------------------------------

def reidentify_job(link: WorkerLink, file_ids: list[int], config: Config,
                   root_pid: int) -> None:
    from common.media import MediaError

    sp = config.speakers
    embedder = create_embedder(embedder_settings(config))
    try:
        embedder.load()
        one_blas_thread()
        link.send(checkpoint("speaker model loaded (identifying the archive again)", root_pid))
        with Ledger(config.output.ledger_path) as ledger:
            unreadable: list[Path] = []
            enrolled, _fresh = enrolled_embeddings(SpeakerLibrary(sp.folder).people(),
                                                   embedder, ledger, read_clip, unreadable)
            rules = rules_of(config)
            for position, file_id in enumerate(file_ids, start=1):
                if link.should_stop():
                    link.send(WorkerResult(WorkerStatus.CANCELLED))
                    return
                row = ledger.get(file_id)
                voice = ledger.talk_voice(file_id, embedder.cache_key)
                if voice is None:
                    try:
                        voice = hear_again(ledger, row, config, embedder)
                    except (MediaError, OSError) as exc:
                        ledger.update(file_id, speaker_evidence={
                            **(row.speaker_evidence or {}),
                            "not_heard": f"Its voice could not be heard from the filed copy "
                                         f"{row.destination} ({exc}): put the copy back, and "
                                         "the next change to the library tries again."})
                        continue
                decision = decide([score_sample(v, enrolled, sp.scoring) for v in voice], rules)
                evidence = {**decision.evidence(),
                            "samples": (row.speaker_evidence or {}).get("samples", []),
                            "identified_again": True}
                ledger.update(file_id, speaker_decision=decision.kind,
                              speaker_evidence=evidence)
                link.send(TalkReidentified(row.name, position, len(file_ids), decision.kind,
                                           decision.speaker or sp.default_speaker))
    finally:
        embedder.unload()
        link.send(checkpoint("speaker model unloaded", root_pid))
    link.send(WorkerResult(WorkerStatus.DONE))
