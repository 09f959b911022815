"""`talks status`: a quick look over SSH or from a script — is a run going, what is it doing,
how far is it, what is filed, what failed last.

It reads what every run writes beside the ledger (pipeline/run/publish.py) and folds the run's
events as the app does (tui/progress_model.py, no Textual), plus the ledger. `--json` gives the
same as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from common.errors import ExitCode, Fault
from common.names import is_text
from pipeline.api.archive import FileState
from pipeline.api.configuration import Config

if TYPE_CHECKING:  # the rest is imported where it is used: `talks --help` stays quick
    from pipeline.api.runs import RunStatus

UNFINISHED = (FileState.PROBED, FileState.TRANSCRIBED, FileState.IDENTIFIED, FileState.TITLED)


def add_command(sub: argparse._SubParsersAction) -> None:
    status = sub.add_parser(
        "status", help="is a run going, and what is it doing; what is filed and what failed "
                       "last",
        description="A quick look, over SSH or from a script: whether a run is going and who "
                    "runs it, its file and chunk and the time left, how many recordings are "
                    "filed, to review, failed, skipped, unfinished or new, and the last "
                    "failure.",
        epilog="Example: talks status --json")
    # SUPPRESS: unless given here, `talks --json status` keeps the --json given before it.
    status.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="the same as one JSON object")


def output_root_missing(config: Config, as_json: bool) -> bool:
    """A look files nothing, so a missing output root is said as what it is: a root talks
    filed into before is a disk not mounted (a Fault, exit 3); one never used has simply
    nothing in it yet (said, exit 0). False when the root is there."""
    from pipeline.api.configuration import roots

    root = config.output.root
    if root.is_dir():
        return False
    if roots.was_used(config.output.ledger_path):
        raise Fault(f"The output root {root} had filed talks and is missing now: if it is on "
                    "an external disk, mount it; otherwise fix output.root in "
                    f"{config.source or 'the config'}.")
    sentence = (f"Nothing has been filed into {root} yet: the folder does not exist, and the "
                "first run makes it (talks --batch, or s in the app).")
    print(json.dumps({"output": str(root), "exists": False, "note": sentence}, indent=2)
          if as_json else sentence)
    return True


def run(config: Config, args: argparse.Namespace) -> int:
    report = status_report(config)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(render(report))
    return ExitCode.OK


# --- what is known -----------------------------------------------------------------------------

def status_report(config: Config, now: float | None = None) -> dict:
    from pipeline.api.runs import read_status
    now = time.time() if now is None else now
    status = read_status(config.output.ledger_path.parent)
    return {"output": str(config.output.root),
            "run": _run_report(config, status, now) if status is not None else None,
            **_ledger_report(config)}


def _run_report(config: Config, status: RunStatus, now: float) -> dict:
    from pipeline.api.runs import EventTail
    from tui.progress_model import LiveState
    live = LiveState()
    last_seen = status.started_at
    for when, event in EventTail(config.output.ledger_path.parent, status.run).read() or []:
        live.apply(event, when)
        last_seen = when
    going = status.going
    ended = status.ended_at or (None if going else last_seen)
    report = {
        "going": going,
        "died": status.died,  # ended without finishing: killed, or the machine stopped
        "by": status.face, "pid": status.pid,
        "headless": going and status.face == "app" and (status.headless
                                                        or status.terminal() is None),
        "started_at": status.started_at, "ended_at": ended,
        "elapsed_s": round((now if going else ended or now) - status.started_at, 1),
        "current": None, "queued": len(live.queued), "total": live.total,
        "stopping": live.stopping, "pausing": live.pausing,
        "finished": None,
        "stopped": status.stopped,  # why it ended early, in one sentence
    }
    cur = live.current
    if going and cur is not None:
        left = cur.seconds_left(now)
        report["current"] = {
            "file": cur.name, "position": cur.position, "stage": cur.stage,
            "language": cur.language or None, "chunk": cur.chunks_done, "chunks": cur.chunks_total,
            "elapsed_s": round(now - cur.started, 1),
            "remaining_s": round(left, 1) if left is not None else None}
    if live.finished is not None:
        f = live.finished
        report["finished"] = {"filed": f.filed, "failed": f.failed, "skipped": f.skipped,
                              "unchanged": f.unchanged, "seconds": f.seconds}
    return report


def _ledger_report(config: Config) -> dict:
    from pipeline.api.archive import Ledger, discover
    rows = []
    failure = None
    if config.output.ledger_path.exists():
        with Ledger(config.output.ledger_path) as ledger:
            rows = ledger.all_files()
            last = ledger.last_failure()
        if last is not None:
            row, when = last
            failure = {"file": row.name, "stage": row.failed_stage, "reason": row.error,
                       "at": when}
    states = Counter(row.state for row in rows)
    known = {row.path for row in rows}
    found = [str(path) for path in discover(config)]
    badly_named = sum(1 for path in found if not is_text(path))  # every run fails them
    unseen = sum(1 for path in found if is_text(path) and path not in known)
    counts = {"filed": states[FileState.FILED],
              "needs_review": sum(1 for r in rows
                                  if r.state == FileState.FILED and r.needs_review),
              "failed": states[FileState.FAILED] + badly_named,
              "skipped": states[FileState.SKIPPED],
              "unfinished": sum(states[s] for s in UNFINISHED),
              "new": states[FileState.NEW] + unseen}
    # The filed talks by the language they are in, the commonest first ({"en": 3, "fr": 1});
    # a talk filed before talks kept languages is not counted.
    spoken = Counter(r.language for r in rows if r.state == FileState.FILED and r.language)
    return {"counts": counts, "languages": dict(spoken.most_common()),
            "last_failure": failure}


# --- as a few lines ------------------------------------------------------------------------------

def _at(when: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(when))


def render(report: dict) -> str:
    lines = [f"talks · {report['output']}"]
    run = report["run"]
    if run is None:
        lines.append("No run is going (none has run here yet).")
    elif run["going"]:
        lines += _going_lines(run)
    else:
        lines.append(_last_run_line(run))
    c = report["counts"]
    parts = [f"{c['filed']} filed" + (f" ({c['needs_review']} to review)"
                                       if c["needs_review"] else "")]
    parts += [f"{c[key]} {key}" for key in ("failed", "skipped", "unfinished", "new") if c[key]]
    lines.append(f"Recordings: {', '.join(parts)}.")
    languages = report.get("languages") or {}
    if set(languages) - {"en"}:  # said when the archive is not all English
        from pipeline.api.runs import language_name
        lines.append("Languages: " + ", ".join(f"{language_name(code)} {n}"
                                               for code, n in languages.items()) + ".")
    failure = report["last_failure"]
    if failure is not None:
        lines.append(f"Last failure: {failure['file']} at {failure['stage']} "
                     f"({_at(failure['at'])}): {failure['reason']}")
    return "\n".join(lines)


def _going_lines(run: dict) -> list[str]:
    from tui.progress_model import STAGE_WORDS, duration_text
    who = f"{run['by']}, pid {run['pid']}"
    if run["headless"]:
        who += ", headless: the terminal it was started from is gone"
    lines = [f"A run is going ({who}), started {_at(run['started_at'])}, "
             f"{duration_text(run['elapsed_s'])} ago."]
    cur = run["current"]
    if cur is not None:
        where = f"[{cur['position']}/{run['total']}] " if cur["position"] and run["total"] else ""
        chunk = f", chunk {cur['chunk']}/{cur['chunks']}" if cur["chunks"] else ""
        left = (f", about {duration_text(cur['remaining_s'])} left"
                if cur["remaining_s"] is not None else "")
        stage = STAGE_WORDS.get(cur["stage"], cur["stage"])
        lines.append(f"  Now: {where}{Path(cur['file']).name} — {stage}{chunk}; "
                     f"{duration_text(cur['elapsed_s'])} on this file{left}.")
    else:
        lines.append("  Now: between recordings.")
    if run["queued"]:
        lines.append(f"  Then: {run['queued']} more recording(s) in its queue.")
    if run["stopping"]:
        lines.append("  Asked to stop after the current chunk.")
    elif run["pausing"]:
        lines.append("  Asked to pause after the current recording.")
    return lines


def _last_run_line(run: dict) -> str:
    from tui.progress_model import duration_text
    who = f"{run['by']}, pid {run['pid']}"
    if run["died"]:
        return (f"No run is going. The last one ({who}) ended without finishing (killed?) "
                f"after {_at(run['started_at'])}: run again to resume where it stopped.")
    if run["stopped"]:
        return (f"No run is going. The last one ({who}) stopped {_at(run['ended_at'])} after "
                f"{duration_text(run['elapsed_s'])}. {run['stopped']}")
    f = run["finished"]
    done = (f": {f['filed']} filed, {f['failed']} failed, {f['skipped']} skipped"
            if f is not None else "")
    took = duration_text(run["elapsed_s"])
    return (f"No run is going. The last one ({who}) ended {_at(run['ended_at'])} after "
            f"{took}{done}.")
