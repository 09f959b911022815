"""What a running queue is asked while it goes, and by whom it may be asked.

A run can be asked to stop after the chunk in progress, to stop at once, to pause after the
file in progress (and to go on again), or to look for more recordings when its queue is done.
The face that started it asks in-process (`ask`); any other `talks` asks through the run's
request file beside the ledger (see publish.py). Either way the request is taken on the
run's own thread, the next time the run asks `is_set()` (between chunks, between stages and
every 0.2 s while a worker transcribes), and announced as a `RunRequested` event so that every
face showing the run learns it the same way.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from pipeline.run.events import (
    Event,
    FileFailed,
    FileFiled,
    FileSkipped,
    RunRequest,
    RunRequested,
    StageStarted,
)
from pipeline.run.worker import StopFlag


class RequestSource:
    """Where requests from other processes come from (the run's request file)."""

    def take(self) -> Iterable[RunRequest]:
        return ()


class RunControl:
    """The `control` a run is given: `is_set()` says whether to stop before the next chunk,
    stage or file. `also` is any other flag with `is_set()` (a signal handler's, a test's):
    when it is set the run stops after the chunk, as if asked to."""

    def __init__(self, also: StopFlag | None = None) -> None:
        # A deque, not a list under a lock: appending and popping are atomic, so `ask` may be
        # called from a signal handler that interrupts the run's own thread mid-take.
        self._asked: deque[RunRequest] = deque()
        self._also = also
        self._source: RequestSource = RequestSource()
        self._emit: Callable[[Event], None] | None = None
        self._on_headless: Callable[[], None] | None = None
        self.headless = False
        self._in_file = False
        self._more = False
        self.stopping = False
        self.stopping_now = False
        self.pausing = False

    @classmethod
    def of(cls, control: StopFlag | None) -> RunControl:
        return control if isinstance(control, RunControl) else cls(also=control)

    # --- any thread, or a signal handler ----------------------------------------------------
    def ask(self, request: RunRequest | str) -> None:
        self._asked.append(RunRequest(request))  # ValueError for a request there is not

    def went_headless(self) -> None:
        """The face that started the run lost its terminal; the run goes on. Not a request
        (nothing changes in the run): only what it publishes about itself."""
        self.headless = True
        if self._on_headless is not None:
            self._on_headless()

    # --- the run's thread ------------------------------------------------------------------
    def attach(self, source: RequestSource, emit: Callable[[Event], None],
               on_headless: Callable[[], None] | None = None) -> None:
        self._source, self._emit, self._on_headless = source, emit, on_headless
        if self.headless and on_headless is not None:
            on_headless()  # the terminal went before the run had begun

    def observe(self, event: Event) -> None:
        """Sees each event the run emits: a pause waits for the file in progress to end."""
        if isinstance(event, StageStarted):
            self._in_file = True
        elif isinstance(event, FileFiled | FileFailed | FileSkipped):
            self._in_file = False

    def is_set(self) -> bool:
        self._take_requests()
        return self.stopping or (self.pausing and not self._in_file)

    def wants_now(self) -> bool:
        """Stop at once: the chunk in progress is abandoned (its worker is ended)."""
        return self.stopping_now

    def take_more(self) -> bool:
        """Was the run asked to look for more recordings? (Asking again needs a new request.)"""
        self._take_requests()
        more, self._more = self._more, False
        return more and not self.stopping

    def _take_requests(self) -> None:
        asked = []
        while self._asked:
            asked.append(self._asked.popleft())
        asked.extend(self._source.take())
        if self._also is not None and self._also.is_set() and not self.stopping:
            asked.append(RunRequest.STOP)
        for request in asked:
            self._apply(request)
            if self._emit is not None:
                self._emit(RunRequested(request))

    def _apply(self, request: RunRequest) -> None:
        if request == RunRequest.STOP:
            self.stopping = True
        elif request == RunRequest.STOP_NOW:
            self.stopping = self.stopping_now = True
        elif request == RunRequest.PAUSE:
            self.pausing = True
        elif request == RunRequest.GO_ON:
            self.pausing = False
        elif request == RunRequest.MORE:
            self._more = True
