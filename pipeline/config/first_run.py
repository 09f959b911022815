"""What a first-run setup needs to know and do, for both of its faces (`talks setup` and the
app's setup screen): recordings found in a folder, the engines and models this machine can
run, and turning the answers into a validated, commented config file."""

from __future__ import annotations

import importlib.util
import platform
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pipeline.config.settings import Config, ConfigError, from_dict, load_config, to_dict
from pipeline.config.toml_file import write_changes, write_new


def count_recordings(folder: Path, extensions: list[str], recursive: bool = True) -> Counter:
    """Recordings in a folder by extension (hidden files skipped), as discovery sees them."""
    wanted = {e.lower() for e in extensions}
    found: Counter = Counter()
    pattern = folder.rglob("*") if recursive else folder.glob("*")
    for path in pattern:
        if path.suffix.lower() in wanted and not path.name.startswith(".") and path.is_file():
            found[path.suffix.lower()] += 1
    return found


def describe_folder(folder: Path, extensions: list[str]) -> tuple[bool, str]:
    """(usable, one line about it) for an input folder."""
    if not folder.is_dir():
        return False, f"{folder} does not exist"
    counts = count_recordings(folder, extensions)
    if not counts:
        return True, f"{folder}: no recordings yet ({', '.join(extensions)})"
    detail = ", ".join(f"{n} {ext}" for ext, n in counts.most_common())
    return True, f"{folder}: {sum(counts.values())} recording(s) ({detail})"


def engine_choices() -> list[str]:
    """Engines this machine can run, the best first."""
    apple = sys.platform == "darwin" and platform.machine() == "arm64"
    engines = ["faster-whisper"]
    if importlib.util.find_spec("mlx_whisper") is not None:
        engines = ["mlx", "faster-whisper"] if apple else ["faster-whisper", "mlx"]
    return engines


def model_choices() -> list[tuple[str, str]]:
    """(model, what it costs) for the models installed with talks."""
    return [("tiny.en", "English only, fastest: ~300 MB while transcribing"),
            ("base", "any language, better: ~350 MB, about twice as slow"),
            ("auto", "by each talk's language: tiny.en for English, base for the others")]


@dataclass
class Answers:
    folders: list[str]
    output: str
    speakers: str
    engine: str = "auto"
    model: str = "tiny.en"
    schedule: bool = False
    time: str = "02:00"


def answers_from(config: Config) -> Answers:
    """The answers an existing config gives (the defaults of a second setup)."""
    values = to_dict(config)
    return Answers(folders=values["input"]["folders"], output=values["output"]["root"],
                   speakers=values["speakers"]["folder"],
                   engine=values["transcription"]["engine"],
                   model=values["transcription"]["model"], time=values["schedule"]["time"])


def build(answers: Answers, path: Path, base: Config | None = None) -> Config:
    """The config the answers make (on top of `base`), validated; raises ConfigError."""
    data = to_dict(base) if base is not None else {}
    data.setdefault("input", {})["folders"] = answers.folders
    data.setdefault("output", {})["root"] = answers.output
    data.setdefault("speakers", {})["folder"] = answers.speakers
    data.setdefault("transcription", {}).update(engine=answers.engine, model=answers.model)
    data.setdefault("schedule", {})["time"] = answers.time
    data.setdefault("logging", {})["file"] = str(Path(answers.output) / "talks.log")
    return from_dict(data, path.resolve().parent, source=path.resolve())


def save(config: Config, path: Path) -> Config:
    """Write it (a new commented file, or only the changes into an existing one), then load
    it back as `talks config validate` does."""
    if path.is_file():
        write_changes(path, load_config(path), config)
    else:
        write_new(config, path)
    config = load_config(path)
    for folder in (config.output.root, config.speakers.folder):
        folder.mkdir(parents=True, exist_ok=True)
    return config


def existing(path: Path) -> Config | None:
    try:
        return load_config(path) if path.is_file() else None
    except ConfigError:
        return None
