"""`talks config validate`: the config loads (or every problem is listed before this runs),
and warnings for what loads but is unwise — a secret written into a config file that lives
in a git repository, where one commit publishes it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from common.errors import ExitCode
from pipeline.api.configuration import ENV_FOR, Config, secret_keys, what_a_run_lacks


def git_repository_of(path: Path) -> Path | None:
    """The work tree holding `path`, found by its .git (folder, or file for a worktree)."""
    for folder in (path.parent, *path.parent.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _ignored_by_git(path: Path, repo: Path) -> bool:
    try:
        done = subprocess.run(["git", "-C", str(repo), "check-ignore", "-q", str(path)],
                              capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def secret_warnings(config: Config) -> list[str]:
    source = config.source
    if source is None:
        return []
    repo = git_repository_of(source.resolve())
    if repo is None:
        return []
    warnings = []
    for key in secret_keys():
        section, name = key.split(".")
        if not str(getattr(getattr(config, section), name) or "").strip():
            continue
        env = ENV_FOR.get(key, ())
        instead = f"set the environment variable {env[0]}" if env else "keep it out of the file"
        ignored = " (git ignores the file, but a copy of the folder still carries it)" \
            if _ignored_by_git(source, repo) else ""
        warnings.append(f"{key} holds a secret in {source}, which is inside the git "
                        f"repository {repo}{ignored}: one commit publishes it. Leave the key "
                        f"empty and {instead} instead.")
    return warnings


def validate(config: Config) -> int:
    """The config loaded; now what a run of it needs, checked as the run checks it. A run
    would stop on any of these as a fault of the machine, so they exit as it would (3)."""
    lacking = what_a_run_lacks(config)
    for warning in secret_warnings(config):
        print(f"warning: {warning}", file=sys.stderr)
    if lacking:
        print(f"{config.source} loads, but a run would stop on {len(lacking)} problem(s):",
              file=sys.stderr)
        for sentence in lacking:
            print(f"  - {sentence}", file=sys.stderr)
        return ExitCode.MACHINE
    print(f"{config.source}: OK")
    return ExitCode.OK
