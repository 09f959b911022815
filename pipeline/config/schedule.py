"""A schedule for `talks --batch`: a user crontab entry on Linux, a launchd agent on macOS.

Both run this installation's `talks` with the absolute path of the config, from the config's
folder, with a PATH that finds the ffmpeg found now, and append what the run prints to
`schedule.log` in the output root. Each config has its own entry (marked with the config's
path in the crontab, and a label made from it for launchd), so installing twice replaces the
entry instead of adding a second, and removing one leaves every other line alone.

`status` tells whether an entry is installed, when it runs next, and how the last run in
the output root ended (from the ledger's runs).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import plistlib
import shlex
import shutil
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from common.errors import TalksError
from pipeline.config.settings import WEEKDAYS, Config

CRON_MARK = "# talks schedule for "
# cron and launchd count Sunday as 0.
_DAY_NUMBER = {day: (i + 1) % 7 for i, day in enumerate(WEEKDAYS)}
_NUMBER_DAY = {n: d for d, n in _DAY_NUMBER.items()}


class ScheduleError(TalksError):
    """The schedule could not be changed; the sentence says what to do."""


@dataclass(frozen=True)
class When:
    hour: int
    minute: int
    days: tuple[int, ...]  # cron numbers (0 = Sunday); empty = every day

    @classmethod
    def from_config(cls, config: Config) -> When:
        hour, minute = (int(p) for p in config.schedule.time.split(":"))
        days = tuple(sorted({_DAY_NUMBER[d.lower()] for d in config.schedule.weekdays}))
        return cls(hour, minute, days)

    def describe(self) -> str:
        days = ("every day" if not self.days else
                ", ".join(_NUMBER_DAY[d] for d in sorted(self.days, key=lambda n: (n - 1) % 7)))
        return f"{days} at {self.hour:02d}:{self.minute:02d}"

    def next_after(self, now: datetime) -> datetime:
        candidate = now.replace(hour=self.hour, minute=self.minute, second=0, microsecond=0)
        if candidate <= now:
            candidate += timedelta(days=1)
        for _ in range(8):
            if not self.days or (candidate.isoweekday() % 7) in self.days:
                return candidate
            candidate += timedelta(days=1)
        raise AssertionError("a weekday always comes within a week")


def config_path(config: Config) -> Path:
    if config.source is None:
        raise ScheduleError("The schedule needs a config file: pass --config PATH.")
    return config.source.resolve()


def talks_command(config: Config) -> list[str]:
    """This installation's talks, run headless on this config."""
    beside = Path(sys.executable).with_name("talks")
    program = [str(beside)] if beside.is_file() else [sys.executable, "-m", "tui.cli"]
    return [*program, "--batch", "--config", str(config_path(config))]


def log_path(config: Config) -> Path:
    return config.output.root.resolve() / "schedule.log"


def search_path() -> str:
    """PATH for the scheduled run: where ffmpeg and this Python are now, then the usual."""
    folders = []
    for tool in ("ffmpeg", "ffprobe"):
        found = shutil.which(tool)
        if found:
            folders.append(str(Path(found).parent))
    folders += [str(Path(sys.executable).parent), "/usr/local/bin", "/opt/homebrew/bin",
                "/usr/bin", "/bin"]
    return ":".join(dict.fromkeys(folders))


# --- cron ----------------------------------------------------------------------------------

def _cron_quote(text: str) -> str:
    # In a crontab command an unescaped % ends the command: escape it after shell quoting.
    return shlex.quote(text).replace("%", "\\%")


def cron_line(config: Config, when: When) -> str:
    days = ",".join(str(d) for d in when.days) if when.days else "*"
    cfg = config_path(config)
    command = " ".join(_cron_quote(p) for p in talks_command(config))
    return (f"{when.minute} {when.hour} * * {days} cd {_cron_quote(str(cfg.parent))} && "
            f"PATH={_cron_quote(search_path())} {command} >> "
            f"{_cron_quote(str(log_path(config)))} 2>&1 {CRON_MARK}{cfg}")


@contextmanager
def _crontab_lock():
    """Two talks commands changing the crontab at once must not lose each other's line."""
    lock = Path.home() / ".cache" / "talks" / "crontab.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _crontab() -> str:
    if not shutil.which("crontab"):
        raise ScheduleError("crontab was not found: install cron (apt-get install cron), "
                            "then run `talks schedule install` again.")
    proc = subprocess.run(["crontab", "-l"], capture_output=True, text=True)
    if proc.returncode != 0:
        if "no crontab" in proc.stderr.lower():
            return ""
        raise ScheduleError(f"Could not read your crontab ({proc.stderr.strip()}).")
    return proc.stdout


def _set_crontab(text: str) -> None:
    proc = subprocess.run(["crontab", "-"], input=text, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ScheduleError(f"Could not write your crontab ({proc.stderr.strip()}).")


def _ours(line: str, cfg: Path) -> bool:
    return line.rstrip().endswith(f"{CRON_MARK}{cfg}")


def installed_cron_line(config: Config) -> str | None:
    cfg = config_path(config)
    return next((ln for ln in _crontab().splitlines() if _ours(ln, cfg)), None)


def cron_install(config: Config, when: When) -> str:
    cfg = config_path(config)
    line = cron_line(config, when)
    with _crontab_lock():
        kept = [ln for ln in _crontab().splitlines() if not _ours(ln, cfg)]
        _set_crontab("\n".join([*kept, line]) + "\n")
    return line


def cron_remove(config: Config) -> bool:
    cfg = config_path(config)
    with _crontab_lock():
        lines = _crontab().splitlines()
        kept = [ln for ln in lines if not _ours(ln, cfg)]
        if len(kept) == len(lines):
            return False
        _set_crontab("\n".join(kept) + "\n" if kept else "")
    return True


def when_of_cron_line(line: str) -> When:
    minute, hour, _dom, _month, days = line.split()[:5]
    return When(int(hour), int(minute),
                () if days == "*" else tuple(int(d) for d in days.split(",")))


# --- launchd -------------------------------------------------------------------------------

def launchd_label(config: Config) -> str:
    digest = hashlib.sha256(str(config_path(config)).encode()).hexdigest()[:8]
    return f"local.talks.batch.{digest}"


def plist_path(config: Config, home: Path | None = None) -> Path:
    return (home or Path.home()) / "Library" / "LaunchAgents" / f"{launchd_label(config)}.plist"


def launchd_plist(config: Config, when: When) -> bytes:
    times = [{"Hour": when.hour, "Minute": when.minute}]
    if when.days:
        times = [{"Weekday": d, "Hour": when.hour, "Minute": when.minute} for d in when.days]
    log = str(log_path(config))
    agent = {
        "Label": launchd_label(config),
        "ProgramArguments": talks_command(config),
        "WorkingDirectory": str(config_path(config).parent),
        "StartCalendarInterval": times if len(times) > 1 else times[0],
        "StandardOutPath": log,
        "StandardErrorPath": log,
        "EnvironmentVariables": {"PATH": search_path()},
        "ProcessType": "Background",
    }
    return plistlib.dumps(agent, fmt=plistlib.FMT_XML)


def check_plist(path: Path) -> None:
    """plutil -lint where macOS has it; everywhere, plistlib must read it back."""
    if shutil.which("plutil"):
        proc = subprocess.run(["plutil", "-lint", str(path)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise ScheduleError(f"The launchd agent {path} is not valid: {proc.stdout.strip()}")
    with open(path, "rb") as handle:
        plistlib.load(handle)


def _launchctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["launchctl", *args], capture_output=True, text=True)


def launchd_install(config: Config, when: When, home: Path | None = None) -> Path:
    path = plist_path(config, home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(launchd_plist(config, when))
    check_plist(tmp)
    os.replace(tmp, path)
    domain = f"gui/{os.getuid()}"
    _launchctl("bootout", f"{domain}/{launchd_label(config)}")  # an older one, if loaded
    proc = _launchctl("bootstrap", domain, str(path))
    if proc.returncode != 0:
        raise ScheduleError(f"launchctl could not load {path} ({proc.stderr.strip()}): run "
                            f"`launchctl bootstrap {domain} {path}` to see why.")
    return path


def launchd_remove(config: Config, home: Path | None = None) -> bool:
    path = plist_path(config, home)
    _launchctl("bootout", f"gui/{os.getuid()}/{launchd_label(config)}")
    if not path.exists():
        return False
    path.unlink()
    return True


def when_of_plist(path: Path) -> When:
    with open(path, "rb") as handle:
        times = plistlib.load(handle)["StartCalendarInterval"]
    times = times if isinstance(times, list) else [times]
    return When(times[0]["Hour"], times[0]["Minute"],
                tuple(sorted(t["Weekday"] for t in times if "Weekday" in t)))


# --- the face both share -------------------------------------------------------------------

def uses_launchd() -> bool:
    return sys.platform == "darwin"


def install(config: Config) -> str:
    """Install (or replace) this config's entry; a sentence saying what was done."""
    when = When.from_config(config)
    log_path(config).parent.mkdir(parents=True, exist_ok=True)
    if uses_launchd():
        where = launchd_install(config, when)
        return f"Installed the launchd agent {where}: talks --batch runs {when.describe()}."
    cron_install(config, when)
    return f"Installed a crontab entry: talks --batch runs {when.describe()}."


def remove(config: Config) -> str:
    gone = launchd_remove(config) if uses_launchd() else cron_remove(config)
    return ("Removed the schedule of this config." if gone
            else "No schedule was installed for this config.")


def installed_when(config: Config) -> When | None:
    if uses_launchd():
        path = plist_path(config)
        return when_of_plist(path) if path.exists() else None
    line = installed_cron_line(config)
    return when_of_cron_line(line) if line else None


def last_run(config: Config) -> str:
    """How the last run into this output root ended, from the ledger (read only)."""
    from pipeline.ledger import Ledger

    if not config.output.ledger_path.exists():
        return "No run has filed into this output root yet."
    with Ledger(config.output.ledger_path) as ledger:
        run = ledger.last_run()
    if run is None:
        return "No run has filed into this output root yet."
    started = datetime.fromtimestamp(run.started_at).strftime("%Y-%m-%d %H:%M")
    if run.finished_at is None:
        return (f"The last run started {started} and did not finish (still running, or "
                "stopped): the next run resumes where it stopped.")
    summary = run.summary
    took = run.finished_at - run.started_at
    counts = ", ".join(f"{summary.get(k, 0)} {k}" for k in ("filed", "failed", "skipped"))
    verdict = "with failures (see the log)" if summary.get("failed") else "well"
    return f"The last run started {started}, took {took:.0f} s and ended {verdict}: {counts}."


def status(config: Config, now: datetime | None = None) -> list[str]:
    lines = []
    when = installed_when(config)
    wanted = When.from_config(config)
    if when is None:
        lines.append(f"Not scheduled. `talks schedule install` runs it {wanted.describe()} "
                     "([schedule] in the config).")
    else:
        upcoming = when.next_after(now or datetime.now())
        lines.append(f"Scheduled {when.describe()}; next run {upcoming:%Y-%m-%d %H:%M} "
                     f"(output in {log_path(config)}).")
        if when != wanted:
            lines.append(f"[schedule] now says {wanted.describe()}: run `talks schedule "
                         "install` again to use it.")
    lines.append(last_run(config))
    return lines
