"""The fold of a run's events that the app's progress panel and the batch's lines read."""

from __future__ import annotations

from pipeline.api.runs import ArchiveFollowed, LanguageHeard, StageStarted
from tui.progress_model import LiveState, language_text


def test_talks_moved_by_a_changed_library_are_the_news_with_how_many():
    live = LiveState()
    live.begin()
    live.apply(ArchiveFollowed(5, (("a.mp3", "Ada", "/out/Ada/a.mp3"),
                                   ("b.mp3", "Ben", "/out/Ben/b.mp3")), 1), 0.0)
    assert live.last_news == ("Identified 5 talks filed before again with the changed "
                              "speaker library: 2 moved to their speaker; 1 talk now waits "
                              "for `talks review`.")


def test_the_language_of_the_talk_under_way_is_known_by_name():
    live = LiveState()
    live.begin()
    live.apply(StageStarted("a.mp3", "transcribe"), 0.0)
    assert live.current is not None and live.current.language_text == ""
    heard = LanguageHeard("a.mp3", "de", 0.912, "detected")
    live.apply(heard, 1.0)
    assert (live.current.language, live.current.language_text) == ("de", "German")
    assert language_text(heard) == "German (de, 91 %, detected)"
    assert language_text(LanguageHeard("b.mp3", "es", None, "folder")) == "Spanish (es, folder)"
