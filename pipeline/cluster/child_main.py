"""The entry point of a job's child process on a Ray node: `python -m
pipeline.cluster.child_main EVENTS_FD STOP_FD ANSWERS_FD`, the job and its arguments pickled on
stdin (pipeline/cluster/node.py starts it; pipeline/cluster/child.py has its link). A module
of its own so that what the pipes carry is pickled under child.py's name, not __main__'s."""

from __future__ import annotations

import os
import pickle
import sys
from multiprocessing.connection import Connection

from pipeline.cluster.child import ChildLink
from pipeline.run.worker import PipeFlag, _child_main


def main() -> None:
    events_fd, stop_fd, answers_fd = (int(a) for a in sys.argv[1:4])
    job, args, parent_pid, stage = pickle.load(sys.stdin.buffer)
    ChildLink.answers = Connection(answers_fd, writable=False)
    _child_main(job, args, Connection(events_fd, readable=False),
                PipeFlag(Connection(stop_fd, writable=False)), parent_pid, stage,
                link_type=ChildLink)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # as pipeline/run/worker_main.py: no teardown of the engine's threads


if __name__ == "__main__":
    main()
