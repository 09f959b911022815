"""On this machine (the head): the heavy stages' jobs sent to the Ray cluster.

`run_on_cluster` stands where pipeline/run/worker.py's run_in_worker stands for a local run,
and returns the same WorkerResult: the stage code around it is the same. Through the run's
desk (desk.py) it forwards the task's events, answers its ledger calls on this machine's
ledger (the only one), asks it to stop between chunks, and cancels it when the run must stop
at once or it makes no progress. Ray runs a task again when its worker or node dies
(max_retries); the job reads the chunks already saved, so none is done twice.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import common
import pipeline
import speakers
from common.errors import Fault
from common.supported import require

require("ray")  # its driver's printer is replaced below: a version outside is said first

import ray  # noqa: E402
import ray._private.worker as ray_driver  # noqa: E402

from pipeline.asr.models import models_of  # noqa: E402
from pipeline.cluster.desk import Desk  # noqa: E402
from pipeline.cluster.node import Errand, work  # noqa: E402
from pipeline.cluster.shipping import Shipment, ship  # noqa: E402
from pipeline.config.settings import Config  # noqa: E402
from pipeline.ledger import Ledger  # noqa: E402
from pipeline.run.logs import get_logger  # noqa: E402
from pipeline.run.states import Stage  # noqa: E402
from pipeline.run.worker import StopFlag, WorkerResult, WorkerStatus, _at_once  # noqa: E402

MB = 1024 * 1024
TAKE_WAIT_S = 0.2  # how long one look at the desk waits for news (and so the stop's delay)
# What a transcription worker holds at its peak, with some room (docs/how-it-works.md,
# benchmarks/engine_memory.md: tiny.en ~300 MB, base ~400 MB; the larger models by their
# weights). A node is given no more tasks than these fit in.
MODEL_MEMORY_MB = {"tiny": 500, "base": 700, "small": 1400, "medium": 3000, "large": 5000,
                   "turbo": 3000, "distil": 3000}
OTHER_MODEL_MB = 3000


def transcribe_memory_mb(config: Config, model: str | None = None) -> int:
    """The memory a transcription task declares: the config's, or its model's figure."""
    if config.cluster.transcribe_memory_mb:
        return config.cluster.transcribe_memory_mb
    names = (model,) if model else models_of(config.transcription.model)
    sizes = [next((mb for key, mb in MODEL_MEMORY_MB.items()
                   if Path(name).name.split(".")[0].split("-")[0] == key), OTHER_MODEL_MB)
             for name in names]
    return max(sizes)


@dataclass(frozen=True)
class Needs:
    cpus: float
    memory_mb: int


class Cluster:
    """The connection to the cluster for this process: the desk, the task, and what was
    shipped (kept while it may be asked for again: the next worker of a long talk, the
    speaker job after the transcription)."""

    def __init__(self, config: Config):
        self.address = config.cluster.address
        self.desk = ray.remote(Desk).options(num_cpus=0, name=None).remote()
        # Ray's worker processes are reused (a fresh one per task cost ~0.7 s); the job
        # itself runs in a fresh child of the task's process (node.py, run_in_child), so a
        # model's memory still goes back when its file is done.
        self.task = ray.remote(work)
        self._lock = threading.Lock()
        self._shipped: OrderedDict[tuple, Shipment] = OrderedDict()

    def nodes(self) -> list[dict[str, float]]:
        return [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]

    def files_at_once(self, config: Config) -> int:
        if config.cluster.files_at_once:
            return config.cluster.files_at_once
        cpus = sum(n.get("CPU", 0.0) for n in self.nodes())
        return max(1, int(cpus // max(1, config.transcription.threads)) + 1)

    def check_fits(self, needs: Needs, what: str) -> None:
        """A task no node can hold would wait for ever: said at once instead."""
        for node in self.nodes():
            if node.get("CPU", 0) >= needs.cpus and node.get("memory", 0) >= needs.memory_mb * MB:
                return
        raise Fault(f"No node of the Ray cluster has {needs.cpus:g} CPUs and "
                    f"{needs.memory_mb} MB of memory for a {what} task: lower [transcription] "
                    "threads or the [cluster] memory setting, or add a larger node.")

    def shipment(self, path: Path, shared: dict[str, str], keep: int) -> Shipment:
        """The file or folder shipped, once for as long as it is unchanged."""
        if path.is_dir():
            stamp: tuple = tuple(sorted((str(p), p.stat().st_size, p.stat().st_mtime_ns)
                                        for p in path.rglob("*") if p.is_file()))
        else:
            st = path.stat()
            stamp = (st.st_size, st.st_mtime_ns)
        key = (str(path), stamp)
        with self._lock:
            if key in self._shipped:
                self._shipped.move_to_end(key)
                return self._shipped[key]
        shipped = ship(path, shared, ray.put)
        with self._lock:
            self._shipped[key] = shipped
            while len(self._shipped) > keep:  # Ray frees what nobody refers to
                self._shipped.popitem(last=False)
        return shipped


def _notes_to_the_log(data: dict, ignore_prefix: bool) -> None:
    """Ray's driver prints the cluster's error notes (a worker that died, a task run again)
    on this process's stdout, where `talks --batch --json` prints its summary: they go to the
    run's log instead, where the rest of what the cluster did is told."""
    for line in data.get("lines", []):
        get_logger().warning("Ray (%s): %s", data.get("pid", "?"), line)


_connected: Cluster | None = None
_connecting = threading.Lock()


def runtime_env(config: Config) -> dict[str, Any]:
    """The head's own code goes to the nodes (the same version everywhere); the nodes need
    talks' dependencies installed, their models and ffmpeg. Without downloads allowed, a
    node never fetches a model."""
    modules = [str(Path(m.__file__).parent) for m in (common, pipeline, speakers)]
    env: dict[str, Any] = {"py_modules": modules, "excludes": ["__pycache__"]}
    if not config.transcription.allow_download:
        env["env_vars"] = {"HF_HUB_OFFLINE": "1"}
    return env


def connect(config: Config) -> Cluster:
    """This process's connection to the configured cluster, made once."""
    global _connected
    with _connecting:
        if _connected is not None and _connected.address == config.cluster.address:
            return _connected
        if not ray.is_initialized():
            address = config.cluster.address
            try:
                # Quiet: --json prints events on stdout, and Ray's notes are not a person's.
                ray_driver.print_to_stdstream = _notes_to_the_log
                ray.init(address=address, namespace="talks", runtime_env=runtime_env(config),
                         log_to_driver=False, logging_level=logging.ERROR)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise Fault(f"Could not reach the Ray cluster at {address!r} ({exc}): start "
                            "it (`ray start --head` on its head machine; a cluster with token "
                            "authentication also needs RAY_AUTH_MODE=token and its token here, "
                            "see `ray get-auth-token`) or set [cluster] address = \"\" to "
                            "work on this machine alone.") from None
        _connected = Cluster(config)
        get_logger().info("Ray cluster at %r: %s", config.cluster.address,
                          ", ".join(f"{n.get('CPU', 0):g} CPUs" for n in _connected.nodes()))
        return _connected


def files_at_once(config: Config) -> int:
    return connect(config).files_at_once(config)


def _answer(ledger: Ledger, method: str, args: tuple, kwargs: dict) -> tuple[bool, Any]:
    try:
        return True, getattr(ledger, method)(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - raised again in the job, where it is handled
        return False, exc


def needs_of(config: Config, stage: Stage, model: str) -> Needs:
    """What a task declares: the engine's cores and its model's memory for a transcription;
    one core (its BLAS thread) and the config's figure for the voice embedding."""
    if stage == Stage.TRANSCRIBE:
        return Needs(float(config.transcription.threads), transcribe_memory_mb(config, model))
    return Needs(1.0, config.cluster.speaker_memory_mb)


def run_on_cluster(config: Config, ledger: Ledger, path: Path, job: Callable[..., None],
                   args: tuple, on_event: Callable[[Any], None], control: StopFlag | None,
                   stall_seconds: float, stage: Stage, model: str = "",
                   library: Path | None = None) -> WorkerResult:
    """Run `job(link, *args)` as a Ray task; forward its events until it reports.
    `model`: the Whisper model the node must have; `library`: the speaker library the job
    reads, shipped with the audio."""
    cluster = connect(config)
    needs = needs_of(config, stage, model)
    what = "transcription" if stage == Stage.TRANSCRIBE else "voice-embedding"
    cluster.check_fits(needs, what)
    keep = 2 * cluster.files_at_once(config) + 2
    shared = config.cluster.shared_paths
    errand = Errand(cluster.shipment(path, shared, keep),
                    cluster.shipment(library, shared, keep) if library else None,
                    shared, str(Path.home()), model)
    key = uuid.uuid4().hex
    ref = cluster.task.options(num_cpus=needs.cpus, memory=needs.memory_mb * MB,
                               max_retries=config.cluster.max_retries, retry_exceptions=False,
                               name=f"talks-{stage}").remote(cluster.desk, key, job, args,
                                                             stage, errand)
    desk = cluster.desk
    result: WorkerResult | None = None
    started = False
    stop_sent = False
    last_heard = time.monotonic()

    def handle(items: list[Any]) -> None:
        nonlocal result, started, last_heard
        for item in items:
            last_heard = time.monotonic()
            if item[0] == "started":
                if started:
                    get_logger().warning("%s: the %s task runs again, on Ray node %s (its "
                                         "worker or node ended)", path.name, stage, item[1])
                else:
                    get_logger().info("%s: %s on Ray node %s, process %d", path.name, stage,
                                      item[1], item[2])
                started = True
            elif item[0] == "call":
                _kind, call_id, method, call_args, kwargs = item
                desk.answer.remote(key, call_id, _answer(ledger, method, call_args, kwargs))
            elif isinstance(item[1], WorkerResult):
                result = item[1]
            else:
                on_event(item[1])

    try:
        while result is None:
            if control is not None and control.is_set():
                if not stop_sent:
                    stop_sent = True
                    desk.stop.remote(key)
                if _at_once(control):  # the chunk in progress is given up; the ledger has the rest
                    ray.cancel(ref, force=True)
                    result = WorkerResult(WorkerStatus.CANCELLED, stage, "stopped at once")
                    break
            handle(ray.get(desk.take.remote(key, TAKE_WAIT_S)))
            if result is not None:
                break
            finished, _ = ray.wait([ref], timeout=0)
            if finished:
                handle(ray.get(desk.take.remote(key, 0)))  # what it said before it ended
                if result is None:
                    result = _ended_without_result(ref, stage, config)
            elif started and time.monotonic() - last_heard > stall_seconds:
                ray.cancel(ref, force=True)
                result = WorkerResult(WorkerStatus.ERROR, stage,
                                      f"The engine made no progress for {stall_seconds:.0f} s "
                                      "and was stopped: try a smaller [transcription] "
                                      "chunk_seconds or model.")
    except BaseException:
        ray.cancel(ref, force=True)  # stopped at once (a second Ctrl-C): the task goes too
        raise
    finally:
        desk.close.remote(key)
    return result


def _ended_without_result(ref: Any, stage: Stage, config: Config) -> WorkerResult:
    try:
        ray.get(ref)
        why = "it ended without a word"
    except ray.exceptions.RayError as exc:
        why = type(exc).__name__
    return WorkerResult(WorkerStatus.ERROR, stage,
                        f"The Ray task ended without finishing ({why}, after "
                        f"{config.cluster.max_retries} retries); run again to resume.")


def disconnect() -> None:
    """End this process's connection (the next run connects again)."""
    global _connected
    with _connecting:
        _connected = None
        if ray.is_initialized():
            ray.shutdown()

