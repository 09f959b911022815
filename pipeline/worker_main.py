"""A worker process's entry point: `python -m pipeline.worker_main EVENTS_FD STOP_FD`, with the
parent's import path and then the job and its arguments pickled on stdin (pipeline/worker.py
starts it)."""

from __future__ import annotations

import pickle
import sys
from multiprocessing.connection import Connection

from pipeline.worker import PipeFlag, _child_main


def main() -> None:
    events_fd, stop_fd = int(sys.argv[1]), int(sys.argv[2])
    sys.path[:] = pickle.load(sys.stdin.buffer)
    job, args, parent_pid, stage = pickle.load(sys.stdin.buffer)
    _child_main(job, args, Connection(events_fd, readable=False),
                PipeFlag(Connection(stop_fd, writable=False)), parent_pid, stage)


if __name__ == "__main__":
    main()
