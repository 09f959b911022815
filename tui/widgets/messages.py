"""The messages that carry the pipeline's news (and the results of background reads) to the UI.

A thread may post these: `post_message` is thread-safe and never waits for the UI.
"""

from __future__ import annotations

from textual.message import Message

from pipeline.api.runs import Event


class PipelineEvent(Message):
    """One event of the running queue, exactly as the pipeline emitted it."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class QueueEnded(Message):
    """The queue worker is done; `problem` is the sentence to show when it could not run;
    `busy`: it could not, because another run holds the output root."""

    def __init__(self, problem: str | None = None, busy: bool = False) -> None:
        super().__init__()
        self.problem = problem
        self.busy = busy


class RunNews(Message):
    """What a watch of the run files found: a run of another process to show, its events,
    its end (tui/follow_run.py)."""

    def __init__(self, news) -> None:
        super().__init__()
        self.news = news


class FilesScanned(Message):
    """A scan of the input folders and the ledger finished (entries is None if it failed);
    `voices`: how many groups of voices wait for a name (None: not counted)."""

    def __init__(self, entries: list | None, problem: str | None = None,
                 voices: int | None = None) -> None:
        super().__init__()
        self.entries = entries
        self.problem = problem
        self.voices = voices
