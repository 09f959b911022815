"""Naming a group of unnamed voices once: its person enrolled, every talk of it re-filed.

The groups are made by pipeline/stages/voices.py. Naming one enrolls the person from the
group's most typical speech (the talks whose voices lie nearest the group's centre, cut as
`relabel --enroll` cuts a talk) and re-files each talk of the group under the name with
relabel's guarantees: every step can be killed, and the same command run again finishes it
(the enrolling is recorded as done before the first talk moves, so it is never done twice).
A name already in the library adds to that person. A person's merges and removals are kept
as links between talks, so a regroup never undoes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.errors import ExitCode, TalksError
from common.names import nfc, same_name
from pipeline.config.settings import Config
from pipeline.filing.relabel import Refiled, enroll_speech, find_talk, refile
from pipeline.ledger import FileRow, Ledger
from pipeline.stages.identify import embedder_settings, talk_speech
from pipeline.stages.voices import waiting_for_a_name, where_to_hear
from speakers.embedding import cache_key
from speakers.library import check_name
from speakers.voice_match import plan_speech_samples

TYPICAL_TALKS = 2  # a group's person is enrolled from this many of its most typical talks
SAMPLE_CLIP_S = 12.0  # the clip of a group's voice to listen to


class VoiceGroupError(TalksError):
    """A group or talk that is not there, or a request that cannot be: nothing is changed
    (exit 2)."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class VoiceGroup:
    id: int
    talks: tuple[FileRow, ...]  # the most typical first

    @property
    def seconds(self) -> float:
        return sum(r.duration or 0.0 for r in self.talks)

    @property
    def years(self) -> list[int]:
        return sorted({r.year for r in self.talks if r.year})


@dataclass(frozen=True)
class Named:
    group: VoiceGroup
    name: str
    enrolled: tuple[Path, ...]
    moved: tuple[Refiled, ...]


def voice_groups(config: Config, ledger: Ledger) -> list[VoiceGroup]:
    """The groups of voices waiting for a name, largest first (then by id)."""
    waiting = {r.id: r for r in waiting_for_a_name(config, ledger)}
    members: dict[int, list[int]] = {}
    for talk, gid in ledger.voice_groups().items():
        if talk in waiting:
            members.setdefault(gid, []).append(talk)
    backend = cache_key(embedder_settings(config))
    groups = [VoiceGroup(gid, tuple(waiting[t] for t in _typical_first(ledger, backend, talks)))
              for gid, talks in members.items() if len(talks) > 1]
    return sorted(groups, key=lambda g: (-len(g.talks), g.id))


def _typical_first(ledger: Ledger, backend: str, talks: list[int]) -> list[int]:
    """The talks by how close their voice is to the group's centre, closest first."""
    import numpy as np

    heard = ledger.voices(backend, talks)
    known = [t for t in sorted(talks) if t in heard]
    if len(known) < 2:
        return sorted(talks)
    stack = np.stack([heard[t] for t in known])
    centre = stack.mean(axis=0)
    order = np.argsort(-(stack @ centre), kind="stable")
    return [known[i] for i in order] + [t for t in sorted(talks) if t not in heard]


def group_by_id(config: Config, ledger: Ledger, gid: int) -> VoiceGroup:
    for group in voice_groups(config, ledger):
        if group.id == gid:
            return group
    raise VoiceGroupError(f"No group of voices has the number {gid}: `talks voices` lists "
                          "them, with their numbers.")


def sample_clip(config: Config, ledger: Ledger, group: VoiceGroup) -> Path | None:
    """A short clip of the group's voice, cut once from its most typical talk's speech, to
    listen to (beside the ledger; None when it cannot be cut)."""
    from common.media import MediaError, cut_pieces

    row = group.talks[0]
    # Named by the group and the talk it is cut from: after a merge or a talk taken out the
    # group's most typical talk may be another, and the clip is cut anew from it.
    folder = config.output.ledger_path.parent / "voices"
    target = folder / f"voice {group.id} from talk {row.id}.wav"
    if target.is_file():
        return target
    for stale in folder.glob(f"voice {group.id} from talk *.wav"):
        stale.unlink(missing_ok=True)
    plan = plan_speech_samples(talk_speech(ledger, row.id), row.duration or 0.0, 1,
                               SAMPLE_CLIP_S, config.speakers.sample_offset_s,
                               config.speakers.skip_end_s)
    source, plan = where_to_hear(row, plan)
    if not plan or not plan[0]:
        return None
    target.parent.mkdir(exist_ok=True)
    try:
        cut_pieces(source, plan[0], target)
    except (MediaError, OSError):
        return None
    return target


def name_group(config: Config, ledger: Ledger, gid: int, name: str) -> Named:
    """Enroll `name` from the group's most typical talks and re-file every talk of it under
    `name`, as a person's decision (a regroup never takes them back)."""
    name = nfc(name.strip())
    if same_name(name, config.speakers.default_speaker):
        raise VoiceGroupError(f"{name} is the name talks without a known speaker are filed "
                              "under: give the person's name.")
    name = check_name(name)
    done_key = f"voice group {gid} enrolled as"
    begun = ledger.fact(done_key)  # a naming of this group killed half-way
    if begun is not None and not same_name(begun, name):
        raise VoiceGroupError(f"Group {gid} was being named {begun} when it stopped: run "
                              f"talks voices name {gid} {begun!r} to finish it (talks relabel "
                              "moves a talk afterwards).")
    group = _resumed(config, ledger, gid, name) if begun else group_by_id(config, ledger, gid)
    enrolled: list[Path] = []
    if begun is None:
        for row in group.talks[:TYPICAL_TALKS]:
            enrolled += enroll_speech(config, ledger, row, name)
        ledger.set_fact(done_key, name)  # before any talk moves: never enrolled twice
    moved = tuple(refile(config, ledger, row, name) for row in group.talks)
    groups = ledger.voice_groups()
    ledger.set_voice_groups({t: g for t, g in groups.items() if g != gid})
    ledger.db.execute("DELETE FROM facts WHERE key = ?", (done_key,))
    return Named(group, name, tuple(enrolled), moved)


def _resumed(config: Config, ledger: Ledger, gid: int, name: str) -> VoiceGroup:
    """The group of a naming killed half-way: its talks still waiting and those already
    moved under `name` (a run in between may have regrouped the rest: what is left moves)."""
    default = config.speakers.default_speaker
    rows = [ledger.get(t) for t, g in sorted(ledger.voice_groups().items()) if g == gid]
    return VoiceGroup(gid, tuple(r for r in rows if same_name(r.speaker or "", default)
                                 or same_name(r.speaker or "", name)))


def merge_groups(config: Config, ledger: Ledger, keep: int, other: int) -> VoiceGroup:
    """Two groups a person says are one voice: linked for good, under `keep`'s number."""
    if keep == other:
        raise VoiceGroupError(f"Group {keep} cannot be merged with itself: give two numbers "
                              "from `talks voices`.")
    a, b = group_by_id(config, ledger, keep), group_by_id(config, ledger, other)
    for x in a.talks:
        for y in b.talks:
            ledger.link_voices(x.id, y.id, "together")
    groups = ledger.voice_groups()
    groups.update({r.id: keep for r in b.talks})
    ledger.set_voice_groups(groups)
    return group_by_id(config, ledger, keep)


def take_out(config: Config, ledger: Ledger, gid: int, ref: str) -> FileRow:
    """A talk that is not this group's voice: out of it, and never linked with its talks
    again (it may still group with other talks of its own voice)."""
    group = group_by_id(config, ledger, gid)
    row = find_talk(ledger, ref)
    if row.id not in {r.id for r in group.talks}:
        raise VoiceGroupError(f"{Path(row.destination or row.path).name} is not in group "
                              f"{gid}: `talks voices show {gid}` lists its talks.")
    for other in group.talks:
        if other.id != row.id:
            ledger.link_voices(row.id, other.id, "apart")
    groups = ledger.voice_groups()
    groups.pop(row.id, None)
    if len([t for t, g in groups.items() if g == gid]) < 2:
        groups = {t: g for t, g in groups.items() if g != gid}  # one voice left: it waits
    ledger.set_voice_groups(groups)
    return row
