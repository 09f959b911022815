"""The packages stay in layers: common/ below speakers/ below pipeline/ below tui/.

Every import statement counts, also those inside functions (a lazy import is still a cycle
waiting to happen)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.paths import ROOT  # noqa: E402

# package -> top-level modules it must never import
FORBIDDEN = {
    "common": {"pipeline", "speakers", "tui", "textual"},
    "speakers": {"pipeline", "tui", "textual"},
    "pipeline": {"tui", "textual"},
}


def imported_modules(path: Path, package: str) -> set[str]:
    """Top-level names of every module a file of `package` imports (a relative import counts
    as the package itself)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.add(package)
            elif node.module:
                found.add(node.module.split(".")[0])
    return found


def test_imported_modules_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    sample = tmp_path / "probe.py"
    sample.write_text("import os.path\n\ndef f():\n    from pipeline.ledger import Ledger\n"
                      "    from . import identify\n", encoding="utf-8")
    assert imported_modules(sample, "speakers") == {"os", "pipeline", "speakers"}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_nothing_above_it(package: str) -> None:
    offenders = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = imported_modules(path, package) & FORBIDDEN[package]
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert not offenders, f"{package}/ must not import {sorted(FORBIDDEN[package])}: {offenders}"
