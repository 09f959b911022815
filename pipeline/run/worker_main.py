"""A worker process's entry point: `python -m pipeline.run.worker_main EVENTS_FD STOP_FD`, with the
parent's import path and then the job and its arguments pickled on stdin (pipeline/run/worker.py
starts it)."""

from __future__ import annotations

import os
import pickle
import sys
from multiprocessing.connection import Connection

from pipeline.run.worker import PipeFlag, _child_main


def main() -> None:
    events_fd, stop_fd = int(sys.argv[1]), int(sys.argv[2])
    sys.path[:] = pickle.load(sys.stdin.buffer)
    job, args, parent_pid, stage = pickle.load(sys.stdin.buffer)
    _child_main(job, args, Connection(events_fd, readable=False),
                PipeFlag(Connection(stop_fd, writable=False)), parent_pid, stage)
    # The job has reported and its pipe is closed: leave without the interpreter's teardown.
    # mlx's CPU threads are still joinable then, and destroying them aborts the process
    # ("terminate called without an active exception", seen in CI); nothing is left to flush
    # but the standard streams.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
