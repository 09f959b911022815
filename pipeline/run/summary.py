"""How each recording of a run ended, and the run's totals (what --batch prints and the
ledger keeps for `talks status`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from common.errors import ExitCode
from pipeline.run.states import OutcomeStatus, Stage


@dataclass(frozen=True)
class Outcome:
    file: str
    status: OutcomeStatus
    destination: str | None = None
    stage: Stage | None = None
    reason: str | None = None
    language: str | None = None  # the talk's, once decided: Whisper's code ("en", "fr", …)


@dataclass(frozen=True)
class Refiled:
    """A talk filed before under the default speaker, moved to its person because the
    library changed (pipeline/stages/reidentify.py)."""
    file: str
    speaker: str
    destination: str


@dataclass
class BatchSummary:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    refiled: list[Refiled] = field(default_factory=list)
    to_review: int = 0  # of the talks identified again, those now waiting for review
    voice_groups: int = 0  # voices heard in two or more talks, waiting for a name …
    voice_group_talks: int = 0  # … and their talks

    def count(self, status: OutcomeStatus) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def exit_code(self) -> ExitCode:
        # Recordings left unfinished when asked to stop: not "all went well", nor a failure.
        if self.count(OutcomeStatus.CANCELLED):
            return ExitCode.STOPPED
        return ExitCode.FAILED if self.count(OutcomeStatus.FAILED) else ExitCode.OK

    def as_dict(self) -> dict:
        return {**{str(status): self.count(status) for status in OutcomeStatus},
                "seconds": round(self.seconds, 2), "files": [asdict(o) for o in self.outcomes],
                "refiled": len(self.refiled), "refiled_talks": [asdict(r) for r in self.refiled],
                "sent_to_review": self.to_review, "voice_groups": self.voice_groups,
                "voice_group_talks": self.voice_group_talks}
