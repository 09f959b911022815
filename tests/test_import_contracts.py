"""The layers and the faces' one door (pyproject.toml's [tool.importlinter] contracts): kept
by the code as it is, and each broken by the import it forbids."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

LINT = str(Path(sys.executable).with_name("lint-imports"))
PACKAGES = ("common", "speakers", "pipeline", "tui")


def lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "200"}
    return subprocess.run([LINT, "--config", str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_the_code_keeps_every_contract() -> None:
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.fixture(scope="module")
def copy_of_the_code(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("code")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, root / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.tcss"))
    shutil.copy(ROOT / "pyproject.toml", root)
    return root


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("speakers/library.py", "import pipeline.ledger", "Layers"),
    ("common/names.py", "import speakers.library", "Layers"),
    ("pipeline/ledger.py", "import tui.progress_model", "Layers"),
    ("tui/screens/main.py", "from pipeline.run.batch import run_batch", "One door"),
    ("tui/commands/status.py", "import speakers.library", "One door"),
    ("pipeline/run/batch.py", "import textual.app", "Only the app imports Textual"),
    ("tui/commands/status.py", "import textual.widgets", "Only the app imports Textual"),
    ("pipeline/stages/transcribe.py", "import ray", "Only pipeline.cluster imports Ray"),
])
def test_a_forbidden_import_breaks_its_contract(copy_of_the_code: Path, module: str,
                                                 line: str, contract: str) -> None:
    target = copy_of_the_code / module
    kept = target.read_text(encoding="utf-8")
    try:
        # Inside a function, as a lazy import would be: those count too.
        target.write_text(kept + f"\n\ndef _forbidden():\n    {line}\n", encoding="utf-8")
        done = lint(copy_of_the_code)
    finally:
        target.write_text(kept, encoding="utf-8")
    assert done.returncode != 0, done.stdout
    broken = [ln for ln in done.stdout.splitlines() if ln.endswith("BROKEN")]
    assert len(broken) == 1 and contract in broken[0], done.stdout
