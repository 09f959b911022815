"""The probe stage: how long the recording is and which year it was made (its YEAR folder)."""

from __future__ import annotations

from common import media
from common.recorded import when_recorded
from pipeline.run.memory import checkpoint
from pipeline.run.states import FileState
from pipeline.stages.context import StageContext


def probe_stage(ctx: StageContext) -> None:
    info = media.probe(ctx.path)  # a MediaError is this stage's failure, in its words
    # A talk transcribed again from its raw backup (`talks language`) keeps the year it was
    # filed under: raw/YEAR/ is named by it, whether it came from a folder or the file's time.
    roots = [*ctx.config.input.folders, ctx.config.output.raw_dir]
    year = when_recorded(ctx.path, info.year, roots).year
    ctx.ledger.advance(ctx.row.id, FileState.PROBED, duration=info.duration, year=year)
    ctx.on_event(checkpoint("after probe"))
