"""A local Ray cluster for the tests and the cluster benchmark: `ray start --head --block` in a
temporary folder, with a token of its own (Ray's token authentication, as a real cluster
should have), stopped by ending that one process (it takes its raylet and workers with it)."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

RAY = str(Path(sys.executable).with_name("ray"))


@dataclass(frozen=True)
class LocalCluster:
    address: str
    env: dict[str, str]  # what a `talks` needs in its environment to join it
    process: subprocess.Popen

    def task_processes(self, name: str) -> list[psutil.Process]:
        """The cluster's worker processes running a task called `name` now."""
        found = []
        for proc in psutil.Process(self.process.pid).children(recursive=True):
            try:
                if proc.cmdline() and proc.cmdline()[0].startswith(f"ray::{name}"):
                    found.append(proc)
            except psutil.NoSuchProcess:
                pass
        return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def local_cluster(cpus: int) -> Iterator[LocalCluster]:
    # A short folder: Ray's sockets live under it, and a socket's path has a length limit.
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    port = _free_port()
    env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16),
           "RAY_USAGE_STATS_ENABLED": "0"}
    log = open(Path(temp) / "start.log", "w", encoding="utf-8")  # noqa: SIM115
    process = subprocess.Popen(
        [RAY, "start", "--head", "--block", f"--num-cpus={cpus}", f"--port={port}",
         f"--temp-dir={temp}", "--include-dashboard=false", "--disable-usage-stats"],
        env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while "Ray runtime started" not in (Path(temp) / "start.log").read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((Path(temp) / "start.log").read_text())
            time.sleep(0.2)
        yield LocalCluster(f"127.0.0.1:{port}", env, process)
    finally:
        process.send_signal(signal.SIGTERM)  # it drains, then ends what it started
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(temp, ignore_errors=True)  # its sessions' logs and sockets
