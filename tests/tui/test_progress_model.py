"""The fold of a run's events that the app's progress panel and the batch's lines read."""

from __future__ import annotations

from pipeline.api.runs import ArchiveFollowed
from tui.progress_model import LiveState


def test_talks_moved_by_a_changed_library_are_the_news_with_how_many():
    live = LiveState()
    live.begin()
    live.apply(ArchiveFollowed(5, (("a.mp3", "Ada", "/out/Ada/a.mp3"),
                                   ("b.mp3", "Ben", "/out/Ben/b.mp3")), 1), 0.0)
    assert live.last_news == ("Identified 5 talks filed before again with the changed "
                              "speaker library: 2 moved to their speaker; 1 talk now waits "
                              "for `talks review`.")
