"""`talks schedule`: a real crontab entry installed, replaced and removed (other lines kept);
the launchd agent checked with plutil where there is one and by plistlib; status from the
ledger's runs."""

from __future__ import annotations

import plistlib
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from pipeline.config import schedule
from pipeline.config.settings import ConfigError, load_config
from pipeline.ledger import Ledger
from tests.support.paths import ROOT
from tui.cli import main

OTHER_LINE = "17 3 * * * /bin/true # someone else's job, left alone"


def config_at(tmp_path: Path, time: str = "02:30", weekdays: str = "[]") -> Path:
    path = tmp_path / "my talks" / "config.toml"  # a space in the path, as on a Mac
    (path.parent / "inbox").mkdir(parents=True, exist_ok=True)  # a missing input stops a run
    path.write_text(f'[input]\nfolders = ["inbox"]\n[output]\nroot = "out"\n'
                    f'[logging]\nfile = "out/talks.log"\n'
                    f'[schedule]\ntime = "{time}"\nweekdays = {weekdays}\n', encoding="utf-8")
    return path


def crontab() -> str:
    proc = subprocess.run(["crontab", "-l"], capture_output=True, text=True)
    return proc.stdout if proc.returncode == 0 else ""


@pytest.fixture
def user_crontab():
    """The real crontab of this user, restored afterwards whatever the test did."""
    if not shutil.which("crontab"):
        pytest.fail("crontab is missing: `make test` installs cron (scripts/ensure-tools.sh)")
    before = crontab()
    subprocess.run(["crontab", "-"], input=before + OTHER_LINE + "\n", text=True, check=True)
    yield
    if before:
        subprocess.run(["crontab", "-"], input=before, text=True, check=True)
    else:
        subprocess.run(["crontab", "-r"], capture_output=True)


def test_install_replace_and_remove_a_real_crontab_entry(tmp_path, user_crontab, capsys,
                                                         monkeypatch):
    monkeypatch.setattr(schedule, "uses_launchd", lambda: False)
    path = config_at(tmp_path, "02:30", '["mon", "fri"]')
    assert main(["--config", str(path), "schedule", "install"]) == 0
    assert "mon, fri at 02:30" in capsys.readouterr().out
    mark = f"{schedule.CRON_MARK}{path.resolve()}"
    lines = [ln for ln in crontab().splitlines() if ln.endswith(mark)]
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith("30 2 * * 1,5 ")
    # The command cron runs is this installation's talks on this config, with its log.
    command = line.split(" ", 5)[5].rsplit(" # ", 1)[0]
    assert "--batch --config" in command and "schedule.log" in command
    assert OTHER_LINE in crontab()

    # The same config again: replaced, not added.
    path.write_text(path.read_text().replace('"02:30"', '"21:05"'))
    assert main(["--config", str(path), "schedule", "install"]) == 0
    ours = [ln for ln in crontab().splitlines() if ln.endswith(mark)]
    assert len(ours) == 1 and ours[0].startswith("5 21 * * 1,5 ")

    assert main(["--config", str(path), "schedule", "status"]) == 0
    out = capsys.readouterr().out
    assert "Scheduled mon, fri at 21:05; next run" in out
    assert "No run has filed into this output root yet." in out

    assert main(["--config", str(path), "schedule", "remove"]) == 0
    assert mark not in crontab()
    assert OTHER_LINE in crontab()
    assert main(["--config", str(path), "schedule", "remove"]) == 0
    assert "No schedule was installed" in capsys.readouterr().out


def test_the_cron_command_really_runs_talks(tmp_path, user_crontab, monkeypatch):
    """Run the installed command line the way cron does (/bin/sh, a bare environment)."""
    monkeypatch.setattr(schedule, "uses_launchd", lambda: False)
    path = config_at(tmp_path)
    config = load_config(path)
    schedule.install(config)
    line = next(ln for ln in crontab().splitlines() if str(path.resolve()) in ln)
    command = line.split(" ", 5)[5]
    proc = subprocess.run(["/bin/sh", "-c", command], env={"HOME": str(tmp_path)},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    log = (tmp_path / "my talks" / "out" / "schedule.log").read_text(encoding="utf-8")
    assert "No recordings found in the input folders." in log
    status = schedule.status(config)
    assert status[-1].startswith("The last run started") and "ended well" in status[-1]


def test_next_run_and_the_last_run_from_the_ledger(tmp_path):
    config = load_config(config_at(tmp_path, "02:30", '["sun"]'))
    when = schedule.When.from_config(config)
    assert when.days == (0,)
    monday = datetime(2026, 11, 30, 12, 0)
    assert when.next_after(monday) == datetime(2026, 12, 6, 2, 30)
    daily = schedule.When(2, 30, ())
    assert daily.next_after(datetime(2026, 11, 30, 2, 29)) == datetime(2026, 11, 30, 2, 30)
    assert daily.next_after(datetime(2026, 11, 30, 2, 30)) == datetime(2026, 12, 1, 2, 30)
    with Ledger(config.output.ledger_path) as ledger:
        run = ledger.start_run()
        assert "did not finish" in schedule.last_run(config)
        ledger.finish_run(run, {"filed": 2, "failed": 1, "skipped": 0})
    assert schedule.last_run(config).endswith("with failures (see the log): 2 filed, "
                                              "1 failed, 0 skipped.")


def test_the_launchd_agent_is_a_valid_plist(tmp_path, monkeypatch):
    config = load_config(config_at(tmp_path, "06:45", '["tue", "sat"]'))
    home = tmp_path / "home"
    calls: list[list[str]] = []

    def launchctl(*args: str):
        # launchctl exists only on macOS: here its calls are recorded instead.
        calls.append(list(args))
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(schedule, "_launchctl", launchctl)
    path = schedule.launchd_install(config, schedule.When.from_config(config), home)
    assert path.parent == home / "Library" / "LaunchAgents"
    if shutil.which("plutil"):
        subprocess.run(["plutil", "-lint", str(path)], check=True)
    agent = plistlib.loads(path.read_bytes())
    assert agent["Label"] == path.stem == schedule.launchd_label(config)
    assert agent["ProgramArguments"][-3:] == ["--batch", "--config",
                                              str(config.source.resolve())]
    assert Path(agent["ProgramArguments"][0]).is_file()
    assert agent["StartCalendarInterval"] == [{"Weekday": 2, "Hour": 6, "Minute": 45},
                                              {"Weekday": 6, "Hour": 6, "Minute": 45}]
    assert agent["StandardOutPath"].endswith("out/schedule.log")
    assert agent["WorkingDirectory"] == str(config.source.parent)
    assert schedule.when_of_plist(path) == schedule.When(6, 45, (2, 6))
    assert calls[-1][0] == "bootstrap" and calls[-1][2] == str(path)
    assert schedule.launchd_remove(config, home)
    assert not path.exists() and calls[-1][0] == "bootout"


@pytest.mark.parametrize("time, days, problem", [
    ("25:00", "[]", "schedule.time"),
    ("2.30", "[]", "schedule.time"),
    ("02:30", '["monday"]', "schedule.weekdays"),
])
def test_bad_schedule_settings_are_named(tmp_path, time, days, problem):
    with pytest.raises(ConfigError) as caught:
        load_config(config_at(tmp_path, time, days))
    assert problem in str(caught.value)


def test_the_program_the_schedule_runs_is_this_installation():
    command = schedule.talks_command(load_config(ROOT / "config.toml"))
    assert Path(command[0]).parent == Path(sys.executable).parent
