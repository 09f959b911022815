"""The probe stage: how long the recording is and which year it was made (its YEAR folder)."""

from __future__ import annotations

from common import media
from common.recorded import when_recorded
from pipeline.run.memory import checkpoint
from pipeline.run.states import FileState
from pipeline.stages.context import StageContext


def probe_stage(ctx: StageContext) -> None:
    info = media.probe(ctx.path)  # a MediaError is this stage's failure, in its words
    year = when_recorded(ctx.path, info.year, ctx.config.input.folders).year
    ctx.ledger.advance(ctx.row.id, FileState.PROBED, duration=info.duration, year=year)
    ctx.on_event(checkpoint("after probe"))
