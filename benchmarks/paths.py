"""Where the benchmarks keep things, and the environment every measured program gets."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
WORK_DIR = BENCH_DIR / "work"  # git-ignored: recordings, run folders, quick results


def child_env() -> dict[str, str]:
    """The caller's environment, kept offline: a benchmark must never wait on the hub."""
    env = dict(os.environ)
    env["HF_HUB_OFFLINE"] = "1"
    return env
