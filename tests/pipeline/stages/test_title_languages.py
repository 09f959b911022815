"""Titles in the talk's own language: its words name the subject, its function words stay
out, its word for "and" joins the parts; the title stage reads the language the ledger
holds for the talk. Transcript text only (the sentences of tests/support/speech.py), no
audio, no model."""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from pipeline.config.settings import Config
from pipeline.ledger import Ledger
from pipeline.run.states import FileState
from pipeline.stages.context import StageContext
from pipeline.stages.frequent_words import list_file, most_frequent
from pipeline.stages.title import keyword_title, title_stage, title_words
from pipeline.stages.title_words import FREQUENT, JOINERS
from tests.support.paths import ROOT
from tests.support.speech import TALKS, TALKS_IN

OTHER = [(language, topic) for language, talks in TALKS_IN.items() if language != "en"
         for topic in talks]
# Words of other languages a title must never show: their commonest function words.
FOREIGN = {"en": "the and of with about",
           "fr": "les des est une pour dans avec",
           "de": "die der und das ist mit auf",
           "es": "los las del que para con una",
           "it": "gli della che per con una sono",
           "pt": "os das que para com uma são",
           "nl": "het een van voor met zijn niet"}


def parts_of(title: str, language: str) -> list[str]:
    """The subjects of a title, split at its commas and its "and"."""
    joiner = re.escape(JOINERS[language])
    return [p for p in re.split(rf", | {joiner} | e ", title) if p]


@pytest.mark.parametrize("language, topic", OTHER)
def test_a_talk_is_titled_from_its_own_language_s_words(language, topic):
    text = " ".join(TALKS_IN[language][topic])
    title = keyword_title(text, 6, language)
    rules = title_words(language)
    words = [w.lower() for w in title.replace(",", " ").split()]
    subjects = [w for w in words if w != JOINERS[language] and not
                (language == "es" and w == "e")]
    # The talk's topic word (its key in TALKS_IN) names it, in any of its forms.
    assert any(rules.base(w) == rules.base(topic) or w.startswith(topic[:5])
               for w in subjects), title
    assert all(rules.is_content(w) for w in subjects), title  # no stop word of its own
    for other, function_words in FOREIGN.items():
        assert not set(subjects) & set(function_words.split()), (other, title)
    if len(parts_of(title, language)) > 1:
        assert f" {JOINERS[language]} " in title, title  # its own "and", never "and"
        assert " and " not in title or language == "en"
    keys = [rules.base(w) for w in subjects]
    assert len(keys) == len(set(keys)), title  # no word said twice in two forms
    assert 2 <= len(words) <= 6


@pytest.mark.parametrize("language, topic, expected", [
    ("fr", "abeilles", "Abeilles, Fleur et Ruche"),
    ("fr", "école", "Élèves, École et Enseignant"),
    ("de", "bäckerei", "Bäckerei, Brot und Teig"),
    ("de", "straße", "Straße, Sicherheit und Fahren"),
    ("es", "pescadores", "Pescadores, Mar y Barco"),
    ("es", "huerto", "Huerto y Verduras"),
    ("it", "olio", "Olio d'Oliva e Ulivi"),  # "of" makes one subject of two words
])
def test_titles_of_french_german_and_spanish_talks(language, topic, expected):
    assert keyword_title(" ".join(TALKS_IN[language][topic]), 6, language) == expected


def test_the_issue_s_french_talk_keeps_its_function_words_out():
    """Issue 32: a French talk titled "Des Femmes and Est" (English rules on French)."""
    text = ("Ce soir nous parlons des femmes dans la science. L'histoire des femmes est longue. "
            "Une femme qui étudie est souvent seule. Les femmes savantes ont changé la science. "
            "La science a besoin des femmes et des hommes. Une femme est une savante comme une "
            "autre.")
    english = keyword_title(text, 6)  # what English rules make of it
    assert "Des" in english.split() and " and " in english, english
    assert keyword_title(text, 6, "fr") == "Femmes, Science et Savantes"


def test_elided_articles_are_no_words_of_a_title_and_break_no_phrase():
    rules = title_words("it")
    assert rules.words("L'olio d'oliva dell'estate") == ["l'", "olio", "d'", "oliva", "dell'",
                                                        "estate"]
    assert not rules.is_content("l'") and rules.is_content("oliva")
    french = title_words("fr")
    assert french.words("aujourd'hui, l’eau") == ["aujourd'hui", "l'", "eau"]
    assert french.tokens("aujourd'hui, l’eau") == ["aujourd'hui", None, "l'", "eau", None]
    assert french.words("presqu'île") == ["presqu'île"]
    assert french.words(unicodedata.normalize("NFD", "élève")) == ["élève"]  # as macOS writes
    assert not french.is_content("peut-être") and french.is_content("arc-en-ciel")
    assert title_words("nl").words("auto's") == ["auto's"]  # a Dutch plural, not an elision


def test_forms_of_a_word_have_one_base_form():
    """simplemma's base forms. (It takes Spanish "flores" for the verb "florar" and Dutch
    "fietsen" for "to cycle": forms a dictionary without the sentence cannot tell apart.)"""
    pairs = {"en": [("bridges", "bridge"), ("lighthouses", "lighthouse"), ("kayaking", "kayak")],
             "fr": [("abeilles", "abeille"), ("élèves", "élève")],
             "de": [("bienen", "biene"), ("straßen", "straße"), ("bäckereien", "bäckerei")],
             "es": [("pescadores", "pescador"), ("abejas", "abeja")],
             "it": [("biciclette", "bicicletta"), ("olive", "oliva")],
             "pt": [("flores", "flor"), ("navios", "navio"), ("faróis", "farol")],
             "nl": [("molens", "molen"), ("tulpen", "tulp")]}
    for language, forms in pairs.items():
        rules = title_words(language)
        for a, b in forms:
            assert rules.base(a) == rules.base(b) == b, (language, a, b)


def test_spanish_and_turns_to_e_before_an_i_sound():
    spanish = title_words("es")
    assert spanish.join(["Agua", "Islas"]) == "Agua e Islas"
    assert spanish.join(["Agua", "Historia"]) == "Agua e Historia"
    assert spanish.join(["Agua", "Hielo"]) == "Agua y Hielo"  # "hie" is a "y" sound
    assert spanish.join(["Mar", "Barcos", "Redes"]) == "Mar, Barcos y Redes"


def test_a_language_without_a_word_list_joins_with_commas_and_drops_short_words():
    assert list_file("yo") is None and most_frequent("yo", FREQUENT) is None
    text = "omi omi omi ile ile ile ati ati ati ati aye aye ounje ounje ounje oko oko"
    assert keyword_title(text, 6, "yo") == "Ounje"
    assert title_words("yo").join(["Ounje", "Omi", "Oko"]) == "Ounje, Omi, Oko"


def test_whisper_codes_that_wordfreq_spells_otherwise_find_their_list():
    assert list_file("no") == list_file("nb") is not None
    assert list_file("hr") == list_file("sr") is not None
    assert list_file("cy") is None  # never a neighbour's list (wordfreq would give English)


@pytest.mark.parametrize("name", sorted(TALKS))
def test_english_titles_are_what_they_were(name):
    text = " ".join(TALKS[name])
    assert keyword_title(text, 6, "en") == keyword_title(text, 6, None) == keyword_title(text, 6)


def test_an_english_word_with_an_accent_stays_one_word():
    text = ("The café opens early. Every café on the street sells bread. A good café "
            "needs good coffee and a friendly café owner.")
    assert "Café" in keyword_title(text, 6).split(), keyword_title(text, 6)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_word_knowledge_adds_little_to_the_run_s_process(language):
    """The title stage runs in the run's own process: wordfreq's package (ftfy, langcodes,
    regex: ~15 MB) is never imported, only its list files read; simplemma's dictionary is
    read in its low-memory form (English ~2.5 MB, against 20 MB as a Python dictionary)."""
    text = " ".join(TALKS_IN[language][sorted(TALKS_IN[language])[0]])
    probe = ("import sys\n"
             "def status(field):  # VmHWM: ru_maxrss starts at the forking parent's size\n"
             "    for line in open('/proc/self/status'):\n"
             "        if line.startswith(field + ':'):\n"
             "            return int(line.split()[1])\n"
             "from pipeline.stages.title import keyword_title\n"
             "before = status('VmRSS')\n"
             f"keyword_title({text!r}, 6, {language!r})\n"
             "print(status('VmHWM') - before, 'wordfreq' in sys.modules, 'ftfy' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, check=True, env={"PYTHONPATH": str(ROOT)})
    grown_kb, wordfreq_imported, ftfy_imported = done.stdout.split()
    assert wordfreq_imported == ftfy_imported == "False"
    assert int(grown_kb) < 15_000, grown_kb  # peak RSS above the process before, in KB


@pytest.fixture
def ledger(tmp_path: Path):
    with Ledger(tmp_path / "ledger.sqlite") as opened:
        yield opened


def identified_talk(ledger: Ledger, text: str, language: str | None) -> int:
    """A talk transcribed and identified, as the title stage finds it."""
    ledger.db.execute("INSERT INTO files (hash, path, size, state, first_seen, updated_at) "
                      "VALUES ('h', '/in/talk.mp3', 1, ?, 0, 0)", (FileState.IDENTIFIED.value,))
    file_id = ledger.db.execute("SELECT id FROM files WHERE hash = 'h'").fetchone()[0]
    ledger.save_plan(file_id, [(0.0, 30.0)])
    ledger.save_chunk(file_id, 0, text, [], 1, 1.0)
    if language is not None:
        ledger.update(file_id, language=language, language_probability=0.9,
                      language_source="detected")
    return file_id


@pytest.mark.parametrize("language, expected", [("de", "Wald, Bäume und Blätter"),
                                                (None, "Den Wald and Und")])
def test_the_title_stage_titles_in_the_language_the_ledger_holds(ledger, language, expected):
    file_id = identified_talk(ledger, " ".join(TALKS_IN["de"]["wald"]), language)
    ctx = StageContext(Path("/in/talk.mp3"), Config(), ledger, 1, lambda e: None, None,
                       ledger.get(file_id))
    title_stage(ctx)
    row = ledger.get(file_id)
    assert row.state == FileState.TITLED
    assert row.title == expected  # None: a talk from before languages were kept, English
