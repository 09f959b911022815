"""Shared test set-up: never touch the network for model weights."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
# The list of ledgers talks has made (pipeline/config/roots.py) lives outside the user's home here.
os.environ.setdefault("TALKS_STATE_DIR", tempfile.mkdtemp(prefix="talks-test-state-"))
# Under pytest-xdist every worker has a list of its own (workers inherit the controller's
# environment): two workers rewriting one list at once could drop each other's ledgers.
if os.environ.get("PYTEST_XDIST_WORKER"):
    _worker_state = Path(os.environ["TALKS_STATE_DIR"]) / os.environ["PYTEST_XDIST_WORKER"]
    _worker_state.mkdir(parents=True, exist_ok=True)
    os.environ["TALKS_STATE_DIR"] = str(_worker_state)
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


TRANSCRIPT_SUFFIXES = (".srt", ".vtt", ".json")


def transcript_problems(folder: Path) -> list[str]:
    """Every problem of every transcript the program wrote under `folder` (the same
    validator the writer uses, run on the files as a player would read them)."""
    from pipeline.filing.cues import problems_in_file

    problems = []
    for path in sorted(folder.rglob("* (Transcript).*")):
        if path.suffix in TRANSCRIPT_SUFFIXES and path.is_file():
            problems += [f"{path}: {p}" for p in problems_in_file(path)]
    return problems


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After each test, the transcripts under its own tmp_path (a failure of the test)."""
    result = yield
    folder = getattr(item, "funcargs", {}).get("tmp_path")
    if folder is not None:
        problems = transcript_problems(folder)
        assert not problems, "\n".join(problems)
    return result


# --- what a test needs, and which tests share a worker under pytest-xdist -----------------------
# Modules mark what they need themselves (pytestmark, or per test); a few needs follow from a
# fixture, whichever module uses it.
NEEDS_BY_FIXTURE = {
    "embedder": "models",   # loads the default speaker model
    "mounts": "root",       # mounts a tmpfs
}
# One resource of the machine, not of a test: tests that use it run on one worker, in turn.
SHARED_BY_FIXTURE = {
    "user_crontab": "crontab",  # the real crontab of this user
}


# Module fixtures that only make a short clip or a folder: cheaper to make again on the other
# worker than to hold their tests to one.
CHEAP_MODULE_FIXTURES = {"talk", "talk_wav", "clip", "long_talk", "odd_dir", "reference_wav",
                         "config", "weights", "library_home"}


def _module_fixture_group(item: pytest.Item) -> str | None:
    """Tests that share a module-scoped fixture of their own module (a filed library, a loaded
    model) run on one worker, so it is made once: one group per module and per parameter of
    such a fixture (faster-whisper and mlx can still go side by side)."""
    infos = getattr(item, "_fixtureinfo", None)
    module = getattr(item, "module", None)
    if infos is None or module is None:
        return None
    shared = []
    for name in infos.names_closure:
        for fixturedef in infos.name2fixturedefs.get(name, ()):
            if fixturedef.scope == "module" and fixturedef.func.__module__ == module.__name__ \
                    and name not in CHEAP_MODULE_FIXTURES:
                shared.append(name)
    if not shared:
        return None
    params = getattr(getattr(item, "callspec", None), "params", {})
    return "-".join([Path(str(item.path)).name] + [str(params[n]) for n in sorted(shared)
                                                   if n in params])


# The longest units of work (an xdist group, or a test of its own), longest first, from the
# suite's --durations on this 2-core machine: the workers hand out units in collection order,
# so these start first and the short tests fill in around them, instead of one of them
# starting last and running on alone (~40 s of the suite's end with one worker busy). Only the
# order depends on this list: a stale entry costs time, never a result.
LONG_FIRST = (
    "real-speech",  # ~245 s: real council voices through the real program
    "cluster",  # ~95 s: a local Ray cluster
    "test_batch.py",  # ~70 s: a filed library, both engines
    "test_windows.py",
    "test_tui_tmux.py::test_the_app_files_the_demo",  # ~60 s
    "test_batch_languages.py",
    "test_relabel.py",
    "test_tui_tmux.py::test_a_queue_started_in_the_app",  # ~60 s
    "test_inputs.py",
    "test_chaos.py::test_runs_killed_while_filing",  # ~50 s
    "test_watch.py::test_a_recording_copied_in_slowly",
    "test_pause_windows.py",
)


def _long_first_rank(item: pytest.Item) -> int:
    group = next((m.args[0] for m in item.iter_markers("xdist_group") if m.args), "")
    return next((rank for rank, unit in enumerate(LONG_FIRST)
                 if unit == group or unit in item.nodeid), len(LONG_FIRST))


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for fixture, mark in NEEDS_BY_FIXTURE.items():
            if fixture in names:
                item.add_marker(mark)
        if any(True for _ in item.iter_markers("xdist_group")):
            continue
        group = next((g for f, g in SHARED_BY_FIXTURE.items() if f in names), None)
        group = group or _module_fixture_group(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=_long_first_rank)  # stable: each module's own order is kept


@pytest.fixture(autouse=True, scope="session")
def every_transcript_of_the_session_is_valid(tmp_path_factory):
    """At the end, every transcript under the session's temporary folders (module fixtures
    write theirs there too)."""
    yield
    problems = transcript_problems(tmp_path_factory.getbasetemp())
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def embedder():
    """The default speaker model (the config's default backend), loaded once per module."""
    from pipeline.config.settings import SpeakersConfig
    from speakers.embedding import EmbedderSettings, create_embedder

    model = create_embedder(EmbedderSettings(SpeakersConfig().backend))
    model.load()
    yield model
    model.unload()


# mlx-cpu's threads abort the interpreter's teardown now and then ("terminate called without
# an active exception", 1 exit in 20 measured here after a model load): the tests that run
# mlx in this process would turn a green session into exit code 134. So once pytest has said
# all it has to say, the process leaves with pytest's own status (as pipeline/run/worker_main.py
# does for the same reason).
_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session, exitstatus):
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    if _EXIT_STATUS and "mlx.core" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[-1])
