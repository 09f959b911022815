"""The decision of a talk's language and model before its chunks (stages/talk_language.py),
on a real ledger, for talks whose language the ledger already has or the config gives (no
model is loaded: the detection itself is tests/pipeline/asr/test_language.py, and the whole
story through a real batch is tests/pipeline/run/test_batch_languages.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config.settings import load_config
from pipeline.ledger import Ledger
from pipeline.run.events import Event, LanguageHeard, LogLine
from pipeline.run.states import FileState, Stage, StageError
from pipeline.stages.context import StageContext
from pipeline.stages.talk_language import TalkLanguage, needs_detection, talk_language


class Talk:
    """One probed recording in a real ledger, and what its stage context was told."""

    def __init__(self, tmp_path: Path, transcription: str = "", inputs: str = "",
                 **language: object):
        tmp_path.mkdir(parents=True, exist_ok=True)
        config_path = tmp_path / "config.toml"
        config_path.write_text(f'[input]\nfolders = ["inbox"]\n{inputs}[output]\nroot = "out"\n'
                               f'[transcription]\n{transcription}', encoding="utf-8")
        self.config = load_config(config_path)
        source = tmp_path / "inbox" / "talk.mp3"
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_bytes(b"not looked at: the ledger says what it is in")
        self.ledger = Ledger(self.config.output.ledger_path)
        row, _ = self.ledger.register(source, self.ledger.hash_of(source))
        self.ledger.advance(row.id, FileState.PROBED, duration=60.0, year=2020)
        if language:
            self.ledger.update(row.id, **language)
        self.told: list[Event] = []
        self.ctx = StageContext(source, self.config, self.ledger, self.ledger.start_run(),
                                self.told.append, None, self.ledger.get(row.id))

    def decide(self) -> TalkLanguage:
        return talk_language(self.ctx)

    def stored(self) -> tuple:
        row = self.ledger.get(self.ctx.row.id)
        return row.language, row.language_probability, row.language_source

    def notes(self) -> list[str]:
        return [e.message for e in self.told if isinstance(e, LogLine) and e.level == "WARNING"]

    def heard(self) -> list[LanguageHeard]:
        return [e for e in self.told if isinstance(e, LanguageHeard)]


def test_a_talk_surely_in_french_fails_with_an_english_only_model_until_the_setting_changes(
        tmp_path):
    talk = Talk(tmp_path, language="fr", language_probability=0.93, language_source="detected")
    with pytest.raises(StageError) as failed:
        talk.decide()
    assert failed.value.stage == Stage.TRANSCRIBE
    row_id = talk.ctx.row.id
    assert str(failed.value) == (
        'Heard French (fr, 93 % sure), but tiny.en transcribes English only: set '
        '[transcription] model = "auto" (or "base") in place of tiny.en and run again, or, if '
        f'the talk is in English after all, run `talks language {row_id} en`.')
    assert talk.heard() == [LanguageHeard("talk.mp3", "fr", 0.93, "detected")]
    assert talk.stored() == ("fr", 0.93, "detected")  # kept for the next try
    # The next try, with model = "auto": the kept detection, by base, nothing heard again.
    again = Talk(tmp_path / "again", 'model = "auto"\n', language="fr",
                 language_probability=0.93, language_source="detected")
    assert again.decide() == TalkLanguage("fr", "base")


@pytest.mark.parametrize(("source", "said"), [
    ("person", "It was set to French (fr) with `talks language`"),
    ("folder", "Its folder is set to French (fr) in [input] languages"),
])
def test_a_language_set_by_a_person_or_a_folder_is_held_to_the_model_too(tmp_path, source,
                                                                          said):
    talk = Talk(tmp_path, language="fr", language_source=source)
    with pytest.raises(StageError, match="tiny.en transcribes English only") as failed:
        talk.decide()
    assert str(failed.value).startswith(said + ", but ")


def test_an_unsure_other_language_with_an_english_only_model_is_transcribed_in_english(
        tmp_path):
    talk = Talk(tmp_path, language="fr", language_probability=0.42,
                language_source="detected")
    assert talk.decide() == TalkLanguage("en", "tiny.en")
    [note] = talk.notes()
    assert "French (fr, 42 % sure)" in note and "transcribed in English" in note
    assert 'model = "auto"' in note and f"`talks language {talk.ctx.row.id} fr`" in note
    assert talk.stored() == ("en", None, "config")
    assert talk.heard() == [LanguageHeard("talk.mp3", "en", None, "config")]


def test_an_unsure_detection_is_said_and_kept_with_a_model_that_knows_it(tmp_path):
    talk = Talk(tmp_path, 'model = "auto"\n', language="es", language_probability=0.44,
                language_source="detected")
    assert talk.decide() == TalkLanguage("es", "base")
    [note] = talk.notes()
    assert note.startswith("the language sounded most like Spanish (es, 44 % sure)")
    assert f"`talks language {talk.ctx.row.id} CODE`" in note
    assert talk.stored() == ("es", 0.44, "detected")


def test_model_auto_gives_english_to_tiny_en_and_the_rest_to_base(tmp_path):
    english = Talk(tmp_path / "en", 'model = "auto"\n', language="en",
                   language_probability=0.98, language_source="detected")
    assert english.decide() == TalkLanguage("en", "tiny.en")
    assert english.notes() == []
    german = Talk(tmp_path / "de", 'model = "auto"\n', language="de",
                  language_probability=0.91, language_source="detected")
    assert german.decide() == TalkLanguage("de", "base")
    assert german.heard() == [LanguageHeard("talk.mp3", "de", 0.91, "detected")]


def test_the_configs_language_is_taken_without_hearing_when_its_model_knows_it(tmp_path):
    talk = Talk(tmp_path, 'model = "base"\nlanguage = "fr"\n')
    assert talk.decide() == TalkLanguage("fr", "base")  # no worker: nothing to hear
    assert talk.stored() == ("fr", None, "config")
    assert talk.heard() == [LanguageHeard("talk.mp3", "fr", None, "config")]


def test_a_folder_given_a_language_in_input_languages_is_not_heard(tmp_path):
    talk = Talk(tmp_path, 'model = "auto"\nlanguage = "auto"\n',
                inputs='languages = {"inbox" = "es"}\n')
    assert talk.decide() == TalkLanguage("es", "base")  # no worker: the folder says it
    assert talk.stored() == ("es", None, "folder")
    assert talk.heard() == [LanguageHeard("talk.mp3", "es", None, "folder")]


@pytest.mark.parametrize(("transcription", "heard"), [
    ("", True),  # the default: tiny.en told "en" still hears each talk
    ("check_language = false\n", False),  # unless the person vouches all talks are English
    ('check_language = false\nlanguage = "auto"\n', True),  # "auto" is always heard
    ('language = "auto"\n', True),
    ('model = "auto"\n', True),  # "en" would go to tiny.en: a French talk must be caught
    ('model = "base"\n', False),
    ('model = "base"\nlanguage = "auto"\n', True),
    ('model = "auto"\nlanguage = "de"\n', False),  # base, told German
    ('model = "tiny.en"\nlanguage = "fr"\n', True),
])
def test_which_configs_hear_each_talk(tmp_path, transcription, heard):
    assert needs_detection(Talk(tmp_path, transcription).config) is heard


@pytest.mark.parametrize(("source", "kept"), [("detected", False), ("config", False),
                                               ("person", True)])
def test_a_full_scan_hears_a_talk_again_unless_a_person_set_its_language(tmp_path, source,
                                                                         kept):
    from pipeline.run.control import RunControl
    from pipeline.run.file_flow import process_file

    talk = Talk(tmp_path, language="fr", language_probability=0.9, language_source=source)
    stopped = RunControl()
    stopped.ask("stop")  # before any stage: only the full scan's forgetting runs
    outcome = process_file(talk.ctx.path, talk.config, talk.told.append, stopped,
                           ledger=talk.ledger, full_scan=True)
    assert outcome.status == "cancelled"
    assert talk.stored() == (("fr", 0.9, source) if kept else (None, None, None))
