"""Turn measurements into chunk_sizes.md (for people) and chunk_sizes.json (for later comparison).

With repeated rounds, a variant's time is its fastest round (the one least slowed by other
work on the machine) and its memory its largest (the worst a user may see); every round is
kept in the JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.measure import Measurement

BASELINE = "whole-file"


@dataclass(frozen=True)
class Row:
    name: str
    description: str
    rounds: int
    audio_s: float
    wall_s: float
    wall_s_slowest: float  # with the fastest above: how much the machine's load swayed it
    cpu_s: float | None
    transcribe_s: float | None
    peak_tree_mb: float
    largest_process_mb: float
    kernel_max_process_mb: float | None
    samples_hz: float
    wer: float | None
    chunks: object


def _max_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _min_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


def aggregate(name: str, rounds: list[Measurement]) -> Row:
    first = rounds[0]
    return Row(name, first.description, len(rounds), first.audio_s,
               min(m.wall_s for m in rounds), max(m.wall_s for m in rounds),
               _min_or_none([m.cpu_s for m in rounds]),
               _min_or_none([m.transcribe_s for m in rounds]),
               max(m.peak_tree_mb for m in rounds), max(m.largest_process_mb for m in rounds),
               _max_or_none([m.kernel_max_process_mb for m in rounds]),
               min(m.samples_hz for m in rounds),
               first.words.wer if first.words else None, first.extra.get("chunks", 1))


@dataclass(frozen=True)
class Ratio:
    variant: str
    baseline: str
    transcribe_time: float | None
    wall_time: float
    cpu_time: float | None
    peak_tree_rss: float


def ratios(rows: list[Row]) -> list[Ratio]:
    """Each variant against the whole-file engine run (ratio > 1: more than the baseline)."""
    base = next((r for r in rows if r.name == BASELINE), None)
    if base is None:
        return []
    out = []
    for row in rows:
        if row is base:
            continue
        transcribe = (row.transcribe_s / base.transcribe_s
                      if row.transcribe_s and base.transcribe_s else None)
        cpu = row.cpu_s / base.cpu_s if row.cpu_s and base.cpu_s else None
        out.append(Ratio(row.name, base.name, transcribe, row.wall_s / base.wall_s, cpu,
                         row.peak_tree_mb / base.peak_tree_mb))
    return out


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def results_table(rows: list[Row]) -> str:
    lines = ["| variant | chunks | rounds | wall s (slowest) | CPU s | transcribe s | RTF | "
             "peak tree RSS MB | largest process MB (sampled / kernel) | WER % | samples/s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        rtf = r.transcribe_s / r.audio_s if r.transcribe_s is not None else None
        wer = r.wer * 100 if r.wer is not None else None
        lines.append(f"| {r.name} | {r.chunks} | {r.rounds} | {r.wall_s:.1f} "
                     f"({r.wall_s_slowest:.1f}) | {_fmt(r.cpu_s, '.1f')} | "
                     f"{_fmt(r.transcribe_s, '.1f')}"
                     f" | {_fmt(rtf, '.3f')} | {r.peak_tree_mb:.0f} | "
                     f"{r.largest_process_mb:.0f} / {_fmt(r.kernel_max_process_mb, '.0f')} | "
                     f"{_fmt(wer, '.1f')} | {r.samples_hz:.0f} |")
    return "\n".join(lines)


def ratio_table(rows: list[Row]) -> str:
    found = ratios(rows)
    if not found:
        return "(no whole-file baseline in this run)"
    lines = ["| variant ÷ whole-file | transcribe time | wall time (end to end) | "
             "CPU time (end to end) | peak tree RSS |", "|---|---:|---:|---:|---:|"]
    for r in found:
        lines.append(f"| {r.variant} | {_fmt(r.transcribe_time, '.2f')} | "
                     f"{r.wall_time:.2f} | {_fmt(r.cpu_time, '.2f')} | {r.peak_tree_rss:.2f} |")
    return "\n".join(lines)


def phase_table(measurements: list[Measurement]) -> str:
    lines = ["| variant | phase: peak tree RSS MB (seconds in phase) |", "|---|---|"]
    for m in measurements:
        # A phase shorter than one sampling interval may have no sample: "–", not 0.
        phases = ", ".join(f"{p}: {_fmt(m.phase_peaks_mb.get(p), '.0f')} ({s:.1f} s)"
                           for p, s in m.phase_seconds.items())
        lines.append(f"| {m.name} (round {m.extra.get('round', 1)}) | {phases} |")
    return "\n".join(lines)


def render_markdown(machine: dict[str, object], settings: dict[str, object],
                    rows: list[Row], measurements: list[Measurement]) -> str:
    facts = "\n".join(f"- {k.replace('_', ' ')}: {v}" for k, v in machine.items())
    setup = "\n".join(f"- {k.replace('_', ' ')}: {v}" for k, v in settings.items())
    return f"""# talks benchmark results

Made by `python -m benchmarks.chunk_sizes`; every number comes from that one run, side by side.

## Machine
{facts}

## Settings
{setup}

## Results
{results_table(rows)}

- wall s: the whole subprocess, start to exit (Python start, imports, model load, filing).
- CPU s: user + system CPU of the whole tree (wait4); other work on the machine sways it
  less than wall time.
- transcribe s: decoding + transcribing only (no start-up, no model load): the sum of the
  ledger's per-chunk `seconds` for the pipeline, the same span for the whole-file run.
- peak tree RSS: the highest sum of RSS over the process and all its descendants, sampled;
  shared pages count once per process, so it is an upper bound.
- largest process: the single biggest process (the worker, for the pipeline); "kernel" is the
  exact high-water mark reported by wait4, a check on the sampler.

## Ratios
{ratio_table(rows)}

## Peaks by phase
{phase_table(measurements)}
"""


def write(out_dir: Path, machine: dict[str, object], settings: dict[str, object],
          measurements: list[Measurement], stem: str = "chunk_sizes") -> tuple[Path, Path, str]:
    names = list(dict.fromkeys(m.name for m in measurements))
    rows = [aggregate(n, [m for m in measurements if m.name == n]) for n in names]
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path, json_path = out_dir / f"{stem}.md", out_dir / f"{stem}.json"
    markdown = render_markdown(machine, settings, rows, measurements)
    md_path.write_text(markdown, encoding="utf-8")
    body = {"machine": machine, "settings": settings, "summary": [asdict(r) for r in rows],
            "ratios": [asdict(r) for r in ratios(rows)],
            "measurements": [asdict(m) for m in measurements]}
    json_path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n",
                         encoding="utf-8")
    return md_path, json_path, results_table(rows) + "\n\n" + ratio_table(rows)
