"""The stages in the order a recording meets them, each with what is asked before it starts.

    probe → transcribe (worker process) → identify (worker) → title → organize

pipeline/run/file_flow.py runs them; the state a file is in (pipeline/run/states.py) says
which comes next. A new stage is a module here with a `..._stage(ctx)` function, a row in
this table, and its states and transitions in states.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipeline.run.states import Stage
from pipeline.stages import identify, organize, probe, title, transcribe
from pipeline.stages.context import StageContext


@dataclass(frozen=True)
class Step:
    run: Callable[[StageContext], None]
    # Asked before the stage starts: a reason means this recording is skipped in this run.
    skip_reason: Callable[[StageContext], str | None] = lambda ctx: None
    # Its model work may run on a cluster's node, beside other talks' (it holds
    # ctx.head_turn itself for any part done here); the others run here one talk at a time.
    heavy: bool = False


STEPS: dict[Stage, Step] = {
    Stage.PROBE: Step(probe.probe_stage),
    Stage.TRANSCRIBE: Step(transcribe.transcribe_stage, transcribe.outside_limits,
                             heavy=True),
    Stage.IDENTIFY: Step(identify.identify_stage, heavy=True),
    Stage.TITLE: Step(title.title_stage),
    Stage.ORGANIZE: Step(organize.organize_stage),
}
