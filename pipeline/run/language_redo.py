"""A filed talk transcribed again in the language a person says it is in (`talks language`).

The person's word goes into the ledger (source "person", which the transcribe stage takes
as it is and never detects over), the talk's work is forgotten as --full-scan forgets it
(`start_over`), and the talk goes through the stages again at once, from its original when
that is still there unchanged, else from its raw backup. The organize stage replaces the
previous filing, so the talk is re-filed in place: under a new name only when its new words
give it a new title.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from common.errors import ExitCode, TalksError
from pipeline.config.languages import CODES_HINT, SOURCES, is_language, language_name, meant
from pipeline.config.settings import Config
from pipeline.filing.relabel import find_talk
from pipeline.ledger import FileRow, Ledger
from pipeline.run.batch import recorded_run
from pipeline.run.events import BatchFinished, FileQueued, OnEvent
from pipeline.run.file_flow import process_file, start_over
from pipeline.run.states import FileState, OutcomeStatus
from pipeline.run.summary import BatchSummary, Outcome
from pipeline.stages.context import StopFlag

PERSON = "person"  # the ledger's language_source for a person's word


class NotALanguage(TalksError):
    """A code Whisper does not know: nothing was changed, the command was given wrong."""

    exit_code = ExitCode.USAGE


class RecordingGone(TalksError):
    """Neither the original nor its raw backup is there to be heard again (exit 1)."""


def checked_code(text: str) -> str:
    """The Whisper code `text` is, or NotALanguage saying what to give instead."""
    code = text.strip()
    if is_language(code):
        return code
    guess = meant(code)
    raise NotALanguage(f"{text!r} is not a language code Whisper knows"
                       + (f" ({guess}?)" if guess else "")
                       + f": give {CODES_HINT}. Nothing was changed.")


@dataclass(frozen=True)
class LanguageSet:
    before: FileRow  # the talk as it was
    row: FileRow  # the talk as the ledger has it now
    outcome: Outcome | None  # None: it was in that language already; nothing was done again
    source: Path | None = None  # the recording it was transcribed again from


def recording_of(ledger: Ledger, row: FileRow) -> Path:
    """What the talk can be heard again from: its original, when it is where it was found
    with the same content, else its raw backup."""
    for where in (row.path, row.raw_backup):
        if not where:
            continue
        path = Path(where)
        try:
            if path.is_file() and ledger.hash_of(path) == row.hash:
                return path
        except OSError:
            continue  # unreadable: the other one may do
    backup = (f"its raw backup ({row.raw_backup})" if row.raw_backup
              else "a raw backup under raw/ (none was kept: [output] raw_backup)")
    raise RecordingGone(f"{row.name} cannot be heard again: neither its original "
                        f"({row.path}) nor {backup} is there with the same content. Put the "
                        f"recording back at {row.path} and run the command again; nothing "
                        "was changed.")


def in_language(config: Config, ledger: Ledger, ref: str, code: str, emit: OnEvent,
                control: StopFlag | None) -> LanguageSet:
    """Talk `ref` transcribed again in `code` now, and re-filed (see the module's text)."""
    code = checked_code(code)
    row = find_talk(ledger, ref, redone=True)
    if row.state == FileState.FILED and row.language == code:
        # Transcribed in that language already: the person's word is kept, so that no
        # detection or folder ever changes it; hearing it again would give the same words.
        ledger.update(row.id, language_probability=None, language_source=PERSON)
        return LanguageSet(row, ledger.get(row.id), None)
    source = recording_of(ledger, row)
    stopped_in_it = (row.state != FileState.FILED and row.language == code
                     and row.language_source == PERSON)
    if not stopped_in_it:  # (one stopped half-way in this language goes on where it was)
        start_over(ledger, row.id, language=code, language_probability=None,
                   language_source=PERSON)
    outcome = _transcribe(config, ledger, source, emit, control)
    return LanguageSet(row, ledger.get(row.id), outcome, source)


def _transcribe(config: Config, ledger: Ledger, source: Path, emit: OnEvent,
                control: StopFlag | None) -> Outcome:
    """The talk through the stages as a run of one recording, kept in the ledger's runs (the
    last run `talks status` tells of) as a batch's are."""
    began = time.monotonic()
    summary = BatchSummary()
    run_id = ledger.start_run()
    emit(FileQueued(source.name, 1, 1))
    with recorded_run(ledger, run_id, summary, began):
        summary.outcomes.append(process_file(source, config, emit, control, ledger=ledger,
                                             run_id=run_id))
    emit(BatchFinished(summary.count(OutcomeStatus.FILED), summary.count(OutcomeStatus.FAILED),
                       summary.count(OutcomeStatus.SKIPPED), 0, round(summary.seconds, 2)))
    return summary.outcomes[0]


def said_by(row: FileRow) -> str:
    """Which language a talk is in and who said so, as a person reads it."""
    if not row.language:
        return "no language is recorded for it (it was transcribed before talks kept one)"
    sure = (f", {row.language_probability:.0%} sure" if row.language_probability is not None
            else "")
    who = SOURCES.get(row.language_source or "", "no one knows whom")
    return f"it is in {language_name(row.language)} ({row.language}): {who}{sure}"
