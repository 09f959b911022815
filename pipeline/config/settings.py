"""The settings of talks: a TOML file loaded into typed dataclasses.

Every section is a frozen dataclass; each field carries in its metadata what values are
allowed, so one generic validator can name the key, the bad value and what it expected, and
report every problem at once instead of stopping at the first.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from common.errors import ExitCode, TalksError
from pipeline.config.languages import AUTO, CODES_HINT, is_language, meant

DEFAULT_CONFIG_NAME = "config.toml"
CONFIG_ENV = "TALKS_CONFIG"
MISC_SPEAKER = "Miscellaneous Speakers"
LOG_NAME = "talks.log"  # in the output root, unless [logging] file says otherwise


def _opt(default: Any, help: str, **rules: Any) -> Any:
    """A config field with a help text and validation rules (choices, min, max); `secret`
    keeps its value out of the dataclass's repr (see pipeline/config/secrets.py)."""
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default),
                     metadata={"help": help, **rules})
    return field(default=default, repr=not rules.get("secret"),
                 metadata={"help": help, **rules})


@dataclass(frozen=True)
class InputConfig:
    folders: list[Path] = _opt(["demo/inbox"], "folders scanned for recordings")
    extensions: list[str] = _opt(
        [".mp3", ".wav", ".mp4", ".m4a", ".flac", ".ogg", ".opus"],
        "file endings treated as recordings"
    )
    recursive: bool = _opt(True, "also scan sub-folders")
    min_duration_s: float = _opt(5.0, "shorter recordings are skipped", min=0)
    max_duration_s: float = _opt(4 * 3600.0, "longer recordings are skipped", min=1)
    settle_seconds: float = _opt(10.0, "a recording is taken only once it has not changed for "
                                       "this long (one still being copied in waits)", min=0)
    languages: dict[str, str] = _opt({}, "the language spoken in a folder's recordings, by the "
                                         "folder's name or path: spanish-mass = es (a Whisper "
                                         "code; the folder nearest a recording wins; others "
                                         "follow [transcription] language)")


@dataclass(frozen=True)
class OutputConfig:
    root: Path = _opt(Path("output"), "where talks/, transcripts/, raw/ and the ledger live")
    originals: str = _opt("keep", "what happens to an original once its copy is verified",
                          choices=["keep", "move"])
    raw_backup: bool = _opt(True, "keep an untouched copy of each original under raw/")
    cleanup_days: int = _opt(0, "delete raw backups older than this many days (0 = never)",
                             min=0)
    filed_audio: str = _opt("original", "what is filed: the recording as it is, or a compact "
                                        "copy (long silences cut, mono mp3 at 64 kbit/s; the "
                                        "original always kept under raw/)",
                            choices=["original", "compact"])
    compact_pause_s: float = _opt(1.0, "compact: a silence longer than this is shortened to "
                                       "this", min=0.2, max=10)
    # Left out of the file: clips/ in the output root (from_dict puts it there).
    clips: Path = _opt(Path("output/clips"), "where the app writes a clip of a search hit "
                                             "(left out: clips/ in the output root)")

    @property
    def talks_dir(self) -> Path:
        return self.root / "talks"

    @property
    def transcripts_dir(self) -> Path:
        return self.root / "transcripts"

    @property
    def raw_dir(self) -> Path:
        return self.root / "raw"

    @property
    def ledger_path(self) -> Path:
        return self.root / ".talks" / "ledger.sqlite"


@dataclass(frozen=True)
class SpeakersConfig:
    folder: Path = _opt(Path("speaker-library"),
                        "enrolled speaker clips (NAME.mp3, NAME_1.mp3, NAME/…)")
    identify: bool = _opt(True, "recognise speakers by voice (off: every talk is filed under "
                                "default_speaker)")
    default_speaker: str = _opt(MISC_SPEAKER, "folder for talks with no recognised speaker")
    backend: str = _opt("campplus", "speaker embedding model",
                        choices=["campplus", "resemblyzer", "pyannote"])
    campplus_weights: str = _opt("", "campplus: the weights file, when not where `make` puts "
                                     "it")
    pyannote_checkpoint: str = _opt("", "pyannote: a local checkpoint file or folder, or a "
                                        "Hugging Face model name (with pyannote_token)")
    pyannote_token: str = _opt("", "pyannote: Hugging Face token for a hub model name (better: "
                                   "leave empty and set TALKS_PYANNOTE_TOKEN)", secret=True)
    sample_count: int = _opt(5, "voice samples taken from each talk", min=1, max=50)
    sample_seconds: float = _opt(20.0, "length of each voice sample", min=2, max=120)
    sample_offset_s: float = _opt(60.0, "skip this much at the start (introductions)", min=0)
    skip_end_s: float = _opt(60.0, "skip this much at the end (closing words)", min=0)
    scoring: str = _opt("centroid", "compare with the mean of a person's clips, or their "
                                    "closest clip", choices=["centroid", "best_clip"])
    # 0 = the value the speaker benchmark calibrated for the backend (speakers/calibration.py)
    threshold: float = _opt(0.0, "a match needs at least this cosine score (0: calibrated "
                                 "for the backend)", min=0, max=1)
    unknown_below: float = _opt(0.0, "below this nobody is close: filed as unknown, not "
                                     "listed for review (0: calibrated for the backend)",
                                min=0, max=1)
    margin: float = _opt(0.0, "a match must beat the runner-up by this much (0: calibrated "
                              "for the backend)", min=0, max=1)
    min_agreement: float = _opt(0.6, "share of samples whose best person must agree",
                                min=0, max=1)


@dataclass(frozen=True)
class TranscriptionConfig:
    engine: str = _opt("auto", "speech engine", choices=["auto", "faster-whisper", "mlx"])
    model: str = _opt("tiny.en", "Whisper model: tiny.en (English only, fastest), base (any "
                                 "language), 'auto' (English talks by tiny.en, the rest by "
                                 "base), or a folder with CT2 weights")
    language: str = _opt("en", "the talks' language code (en, fr, de, …), or 'auto' to hear "
                               "each talk's; with an English-only model each talk is heard "
                               "anyway, so one in another language is caught")
    check_language: bool = _opt(True, "with a language code and an English-only model, still "
                                      "hear each talk's language first (base, ~1-2 s a talk) "
                                      "so one in another language is not filed as nonsense; "
                                      "false: every talk is in that language")
    chunk_seconds: float = _opt(300.0, "audio handed to the engine at once", min=10, max=1800)
    chunks_per_worker: int = _opt(4, "chunks one worker process transcribes before a fresh one "
                                  "takes over (0 = one process for the whole file)",
                                  min=0, max=1000)
    compute_type: str = _opt("int8", "faster-whisper precision",
                             choices=["int8", "int8_float32", "float32", "float16", "default"])
    threads: int = _opt(2, "CPU cores the engine uses", min=1, max=64)
    speed: str = _opt("fastest", "fastest: windows cut at pauses, four decoded at once, "
                                 "within ~300 MB (tiny.en); lean: Whisper's own loop, one "
                                 "window at a time, the least memory (~1.5-2x the time)",
                      choices=["fastest", "lean"])
    streams: int = _opt(0, "expert: streams of a chunk's speech heard at once in Whisper's "
                        "own loop, each on threads/streams cores (0: as speed picks)",
                        min=0, max=16)
    beam_size: int = _opt(1, "1 = greedy decoding (fast); 5 = beam search", min=1, max=10)
    best_of: int = _opt(1, "candidates sampled when a window is decoded again at a higher "
                        "temperature (each costs memory)", min=1, max=10)
    batch_size: int = _opt(0, "expert: streams of a chunk's speech decoded side by side in "
                           "one batch in Whisper's own loop (0: as speed picks)", min=0,
                           max=16)
    allow_download: bool = _opt(False, "fetch a model from the Hugging Face hub when not local")
    model_cache: Path = _opt(Path("~/.cache/talks/models"), "where joined/converted weights go")


@dataclass(frozen=True)
class AudioConfig:
    remove_silence: bool = _opt(False, "squeeze long silences out before transcription")
    silence_threshold_db: float = _opt(-40.0, "quieter than this counts as silence",
                                       min=-90, max=0)
    min_silence_s: float = _opt(2.0, "only silences at least this long are squeezed", min=0.2)


@dataclass(frozen=True)
class TagsConfig:
    write: bool = _opt(True, "write title, speaker, date, album and an excerpt into the filed "
                             "copy's tags (never into the original)")
    album: str = _opt("Talks {year}", "album tag; {year} and {speaker} are filled in")
    excerpt_words: int = _opt(60, "words of the transcript written as description/lyrics "
                                  "(0 = none)", min=0, max=2000)


@dataclass(frozen=True)
class TitlesConfig:
    method: str = _opt("keywords", "how titles are made: offline from the transcript's words, "
                                   "or asked of an OpenAI-compatible chat endpoint",
                       choices=["keywords", "llm"])
    max_title_words: int = _opt(6, "longest title, in words", min=1, max=20)
    base_url: str = _opt("http://localhost:11434/v1", "llm: the endpoint (Ollama, llama.cpp's "
                                                      "server, https://api.openai.com/v1, …)")
    model: str = _opt("", "llm: the model name the endpoint knows")
    api_key_env: str = _opt("", "llm: the environment variable holding the API key (the key "
                                "itself never goes in this file); empty for none")
    timeout_s: float = _opt(30.0, "llm: seconds to wait for one answer", min=1, max=600)
    retries: int = _opt(1, "llm: attempts after the first failed one", min=0, max=5)
    summary: bool = _opt(False, "llm: also ask for a one-paragraph summary (in the .json and "
                                ".txt transcripts)")
    prompt_words: int = _opt(1500, "llm: words of the transcript sent", min=50, max=20000)


@dataclass(frozen=True)
class ScheduleConfig:
    time: str = _opt("02:00", "when `talks schedule install` runs the batch (HH:MM, 24 h)")
    weekdays: list[str] = _opt([], "days it runs: mon, tue, … sun; empty = every day")


@dataclass(frozen=True)
class WatchConfig:
    polling: bool = _opt(False, "talks --watch looks at the folders every few seconds instead "
                                "of being told by the system (for network shares that send "
                                "no events); a recording is taken once it has settled "
                                "(input.settle_seconds)")


@dataclass(frozen=True)
class LoggingConfig:
    # Left out of the file: talks.log in the output root (from_dict puts it there), so the
    # log is where the library is, wherever the config lives.
    file: Path = _opt(Path("output/talks.log"), "rotating log file (left out: talks.log in "
                                                "the output root)")
    level: str = _opt("INFO", "log level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    memory: bool = _opt(True, "log memory checkpoints (RSS of the process tree)")
    max_bytes: int = _opt(5_000_000, "rotate the log past this size", min=10_000)
    backups: int = _opt(3, "rotated log files kept", min=0)


@dataclass(frozen=True)
class ClusterConfig:
    address: str = _opt("", "run the heavy stages (transcription, voice embedding) on a Ray "
                            "cluster: \"\" = on this machine, \"auto\" = the cluster this "
                            "machine belongs to (`ray start`), \"ray://HOST:10001\" or "
                            "\"HOST:6379\" = that cluster")
    shared_paths: dict[str, str] = _opt({}, "folders the nodes see under another path, this "
                                            "machine's = the nodes': \"/Volumes/Talks\" = "
                                            "\"/mnt/talks\" (audio outside them is sent to "
                                            "the node through Ray's object store)")
    files_at_once: int = _opt(0, "talks in flight at once (0: as many as the cluster's CPUs "
                                 "hold, one more to keep them busy)", min=0, max=512)
    transcribe_memory_mb: int = _opt(0, "memory a transcription task declares, so a node "
                                        "takes no more than fit (0: by the model)",
                                     min=0, max=262144)
    speaker_memory_mb: int = _opt(600, "memory a voice-embedding task declares",
                                  min=100, max=262144)
    max_retries: int = _opt(3, "times Ray runs a task again when its node or worker dies "
                               "(chunks already saved are not done again)", min=0, max=20)


@dataclass(frozen=True)
class Config:
    input: InputConfig = field(default_factory=InputConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    speakers: SpeakersConfig = field(default_factory=SpeakersConfig)
    transcription: TranscriptionConfig = field(default_factory=TranscriptionConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
    tags: TagsConfig = field(default_factory=TagsConfig)
    titles: TitlesConfig = field(default_factory=TitlesConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    watch: WatchConfig = field(default_factory=WatchConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    source: Path | None = None  # the file it was read from; relative paths start there


def decision_values(speakers: SpeakersConfig):
    """threshold, unknown_below and margin in force: each 0 is the backend's calibrated value."""
    from speakers.calibration import resolved

    return resolved(speakers.backend, speakers.threshold, speakers.unknown_below,
                    speakers.margin)


SECTIONS: dict[str, type] = {
    name: tp for name, tp in get_type_hints(Config).items() if name != "source"
}


@dataclass(frozen=True)
class ConfigProblem:
    key: str
    value: Any
    message: str

    def __str__(self) -> str:
        return f"{self.key} = {self.value!r}: {self.message}"


class ConfigError(TalksError):
    exit_code = ExitCode.USAGE

    def __init__(self, path: Path | None, problems: list[ConfigProblem]):
        self.path = path
        self.problems = problems
        where = f" in {path}" if path else ""
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s){where}:\n{lines}")


class ConfigMissing(ConfigError):
    """No config file where talks looked: one sentence saying where, why there, and what
    makes one (not a list of problems in a file that is not there)."""

    def __init__(self, path: Path, sentence: str):
        self.path = path
        self.problems = [ConfigProblem("(file)", str(path), "no such file")]
        TalksError.__init__(self, sentence)


def _describe(tp: Any) -> str:
    return {bool: "true or false", int: "a whole number", float: "a number", str: "a string",
            Path: "a path (string)", list[Path]: "a list of paths",
            list[str]: "a list of strings",
            dict[str, str]: "a table of names and strings, like {\"spanish-mass\" = \"es\"}",
            }.get(tp, str(tp))


def _convert(value: Any, tp: Any, base: Path) -> Any:
    """Turn a TOML value into the field's type, or raise ValueError with what was wanted."""
    if tp is bool:
        if not isinstance(value, bool):
            raise ValueError
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ValueError
        return value
    if tp is Path:
        if not isinstance(value, str) or not value.strip():
            raise ValueError
        return resolve_path(value, base)
    if tp in (list[Path], list[str]):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError
        inner = Path if tp == list[Path] else str
        return [_convert(v, inner, base) for v in value]
    if tp == dict[str, str]:
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in value.items()):
            raise ValueError
        return dict(value)
    raise TypeError(f"unsupported config type {tp}")


def resolve_path(value: str, base: Path) -> Path:
    p = Path(os.path.expanduser(value))
    return p if p.is_absolute() else (base / p)


def _check_rules(key: str, value: Any, meta: dict) -> list[ConfigProblem]:
    problems = []
    if "choices" in meta and value not in meta["choices"]:
        allowed = ", ".join(repr(c) for c in meta["choices"])
        problems.append(ConfigProblem(key, value, f"must be one of {allowed}"))
    if "min" in meta and value < meta["min"]:
        problems.append(ConfigProblem(key, value, f"must be at least {meta['min']}"))
    if "max" in meta and value > meta["max"]:
        problems.append(ConfigProblem(key, value, f"must be at most {meta['max']}"))
    return problems


def _extension_problems(exts: list[str]) -> list[ConfigProblem]:
    return [ConfigProblem("input.extensions", e, "each must start with a dot, like \".mp3\"")
            for e in exts if not e.startswith(".") or len(e) < 2]


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CLUSTER_ADDRESS = re.compile(r"^(ray://)?[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")


def _language_problems(config: Config) -> list[ConfigProblem]:
    """Every language named must be one Whisper knows: a typo would otherwise reach the
    engine in the middle of a run, or tell it to transcribe in the wrong language."""
    def wrong(code: str, allowed: str) -> str:
        guess = meant(code)
        return f"must be {allowed}{CODES_HINT}" + (f"; {guess}?" if guess else "")

    problems = []
    language = config.transcription.language
    if language != AUTO and not is_language(language):
        problems.append(ConfigProblem("transcription.language", language,
                                      wrong(language, '"auto" or ')))
    for folder, code in config.input.languages.items():
        if not folder.strip():
            problems.append(ConfigProblem("input.languages", {folder: code},
                                          "each folder must have a name or a path"))
        elif not is_language(code):
            problems.append(ConfigProblem("input.languages", {folder: code},
                                          f"the language of {folder!r} " + wrong(code, "")))
    return problems


def _feature_problems(config: Config) -> list[ConfigProblem]:
    """Rules that tie a key to its neighbours or to a format."""
    problems = _language_problems(config)
    if not _CLOCK.match(config.schedule.time):
        problems.append(ConfigProblem("schedule.time", config.schedule.time,
                                      "must be a time of day as HH:MM, like \"02:30\""))
    for day in config.schedule.weekdays:
        if day.lower() not in WEEKDAYS:
            problems.append(ConfigProblem("schedule.weekdays", day,
                                          "each must be one of " + ", ".join(WEEKDAYS)))
    titles = config.titles
    if titles.api_key_env and not _ENV_NAME.match(titles.api_key_env):
        # A key pasted here would sit in a file that gets copied and committed: refuse it.
        problems.append(ConfigProblem("titles.api_key_env", "(not shown)",
                                      "must be the NAME of an environment variable (like "
                                      "OPENAI_API_KEY), not the key itself; put the key in "
                                      "that variable"))
    if titles.method == "llm":
        if not titles.model.strip():
            problems.append(ConfigProblem("titles.model", titles.model,
                                          "must name the model when method = \"llm\""))
        if not re.match(r"^https?://\S+$", titles.base_url):
            problems.append(ConfigProblem("titles.base_url", titles.base_url,
                                          "must be an http:// or https:// address"))
    address = config.cluster.address
    if address and address != "auto" and not _CLUSTER_ADDRESS.match(address):
        problems.append(ConfigProblem("cluster.address", address,
                                      "must be \"\" (this machine), \"auto\", "
                                      "\"ray://HOST:PORT\" or \"HOST:PORT\""))
    for here, there in config.cluster.shared_paths.items():
        if not (here.startswith(("/", "~")) and there.startswith(("/", "~"))):
            problems.append(ConfigProblem("cluster.shared_paths", {here: there},
                                          "each side must be an absolute folder path"))
    try:
        config.tags.album.format(year=2000, speaker="x")
    except (KeyError, IndexError, ValueError):
        problems.append(ConfigProblem("tags.album", config.tags.album,
                                      "may use only {year} and {speaker} as placeholders"))
    return problems


def from_dict(data: dict, base: Path, source: Path | None = None) -> Config:
    """Build a Config from parsed TOML; raise ConfigError listing every problem."""
    problems: list[ConfigProblem] = []
    sections: dict[str, Any] = {}
    for name in data:
        if name not in SECTIONS:
            problems.append(ConfigProblem(f"[{name}]", "…", "unknown section; known sections: "
                                          + ", ".join(SECTIONS)))
    for name, cls in SECTIONS.items():
        raw = data.get(name, {})
        if not isinstance(raw, dict):
            problems.append(ConfigProblem(f"[{name}]", raw, "must be a table"))
            raw = {}
        hints = get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in raw.items():
            dotted = f"{name}.{key}"
            if key not in fields:
                problems.append(ConfigProblem(dotted, value, "unknown key; known keys: "
                                              + ", ".join(fields)))
                continue
            try:
                converted = _convert(value, hints[key], base)
            except ValueError:
                problems.append(ConfigProblem(dotted, value,
                                              f"must be {_describe(hints[key])}"))
                continue
            rule_problems = _check_rules(dotted, converted, dict(fields[key].metadata))
            problems.extend(rule_problems)
            if not rule_problems:
                values[key] = converted
        # Relative defaults resolve against the config file's folder, like written values.
        for key, f in fields.items():
            if key not in values and hints[key] in (Path, list[Path]):
                default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
                values[key] = _convert(
                    [str(p) for p in default] if isinstance(default, list) else str(default),
                    hints[key], base)
        sections[name] = cls(**values)
    config = Config(**sections, source=source)
    if not (isinstance(data.get("output"), dict) and "clips" in data["output"]):
        config = dataclasses.replace(config, output=dataclasses.replace(
            config.output, clips=config.output.root / "clips"))
    if not (isinstance(data.get("logging"), dict) and "file" in data["logging"]):
        config = dataclasses.replace(config, logging=dataclasses.replace(
            config.logging, file=config.output.root / LOG_NAME))
    problems.extend(_extension_problems(config.input.extensions))
    problems.extend(_feature_problems(config))
    rules = decision_values(config.speakers)
    if rules.unknown_below > rules.threshold:
        problems.append(ConfigProblem("speakers.unknown_below", rules.unknown_below,
                                      "must not be above speakers.threshold "
                                      f"({rules.threshold})"))
    if config.input.min_duration_s >= config.input.max_duration_s:
        problems.append(ConfigProblem("input.min_duration_s", config.input.min_duration_s,
                                      "must be less than input.max_duration_s "
                                      f"({config.input.max_duration_s})"))
    if problems:
        raise ConfigError(source, problems)
    return config


def find_config_path(explicit: str | Path | None = None) -> Path:
    """--config wins, then $TALKS_CONFIG, then ./config.toml."""
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return Path.cwd() / DEFAULT_CONFIG_NAME


def missing_config(path: Path, explicit: str | Path | None) -> ConfigMissing:
    """Where talks looked for a config that is not there, why there, and what makes one."""
    if explicit:
        where, fix = ("given with --config", "check the path, or make one there with "
                      f"`talks --config {shlex.quote(str(path))} setup`")
    elif os.environ.get(CONFIG_ENV):
        where, fix = (f"named by ${CONFIG_ENV}", f"fix ${CONFIG_ENV}, or make one there "
                      "with `talks setup`")
    else:
        where = (f"talks looks for ./{DEFAULT_CONFIG_NAME} in the current folder when neither "
                 f"--config nor ${CONFIG_ENV} names one")
        fix = "make one with `talks setup`, or give yours with --config PATH"
    return ConfigMissing(path, f"There is no config at {path} ({where}): {fix}.")


def load_config(path: str | Path | None = None) -> Config:
    explicit, path = path, find_config_path(path)
    if not path.exists():
        raise missing_config(path, explicit)
    if not path.is_file():
        raise ConfigError(path, [ConfigProblem("--config", str(path),
                                               "is not a file; pass --config PATH or set "
                                               f"{CONFIG_ENV} to your config.toml")])
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(path, [ConfigProblem("(file)", str(path),
                                               f"cannot be read ({exc.strerror}): check its "
                                               "permissions")]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [ConfigProblem("(file)", str(path),
                                               f"is not valid TOML: {exc}")]) from None
    return from_dict(data, path.resolve().parent, source=path.resolve())


def to_dict(config: Config) -> dict:
    """The config as plain TOML values (paths written relative to the config's folder)."""
    base = config.source.parent if config.source else Path.cwd()

    def plain(value: Any) -> Any:
        if isinstance(value, Path):
            try:
                return str(value.relative_to(base))
            except ValueError:
                return str(value)
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return dict(value)  # a copy: an edit of the plain values leaves the config as it is
        return value

    return {name: {f.name: plain(getattr(getattr(config, name), f.name))
                   for f in dataclasses.fields(getattr(config, name))}
            for name in SECTIONS}

