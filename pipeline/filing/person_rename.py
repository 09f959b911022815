"""Renaming or merging a person everywhere: their clips, their filed talks (folders, file
names, every transcript), the ledger, and the candidates of talks waiting for review.

The plan is written to a journal beside the ledger before anything moves, each talk's new
name included; a run that is killed half-way is finished by the next speakers command (or
the app) from that journal, so no talk is left under the old name or filed twice.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from common.names import nfc, same_name
from pipeline.config.settings import Config
from pipeline.config.speaker_folder import check_library, open_library
from pipeline.filing.place import base_stem, names_for, part_name
from pipeline.filing.relabel import RelabelError, refile
from pipeline.ledger import FileRow, Ledger
from pipeline.run.states import FileState
from speakers.library import LibraryError, SpeakerLibrary, check_name

JOURNAL_NAME = "person-move.json"


@dataclass
class PersonMoved:
    old: str
    new: str
    merge: bool
    clips: int = 0
    talks: list[tuple[Path, Path]] = field(default_factory=list)  # (was, is now)
    updated_rows: int = 0  # talks not filed yet, and review candidates, renamed in the ledger
    resumed: bool = False

    def summary(self) -> str:
        verb = "Merged" if self.merge else "Renamed"
        into = "into" if self.merge else "to"
        text = (f"{verb} {self.old} {into} {self.new}: {self.clips} clip(s) moved, "
                f"{len(self.talks)} filed talk(s) re-filed")
        if self.updated_rows:
            text += (f"; scores and review candidates renamed in {self.updated_rows} talk(s) "
                     "of the ledger")
        return text + "."


def journal_path(config: Config) -> Path:
    return config.output.ledger_path.with_name(JOURNAL_NAME)


def _write_journal(config: Config, plan: dict) -> None:
    path = journal_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = part_name(path)
    tmp.write_text(json.dumps(plan, ensure_ascii=False, indent=1), encoding="utf-8")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def pending(config: Config) -> dict | None:
    """The plan of a rename or merge that was interrupted, if any."""
    path = journal_path(config)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _filed_under(ledger: Ledger, name: str) -> list[FileRow]:
    return [r for r in ledger.all_files()
            if r.state == FileState.FILED and r.destination and same_name(r.speaker or "", name)]


def _renamed_scores(scores: dict[str, list[float]], old: str, new: str) -> dict[str, list[float]]:
    """Per-sample scores with `old`'s under `new` (a merge keeps the higher of the two)."""
    out = {n: v for n, v in scores.items() if not same_name(n, old)}
    moved = next((v for n, v in scores.items() if same_name(n, old)), None)
    if moved is not None:
        target = next((k for k in out if same_name(k, new)), new)
        mine = out.pop(target, None)
        out[new] = ([max(a, b) for a, b in zip(mine, moved, strict=False)] if mine else moved)
    return out


def _renamed_evidence(evidence: dict, old: str, new: str) -> dict:
    ev = dict(evidence)
    best: dict[str, float] = {}
    for name, score in ev.get("candidates", []):
        name = new if same_name(name, old) else name
        best[name] = max(best.get(name, -2.0), float(score))
    ev["candidates"] = [[n, s] for n, s in sorted(best.items(), key=lambda kv: -kv[1])]
    if ev.get("speaker") and same_name(ev["speaker"], old):
        ev["speaker"] = new
    return ev


def _update_ledger_names(ledger: Ledger, old: str, new: str) -> int:
    """Scores, review candidates and not-yet-filed talks: `old` becomes `new`."""
    changed = 0
    for row in ledger.all_files():
        scores = ledger.scores(row.id)
        if any(same_name(n, old) for n in scores):
            ledger.save_scores(row.id, _renamed_scores(scores, old, new))
        ev = row.speaker_evidence or {}
        fields: dict[str, object] = {}
        if any(same_name(n, old) for n, _s in ev.get("candidates", [])):
            fields["speaker_evidence"] = _renamed_evidence(ev, old, new)
        if row.state != FileState.FILED and row.speaker and same_name(row.speaker, old):
            fields["speaker"] = new
        if fields:
            ledger.update(row.id, **fields)
            changed += 1
    return changed


def _library_step(library: SpeakerLibrary, old: str, new: str, merge: bool) -> int:
    """Move the clips (already done when `old` is gone and `new` is there)."""
    names = {nfc(p.name) for p in library.people()}
    if nfc(old) not in names:
        return 0
    # A rename is only planned when `new` has no clips (move_person checks), so a `new` that
    # exists now holds the clips an interrupted run of this plan had moved before it was
    # killed: the rest join them, as in a merge.
    finish_by_merging = merge or nfc(new) in names
    moved = library.merge(old, new) if finish_by_merging else library.rename(old, new)
    return len(moved)


def planned_stem(config: Config, row: FileRow, speaker: str,
                 taken: set[tuple[int, str]]) -> str:
    """The name the talk will have under `speaker`: the first whose files are all free and
    that no other talk of the same plan (`taken`: (year, stem) pairs) was given."""
    ext = Path(row.destination or row.path).suffix.lower()
    year = row.year or 0
    base = base_stem(speaker, row.title or "")
    for n in range(1, 10_000):
        stem = base if n == 1 else f"{base} ({n})"
        if (year, stem) in taken:
            continue
        names = names_for(config, year, speaker, row.title or "", ext, stem)
        if not any(p.exists() for p in names.all_paths()):
            taken.add((year, stem))
            return stem
    raise LibraryError(f"More than 9999 talks are named {base!r}: rename some of them.")


def _carry_out(config: Config, ledger: Ledger, plan: dict, resumed: bool) -> PersonMoved:
    old, new, merge = plan["old"], plan["new"], plan["merge"]
    result = PersonMoved(old, new, merge, resumed=resumed)
    if not plan.get("library_done"):
        result.clips = _library_step(SpeakerLibrary(config.speakers.folder), old, new, merge)
        plan["library_done"] = True
        _write_journal(config, plan)
    for file_id, stem in plan["talks"].items():
        row = ledger.get(int(file_id))
        if row.state != FileState.FILED or not row.destination:
            continue
        if same_name(row.speaker or "", new) and Path(row.destination).stem == stem:
            continue  # done before the interruption
        done = refile(config, ledger, row, new, stem, confirmed=False)
        result.talks.append((done.old_talk, done.talk))
    result.updated_rows = _update_ledger_names(ledger, old, new)
    journal_path(config).unlink(missing_ok=True)
    return result


def finish_interrupted(config: Config) -> PersonMoved | None:
    """Complete a rename or merge whose run was killed; None when there is none."""
    plan = pending(config)
    if plan is None:
        return None
    check_library(config)  # a library that is not mounted would be finished without its clips
    with Ledger(config.output.ledger_path) as ledger:
        return _carry_out(config, ledger, plan, resumed=True)


def move_person(config: Config, old: str, new: str, merge: bool) -> PersonMoved:
    """Rename `old` to `new`, or merge `old` into `new`, everywhere (see the module)."""
    if pending(config) is not None:
        raise LibraryError("An earlier rename or merge was interrupted: run `talks speakers "
                           "list` (or any speakers command) to finish it first.")
    library = open_library(config)
    in_library = {nfc(p.name) for p in library.people()}
    new = check_name(new) if not same_name(new, config.speakers.default_speaker) else nfc(new)
    old = nfc(old.strip())
    ledger_path = config.output.ledger_path
    with Ledger(ledger_path) as ledger:
        talks = _filed_under(ledger, old)
        if old not in in_library and not talks:
            known = ", ".join(sorted(in_library)) or "none yet"
            raise LibraryError(f"No speaker named {old!r} in {library.folder} or among filed "
                               f"talks (known: {known}).")
        if same_name(old, new) and merge:
            raise LibraryError(f"A person cannot be merged into themselves: name two "
                               f"different people (talks speakers merge SOURCE TARGET); "
                               f"{old!r} was given twice.")
        if same_name(old, new):
            raise LibraryError(f"{old!r} is already called that: nothing to change.")
        if merge and new not in in_library and not _filed_under(ledger, new):
            raise LibraryError(f"No speaker named {new!r} to merge {old!r} into: use rename "
                               "to give them a new name.")
        if not merge and new in in_library:
            raise LibraryError(f"{new!r} already exists: use merge to put the clips and "
                               f"talks of {old!r} with theirs.")
        if old in in_library and same_name(new, config.speakers.default_speaker):
            raise LibraryError(f"{new!r} is the name for talks nobody was recognised in: "
                               "choose a person's name.")
        taken: set[tuple[int, str]] = set()  # names given in this plan, so none is given twice
        plan = {"old": old, "new": new, "merge": merge, "library_done": False,
                "talks": {str(r.id): planned_stem(config, r, new, taken) for r in talks}}
        _write_journal(config, plan)
        try:
            return _carry_out(config, ledger, plan, resumed=False)
        except RelabelError as exc:
            raise LibraryError(f"{exc} The rest is finished by the next speakers command.") \
                from None
