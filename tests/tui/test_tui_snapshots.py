"""Snapshots of the main, review, speakers and settings screens at 80×24 and 120×40.

Everything on screen is fixed: a seeded ledger and library, a memory sampler that always
reads 100 MB of 8 GB, no timers (`ticking=False`), and paths shown relative to the folder
the test runs in. Update after a deliberate change with `pytest --snapshot-update`.
"""

from __future__ import annotations

import pytest

from tests.tui.helpers import make_app, seed_ledger, seed_library, write_home

SIZES = [(80, 24), (120, 40)]
SCREENS = {"main": [], "review": ["r"], "speakers": ["k"], "settings": ["o"]}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(screen, size, snap_compare, tmp_path, monkeypatch):
    home = tmp_path / "home"
    config_path = write_home(home)
    config = seed_ledger(config_path)
    seed_library(config)
    monkeypatch.chdir(home)
    app = make_app(config_path, ticking=False)
    assert snap_compare(app, press=SCREENS[screen], terminal_size=size)
