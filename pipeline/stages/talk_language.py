"""The language a talk is transcribed in: decided once, before its first chunk.

The ledger keeps it (language, how sure, who said so) and a talk that has one keeps it: a
person's `talks language`, a folder's `[input] languages`, or an earlier run's decision. A
talk without one takes, in turn:

1. its folder's language from `[input] languages` (source "folder");
2. `[transcription] language` when it is a code and the model for it is multilingual
   (source "config"): the config says what every talk is in, and the model can do it;
3. else what base's encoder hears in its opening minutes, in a short worker
   (pipeline/asr/language.py; source "detected"). The default config (tiny.en, "en") comes
   here too: an English-only model told "en" would turn a French talk into English nonsense.

Then, at every try (the config may have changed since the last): the model for that language
(`model = "auto"`: tiny.en for English, base for the rest); an English-only model and a talk
surely in another language fail the talk with the sentence that says what to set; a doubtful
detection is said in a note.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pipeline.asr.language import is_language_code, language_name
from pipeline.asr.models import AUTO_MODEL, is_english_only, model_for
from pipeline.config.languages import language_for_folder
from pipeline.config.settings import Config
from pipeline.ledger import FileRow, Ledger
from pipeline.run.events import LanguageHeard, LogLine
from pipeline.run.logs import get_logger
from pipeline.run.memory import checkpoint
from pipeline.run.states import Stage, StageError
from pipeline.run.worker import WorkerLink, WorkerResult, WorkerStatus
from pipeline.stages.context import StageContext, run_short_worker

# Below this a detection is said to be unsure. Whisper's language probabilities are a softmax
# over ~100 languages: under one half, the other languages together are likelier than the one
# named, and espeak-ng's clear speech in French, German, Spanish and Italian is named at 0.6
# to 0.9 while its Portuguese and Dutch, which base mistakes, stay under 0.5 or near it.
SURE = 0.5


@dataclass(frozen=True)
class TalkLanguage:
    language: str  # Whisper's code of the language it is transcribed in
    model: str  # the Whisper model that transcribes it (the config's, or "auto"'s pick)


def folder_language(config: Config, path: Path) -> str | None:
    """The language `[input] languages` gives the folder `path` is in, or None."""
    return language_for_folder(config, path)


def needs_detection(config: Config) -> bool:
    """Whether a talk of this config may be heard by base (`talks config validate` then
    checks base is there): unless every talk takes the config's language."""
    t = config.transcription
    if is_language_code(t.language) and not t.check_language:
        return False  # the person vouches that every talk is in that language
    return not (is_language_code(t.language)
                and not is_english_only(model_for(t.model, t.language)))


# --- in the run's process -----------------------------------------------------------------


def talk_language(ctx: StageContext) -> TalkLanguage:
    """The talk's language and model, decided now if the ledger has none yet (and kept
    there), said to the faces; a StageError when the model cannot transcribe it."""
    if ctx.row.language is None:
        _decide(ctx)
        ctx.row = ctx.ledger.get(ctx.row.id)
    row, config = ctx.row, ctx.config
    language = row.language or "en"
    model = model_for(config.transcription.model, language)
    sure = row.language_source != "detected" or (row.language_probability or 0.0) >= SURE
    if language != "en" and is_english_only(model):
        if sure:
            _say(ctx, row)
            raise StageError(Stage.TRANSCRIBE, english_only(row, model))
        # Unsure, and only English can be had from this model: transcribed in English, said.
        ctx.on_event(LogLine(ctx.path.name, "WARNING", unsure_english_only(row, model)))
        ctx.ledger.update(row.id, language="en", language_probability=None,
                          language_source="config")
        row = ctx.row = ctx.ledger.get(row.id)
        language = "en"
    elif not sure:
        ctx.on_event(LogLine(ctx.path.name, "WARNING", unsure(row)))
    _say(ctx, row)
    return TalkLanguage(language, model)


def _say(ctx: StageContext, row: FileRow) -> None:
    ctx.on_event(LanguageHeard(ctx.path.name, row.language or "en", row.language_probability,
                               row.language_source or "config"))


def _decide(ctx: StageContext) -> None:
    config, row = ctx.config, ctx.row
    t = config.transcription
    chosen = folder_language(config, ctx.path)
    if chosen is not None:
        ctx.ledger.update(row.id, language=chosen, language_probability=None,
                          language_source="folder")
    elif not needs_detection(config):
        ctx.ledger.update(row.id, language=t.language, language_probability=None,
                          language_source="config")
    else:
        run_short_worker(ctx, language_job, (row.id, str(ctx.path), row.duration or 0.0,
                                             config, os.getpid()),
                         Stage.TRANSCRIBE, "language")


def _named(row: FileRow, sure: bool = False) -> str:
    """The language as a person reads it: French (fr), or French (fr, 87 % sure)."""
    code = row.language or "?"
    percent = (f", {round(row.language_probability * 100)} % sure"
               if sure and row.language_probability is not None else "")
    return f"{language_name(code)} ({code}{percent})"


def _set_it(row: FileRow, code: str = "CODE") -> str:
    return f"`talks language {row.id} {code}`"


def _multilingual(model: str) -> str:
    return f"set [transcription] model = \"{AUTO_MODEL}\" (or \"base\") in place of {model}"


def english_only(row: FileRow, model: str) -> str:
    """The sentence of a talk the configured model cannot transcribe."""
    said = {"detected": f"Heard {_named(row, sure=True)}",
            "folder": f"Its folder is set to {_named(row)} in [input] languages",
            "person": f"It was set to {_named(row)} with `talks language`",
            }.get(row.language_source or "", f"It is in {_named(row)}")
    return (f"{said}, but {model} transcribes English only: {_multilingual(model)} and run "
            f"again, or, if the talk is in English after all, run {_set_it(row, 'en')}.")


def unsure_english_only(row: FileRow, model: str) -> str:
    return (f"the language sounded most like {_named(row, sure=True)}; {model} transcribes "
            f"English only, so it is transcribed in English. If it is "
            f"{language_name(row.language or '')}, {_multilingual(model)} and run "
            f"{_set_it(row, row.language or 'CODE')}.")


def unsure(row: FileRow) -> str:
    return (f"the language sounded most like {_named(row, sure=True)}; it is transcribed in "
            f"{language_name(row.language or '')}. If that is wrong, run {_set_it(row)} with "
            "the talk's language code (en, fr, de, es, …).")


# --- in the worker process ----------------------------------------------------------------


def language_job(link: WorkerLink, file_id: int, path_str: str, duration: float,
                 config: Config, root_pid: int) -> None:
    """What the talk's opening minutes are spoken in, kept in the ledger as detected."""
    from pipeline.asr.language import detect_language

    path = Path(path_str)
    link.forward_logs(path.name)
    link.send(checkpoint("language worker started", root_pid))
    t = config.transcription
    heard = detect_language(path, duration, t.model_cache, t.threads)
    link.send(checkpoint("language heard", root_pid))
    get_logger().info("language heard in %.1f s from %.0f s of speech: %s", heard.seconds,
                      heard.speech_seconds,
                      ", ".join(f"{code} {p:.2f}" for code, p in heard.ranked))
    with Ledger(config.output.ledger_path) as ledger:
        if heard.speech_seconds:
            ledger.update(file_id, language=heard.language,
                          language_probability=heard.probability, language_source="detected")
        else:
            # No speech in the opening minutes: what base named was the sound of silence or
            # music, no language. The config's, then (a talk with no words says so later).
            ledger.update(file_id, language=t.language if is_language_code(t.language)
                          else "en", language_probability=None, language_source="config")
    link.send(WorkerResult(WorkerStatus.DONE))
