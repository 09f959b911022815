"""Real small file systems for fault tests: a tmpfs of a given size, read-only if asked.

Mounting needs root on Linux (CI here runs as root). Where it cannot be done (a Mac, a
container without CAP_SYS_ADMIN) the test says so and does not run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def can_mount() -> str | None:
    """None when this machine can mount a tmpfs; else why not."""
    if not sys.platform.startswith("linux"):
        return f"mounting a tmpfs needs Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root (CI runs the tests as root)"
    return None


class Mounts:
    def __init__(self) -> None:
        self.mounted: list[Path] = []

    def tmpfs(self, where: Path, size: str, read_only: bool = False) -> Path:
        why = can_mount()
        if why:
            pytest.skip(f"not run: {why}")
        where.mkdir(parents=True, exist_ok=True)
        options = f"size={size},mode=0755" + (",ro" if read_only else "")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"not run: this machine cannot mount a tmpfs ({done.stderr.strip()})")
        self.mounted.append(where)
        return where

    def remount(self, where: Path, options: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{options}", str(where)], check=True)

    def unmount(self, where: Path) -> None:
        subprocess.run(["umount", str(where)], check=True)
        self.mounted.remove(where)

    def unmount_all(self) -> None:
        for where in reversed(self.mounted):
            subprocess.run(["umount", "-l", str(where)], capture_output=True)
        self.mounted.clear()


@pytest.fixture
def mounts():
    m = Mounts()
    yield m
    m.unmount_all()
