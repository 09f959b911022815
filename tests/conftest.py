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
