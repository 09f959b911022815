"""Decision thresholds per embedding backend, as the speaker benchmark measured them.

Each backend scores on its own scale: two different people average 0.19 with CAM++ but 0.65
with GE2E on the same real voices, so one threshold cannot serve both. The numbers here come
from `make bench-speakers` (benchmarks/speaker_results.md says how each was chosen); a value
set in config.toml wins, and 0 there means "the value below for the backend in use".
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from speakers.voice_groups import GroupRule


@dataclass(frozen=True)
class Calibrated:
    threshold: float      # a match needs at least this mean score …
    unknown_below: float  # … below this nobody is close (unknown, not listed for review)
    margin: float         # … and the best must beat the runner-up by this much


CALIBRATED = {
    # Talk-level scores on real voices (benchmarks/speaker_results.md, the rotations that do
    # not enroll from the end-to-end meeting), when these were chosen: right person
    # 0.634–0.932 (median 0.833), anyone else at most 0.608 (median 0.395), the right person
    # ahead by at least 0.169; `suggest` made that 0.66 / 0.39 / 0.06. Since short talks are
    # heard whole the same rule gives 0.67 (right person from 0.662): kept at 0.66, as
    # measured end to end, where two of 19 talks scored 0.660 and 0.663 and strangers at
    # most 0.48. The threshold sits close under real talks; review catches the rest.
    "campplus": Calibrated(threshold=0.66, unknown_below=0.39, margin=0.06),
    # Right person 0.812–0.964 (median 0.883), anyone else up to 0.862: the ranges overlap,
    # so a safe threshold sends many right talks to review.
    "resemblyzer": Calibrated(threshold=0.87, unknown_below=0.76, margin=0.02),
    # No pyannote weights install offline, so nothing could be measured here: these are
    # pyannote's WeSpeaker ResNet's usual cosine scale, a starting point for `talks speakers
    # check` to refine on the user's own library.
    "pyannote": Calibrated(threshold=0.60, unknown_below=0.35, margin=0.08),
}


# Grouping unnamed voices (speakers/voice_groups.py): cosines between two talks' voices. On
# real voices (speakerbox's 9 council members, 32 talks across 5 meetings, voices sampled as
# the pipeline samples them), CAM++ gave the same person 0.656–0.93 (5th percentile 0.695,
# median 0.836) and two different people at most 0.624 (99th percentile 0.568): join at 0.70
# links no two people there, and the floor keeps a group from spanning voices 0.60 apart.
# GE2E's ranges overlap (same from 0.807, different up to 0.878): its join sits above every
# different pair measured, so it groups little and splits rather than merges. pyannote: not
# measurable here; a cautious start on its usual scale.
GROUPING = {
    "campplus": GroupRule(join=0.70, floor=0.60, same=0.50),
    "resemblyzer": GroupRule(join=0.88, floor=0.84, same=0.80),
    "pyannote": GroupRule(join=0.70, floor=0.55, same=0.45),
}


def grouping(backend: str) -> GroupRule:
    return GROUPING.get(backend.split(":")[0], GROUPING["campplus"])


def calibrated(backend: str) -> Calibrated:
    return CALIBRATED.get(backend, CALIBRATED["campplus"])


def resolved(backend: str, threshold: float, unknown_below: float,
             margin: float) -> Calibrated:
    """The configured values, each 0 replaced by the backend's calibrated one."""
    base = calibrated(backend)
    return Calibrated(threshold or base.threshold, unknown_below or base.unknown_below,
                      margin or base.margin)


def suggest(own: Sequence[float], others: Sequence[float], leads: Sequence[float]) -> Calibrated:
    """Thresholds from scores of known voices: `own` (each with its right person), `others`
    (each with the best wrong or unenrolled person) and `leads` (by how much the right person
    was ahead, where they were). The benchmark calibrates with it, `talks speakers check`
    suggests with it.

    - threshold: above every score of a wrong person, by a quarter of the way to the median
      right score (a real library holds voices the measured ones did not);
    - unknown_below: the wrong people's median score, and at least 0.05 under the lowest right
      score: below it nobody is close;
    - margin: a third of the smallest lead of the right person, so a right match is not sent
      to review, while two people who score alike still are."""
    top_other = max(others)
    median_own = statistics.median(own)
    threshold = top_other + 0.25 * (median_own - top_other)
    unknown = min(statistics.median(others), min(own) - 0.05)
    margin = max(0.02, min(leads) / 3) if leads else 0.05
    return Calibrated(round(threshold, 2), round(max(0.0, unknown), 2), round(margin, 2))
