"""On a node of the cluster: one heavy job of one talk, as a Ray task.

The job is the very function a local worker runs (pipeline/stages/transcribe.py's
transcribe_job, identify.py's identify_job); what differs is around it. Its audio (and the
speaker library) are put where it can read them (shipping.py); the config's paths become
this node's; the node's ffmpeg and model are checked first, so a node that lacks one says
so in one sentence naming it; and its link goes through the run's desk: events up, and the
ledger, which stays on the head, reached call by call (LedgerByDesk).
"""

from __future__ import annotations

import os
import pickle
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import ray

from common.errors import Fault
from pipeline.cluster.child import LedgerCall
from pipeline.cluster.shipping import Shipment, shared_path, unpack
from pipeline.config.settings import Config
from pipeline.run.states import Stage
from pipeline.run.worker import ParentGone, WorkerResult, WorkerStatus, run_job

ANSWER_WAIT_S = 30.0  # asked again after this: the head may be busy filing another talk
STOP_LOOK_S = 0.5  # how often the desk is asked whether the run wants this job to stop

# Ray lends a task's CPUs to the node's next task while the task's main thread waits in
# ray.get (so that nested tasks cannot deadlock). A job waits on the desk at every event and
# ledger call, so a node of one CPU ran two transcriptions at once, each at half speed (a
# 1-worker cluster 31 % slower than this machine alone, its engine time doubled). A wait
# from another thread keeps the CPUs the task declared: every wait of a job goes through
# this one thread.
_waiter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="talks-desk")


def wait_for(ref: Any) -> Any:
    """ray.get(ref), waited for off the main thread: the task keeps its CPUs meanwhile."""
    return _waiter.submit(ray.get, ref).result()


@dataclass(frozen=True)
class Errand:
    """What the head sends with a job: how the talk's files reach the node, and the check."""

    audio: Shipment
    library: Shipment | None  # the speaker library, for the voice embedding
    shared: dict[str, str]    # [cluster] shared_paths
    head_home: str            # this "~" is the node's own home there
    model: str = ""           # the Whisper model the talk needs ("" for the speaker job)


def node_name() -> str:
    try:
        address = ray.util.get_node_ip_address()
    except Exception:  # noqa: BLE001 - the name alone still names the node
        address = "?"
    return f"{socket.gethostname()} ({address})"


class LedgerByDesk:
    """The ledger's methods, called on the head's ledger through the desk: one call, one
    answer, in order with the events. A path of this node (a staged copy) goes back as the
    head's own path."""

    def __init__(self, desk: Any, key: str, back: dict[str, str]):
        self._desk, self._key, self._back = desk, key, back

    def __enter__(self) -> LedgerByDesk:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def _home_path(self, value: Any) -> Any:
        if isinstance(value, Path | str):
            text = str(value)
            for here, there in self._back.items():
                if text == here or text.startswith(here.rstrip("/") + "/"):
                    head = there + text[len(here):]
                    return Path(head) if isinstance(value, Path) else head
        return value

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method.startswith("_"):
            raise AttributeError(method)

        def call(*args: Any, **kwargs: Any) -> Any:
            call_id = uuid.uuid4().hex
            args = tuple(self._home_path(a) for a in args)
            try:
                wait_for(self._desk.post.remote(self._key, ("call", call_id, method, args,
                                                            kwargs)))
                while True:
                    done, reply = wait_for(self._desk.answer_to.remote(self._key, call_id,
                                                                       ANSWER_WAIT_S))
                    if done:
                        break
            except ray.exceptions.RayActorError:
                raise ParentGone from None
            ok, value = reply
            if not ok:
                raise value
            return value

        return call


class DeskLink:
    """The job's link (as pipeline/run/worker.py's WorkerLink): events to the desk, the stop
    request from it, and the ledger through it."""

    def __init__(self, desk: Any, key: str):
        self.desk, self.key = desk, key
        self.back: dict[str, str] = {}

    def send(self, item: object) -> None:
        try:
            wait_for(self.desk.post.remote(self.key, ("event", item)))
        except ray.exceptions.RayActorError:
            raise ParentGone from None

    def forward_logs(self, file_name: str) -> None:
        from pipeline.run.worker import WorkerLink

        WorkerLink.forward_logs(self, file_name)  # type: ignore[arg-type]

    def should_stop(self) -> bool:
        try:
            return bool(wait_for(self.desk.stopping.remote(self.key)))
        except ray.exceptions.RayActorError:
            raise ParentGone from None

    def ledger(self, config: Config) -> LedgerByDesk:
        return LedgerByDesk(self.desk, self.key, self.back)


def _node_path(path: Path | str, errand: Errand) -> Path:
    """A path of the head's config as this node has it: through a shared folder, or under
    this node's home where it was under the head's."""
    mapped = shared_path(path, errand.shared)
    if mapped is not None:
        return Path(os.path.expanduser(mapped))
    text = str(path)
    if errand.head_home and (text + "/").startswith(errand.head_home.rstrip("/") + "/"):
        return Path.home() / text[len(errand.head_home):].lstrip("/")
    return Path(text)


def _receive(shipment: Shipment, into: Path, node: str) -> Path:
    if shipment.node_path is not None:
        local = Path(os.path.expanduser(shipment.node_path))
        if not local.exists():
            raise Fault(f"Ray node {node} cannot see {local} ([cluster] shared_paths puts "
                        f"{shipment.head_path} there): mount the shared folder on that node, "
                        "or take the folder out of shared_paths so its audio is sent.")
        return local
    return unpack(shipment, into, wait_for)


def _check_node(stage: Stage, config: Config, errand: Errand, node: str) -> None:
    """What this node lacks for the job, in one sentence naming it (a Fault: every talk the
    cluster sends there would meet it, so the run stops and says where)."""
    from common.errors import TalksError

    if shutil.which("ffmpeg") is None:
        raise Fault(f"Ray node {node} has no ffmpeg: install it there (brew install ffmpeg, "
                    "or apt install ffmpeg), or take the node out of the cluster.")
    try:
        if stage == Stage.TRANSCRIBE:
            from pipeline.asr import check_model

            t = config.transcription
            check_model(t.engine, errand.model, t.model_cache, t.allow_download)
        else:
            from pipeline.stages.identify import check_embedder

            check_embedder(config)
    except TalksError as exc:
        raise Fault(f"Ray node {node} cannot run the {stage} stage: {exc}") from None


def _on_node(link: DeskLink, job: Callable[..., None], args: tuple, config: Config,
             stage: Stage, errand: Errand, scratch: Path) -> None:
    """The job's files and config made this node's, checked, then the job itself."""
    node = node_name()
    t, sp = config.transcription, config.speakers
    here = replace(config, transcription=replace(t, model_cache=_node_path(t.model_cache,
                                                                           errand)))
    if sp.campplus_weights:
        here = replace(here, speakers=replace(here.speakers, campplus_weights=str(
            _node_path(sp.campplus_weights, errand))))
    _check_node(stage, here, errand, node)
    audio = _receive(errand.audio, scratch / "audio", node)
    link.back[str(audio)] = errand.audio.head_path
    if errand.library is not None:
        library = _receive(errand.library, scratch / "library", node)
        link.back[str(library)] = errand.library.head_path
        here = replace(here, speakers=replace(here.speakers, folder=library))
    args = tuple(str(audio) if a == errand.audio.head_path else here if a is config else a
                 for a in args)
    run_in_child(link, job, args, stage, here)


def run_in_child(link: DeskLink, job: Callable[..., None], args: tuple, stage: Stage,
                 config: Config) -> None:
    """`job(link, *args)` in a fresh child process (pipeline/cluster/child.py), its events
    and result relayed to the desk and its ledger calls answered through it."""
    events_r, events_w = os.pipe()
    stop_r, stop_w = os.pipe()
    answers_r, answers_w = os.pipe()
    receiver = Connection(events_r, writable=False)
    stopper = Connection(stop_w, readable=False)
    answers = Connection(answers_w, readable=False)
    # This process's import path (Ray's copy of the head's code first) is the child's.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    try:
        proc = subprocess.Popen([sys.executable, "-m", "pipeline.cluster.child_main",
                                 str(events_w), str(stop_r), str(answers_r)],
                                stdin=subprocess.PIPE, pass_fds=(events_w, stop_r, answers_r),
                                env=env)
    finally:
        for fd in (events_w, stop_r, answers_r):
            os.close(fd)
    try:
        assert proc.stdin is not None
        with proc.stdin:
            pickle.dump((job, args, os.getpid(), stage), proc.stdin)
    except (BrokenPipeError, OSError):
        pass  # it ended at once: said below
    ledger = link.ledger(config)
    reported = False
    stop_sent = False
    next_look = time.monotonic() + STOP_LOOK_S
    try:
        while True:
            if receiver.poll(0.2):
                try:
                    item = receiver.recv()
                except EOFError:
                    break
                if isinstance(item, LedgerCall):
                    try:
                        reply: tuple[bool, Any] = (True, getattr(ledger, item.method)(
                            *item.args, **item.kwargs))
                    except ParentGone:
                        raise
                    except Exception as exc:  # noqa: BLE001 - raised again in the job
                        reply = (False, exc)
                    answers.send(reply)
                    continue
                link.send(item)
                reported = reported or isinstance(item, WorkerResult)
            elif proc.poll() is not None:
                break
            if not stop_sent and time.monotonic() >= next_look:
                next_look = time.monotonic() + STOP_LOOK_S
                if link.should_stop():
                    stop_sent = True
                    stopper.send_bytes(b"stop")
    finally:
        if proc.poll() is None and not reported:
            proc.kill()  # the run is gone (or this task is): its job goes too
        proc.wait()
        for conn in (receiver, stopper, answers):
            conn.close()
    if not reported:
        code = proc.returncode
        link.send(WorkerResult(WorkerStatus.ERROR, stage,
                               f"The worker process on Ray node {node_name()} ended without "
                               f"finishing (exit code {code}); run again to resume."))


def work(desk: Any, key: str, job: Callable[..., None], args: tuple, stage: Stage,
         errand: Errand) -> None:
    """The Ray task: what it has to say (events, then its WorkerResult) goes to the desk."""
    link = DeskLink(desk, key)
    # Which node and process took it (a retry is another): the head's log says so.
    wait_for(desk.post.remote(key, ("started", node_name(), os.getpid(), time.time())))
    config = next(a for a in args if isinstance(a, Config))
    with tempfile.TemporaryDirectory(prefix="talks-node-") as scratch:
        run_job(_on_node, (job, args, config, stage, errand, Path(scratch)), link, stage)
