"""Snapshots of the main, review, speakers and settings screens at 80×24 and 120×40.

Everything on screen is fixed: a seeded ledger and library, a memory sampler that always
reads 100 MB of 8 GB, a clock that stands still (so one memory reading and no rescan: the
app's timers tick as always, but no time passes for them), and paths shown relative to the
folder the test runs in. The picture is taken once the app's first scans have filled the
table and the screen's own threads have reported. Update after a deliberate change with
`pytest --snapshot-update`.
"""

from __future__ import annotations

import pytest

from tests.support.tui_helpers import make_app, seed_ledger, seed_library, wait_for, write_home
from tui.widgets.file_table import FileTable

SIZES = [(80, 24), (120, 40)]
SCREENS = {"main": [], "review": ["r"], "speakers": ["k"], "settings": ["o"]}


async def scanned(pilot) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.main_screen.query_one(FileTable).row_count == 6
                   and not app._scanning and not app._scan_wanted, what="the first scans")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(screen, size, snap_compare, tmp_path, monkeypatch):
    home = tmp_path / "home"
    config_path = write_home(home)
    config = seed_ledger(config_path)
    seed_library(config)
    monkeypatch.chdir(home)
    app = make_app(config_path, clock=lambda: 1_700_000_000.0)

    async def before(pilot) -> None:
        await scanned(pilot)
        for key in SCREENS[screen]:
            await pilot.press(key)
        # Screens measure things in threads (the speech each person has enrolled): the
        # picture is taken once they have reported.
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.3)

    assert snap_compare(app, run_before=before, terminal_size=size)
