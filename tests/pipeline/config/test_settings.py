from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config.settings import ConfigError, load_config
from pipeline.config.speed import SpeedPlan
from pipeline.config.toml_file import write_new
from tests.support.paths import ROOT  # noqa: E402


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_default_config_loads_with_paths_beside_it():
    config = load_config(ROOT / "config.toml")
    assert config.input.folders == [ROOT / "demo" / "inbox"]
    assert config.output.root == ROOT / "output"
    assert config.transcription.chunk_seconds == 300.0
    assert config.transcription.engine == "auto"
    assert ".mp4" in config.input.extensions and ".mp3" in config.input.extensions


def test_every_problem_is_reported_at_once_with_key_value_and_what_is_allowed(tmp_path):
    path = write(tmp_path, """
[input]
folders = "not a list"
extensions = ["mp3"]
min_duration_s = -1
[transcription]
engine = "whisperx"
chunk_seconds = "long"
[output]
originals = "shred"
colour = "blue"
[nonsense]
x = 1
""")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    problems = {p.key: p for p in info.value.problems}
    assert problems["input.folders"].value == "not a list"
    assert "list of paths" in problems["input.folders"].message
    assert "'faster-whisper'" in problems["transcription.engine"].message
    assert problems["transcription.engine"].value == "whisperx"
    assert "a number" in problems["transcription.chunk_seconds"].message
    assert "'keep', 'move'" in problems["output.originals"].message
    assert "unknown key" in problems["output.colour"].message
    assert "[nonsense]" in problems
    assert "at least 0" in problems["input.min_duration_s"].message
    assert problems["input.extensions"].value == "mp3"
    assert len(info.value.problems) == 8
    assert str(path) in text


def test_relative_paths_resolve_against_the_config_file_and_round_trip(tmp_path):
    path = write(tmp_path, '[input]\nfolders = ["in", "/abs/other"]\n[output]\nroot = "out"\n')
    config = load_config(path)
    assert config.input.folders == [tmp_path / "in", Path("/abs/other")]
    assert config.output.root == tmp_path / "out"
    # Settings written back (by the one TOML writer, tomlkit's) load into the same values.
    write_new(config, path)
    again = load_config(path)
    assert again == config


def test_bad_toml_and_missing_file_are_one_clear_sentence(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[input\n"))
    with pytest.raises(ConfigError, match="There is no config at .*nope.toml"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize(("how", "said"), [
    ("default", "(talks looks for ./config.toml in the current folder when neither --config "
                "nor $TALKS_CONFIG names one): make one with `talks setup`, or give yours "
                "with --config PATH"),
    ("env", "(named by $TALKS_CONFIG): fix $TALKS_CONFIG, or make one there with "
            "`talks setup`"),
    ("flag", "(given with --config): check the path, or make one there with "
             "`talks --config {path} setup`"),
])
def test_a_config_that_is_not_there_says_where_talks_looked_and_why(tmp_path, how, said):
    import os

    path = tmp_path / "config.toml"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TALKS_CONFIG", None)
    if how == "env":
        env["TALKS_CONFIG"] = str(path)
    flag = ["--config", str(path)] if how == "flag" else []
    res = subprocess.run([sys.executable, "-m", "tui.cli", *flag, "status"], cwd=tmp_path,
                         capture_output=True, text=True, env=env)
    assert res.returncode == 2
    assert res.stderr == f"talks: There is no config at {path} {said.format(path=path)}.\n"


def test_min_must_be_below_max(tmp_path):
    with pytest.raises(ConfigError, match="less than input.max_duration_s"):
        load_config(write(tmp_path, "[input]\nmin_duration_s = 100.0\nmax_duration_s = 50.0\n"))


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, env=env)


def test_config_validate_command_and_exit_codes(tmp_path):
    ok = run_cli("--config", str(ROOT / "config.toml"), "config", "validate")
    assert ok.returncode == 0 and "OK" in ok.stdout
    bad = write(tmp_path, '[transcription]\nengine = "nope"\nthreads = 0\n')
    res = run_cli("--config", str(bad), "config", "validate")
    assert res.returncode == 2
    assert "transcription.engine = 'nope'" in res.stderr
    assert "transcription.threads = 0: must be at least 1" in res.stderr
    usage = run_cli("--no-such-flag")
    assert usage.returncode == 2


def test_without_a_logging_file_the_log_is_talks_log_in_the_output_root(tmp_path):
    # The output root is elsewhere than the config's folder: the log goes with the library.
    (tmp_path / "inbox").mkdir()
    (tmp_path / "disk").mkdir()
    path = write(tmp_path, '[input]\nfolders = ["inbox"]\n[output]\nroot = "disk/library"\n'
                           '[speakers]\nidentify = false\n')
    res = run_cli("--config", str(path), "--batch")
    assert res.returncode == 0, res.stderr
    assert "batch start" in (tmp_path / "disk" / "library" / "talks.log").read_text("utf-8")
    assert not (tmp_path / "output").exists()  # never beside the config any more
    named = write(tmp_path, '[output]\nroot = "disk/library"\n[logging]\nfile = "logs/a.log"\n')
    assert load_config(named).logging.file == tmp_path / "logs" / "a.log"  # a given one wins


def test_talks_config_env_variable_picks_the_file(tmp_path):
    import os

    bad = write(tmp_path, '[titles]\nmax_title_words = 0\n')
    res = run_cli("config", "validate", env={**os.environ, "TALKS_CONFIG": str(bad)})
    assert res.returncode == 2 and "titles.max_title_words" in res.stderr


def test_streams_reach_the_engine_and_share_out_its_cores(tmp_path):
    # [transcription] streams: faster-whisper gets one CTranslate2 worker per stream, the
    # configured cores shared among them; the default is two streams on the default two cores.
    from pipeline.stages.transcribe import _engine_for

    def engine(extra: str = "", longest: float | None = None):
        config = load_config(write(tmp_path, '[transcription]\nengine = "faster-whisper"\n'
                                             'model = "tiny.en"\n' + extra))
        return _engine_for(config, "en", "tiny.en", longest)

    default = engine()  # windows at pauses, one worker on both cores
    assert default.parallel == 1 and default.settings.threads == 2
    assert default.settings.windows == "pauses" and default.settings.language == "en"
    two = engine("streams = 2\n")
    assert two.parallel == 2 and two.settings.windows == "cursor"
    # A stream needs a minute of speech: a worker whose chunks are shorter than two minutes
    # hears one stream on all the cores.
    short = engine("streams = 2\n", longest=100.0)
    assert short.parallel == 1 and short.settings.threads == 2
    assert engine("streams = 2\n", longest=300.0).parallel == 2
    more = engine("threads = 1\nstreams = 4\n")
    assert more.parallel == 1  # never more streams than cores


def test_one_speed_setting_picks_streams_and_batch_and_the_old_knobs_still_override(tmp_path):
    # [transcription] speed (issue 34): "fastest" (the default) is windows at pauses decoded
    # four at once, "lean" the cursor loop one window at a time; streams and batch_size stay
    # as the cursor loop's expert overrides, so a config written by an earlier version
    # (streams = 2, batch_size = 1 written out) loads and runs as it did.
    from pipeline.stages.transcribe import _engine_for

    def engine(extra: str = ""):
        config = load_config(write(tmp_path, '[transcription]\nengine = "faster-whisper"\n'
                                             'model = "tiny.en"\n' + extra))
        return _engine_for(config, "en", "tiny.en", 300.0)

    fastest, lean = engine(), engine('speed = "lean"\n')
    assert (fastest.parallel, fastest.settings.batch_size) == (1, 4)
    assert (fastest.settings.windows, lean.settings.windows) == ("pauses", "cursor")
    assert (lean.parallel, lean.settings.batch_size) == (1, 1)
    assert lean.settings.threads == fastest.settings.threads == 2  # the cores stay the user's
    old = engine("streams = 2\nbatch_size = 1\n")
    assert (old.parallel, old.settings.batch_size, old.settings.windows) == (2, 1, "cursor")
    expert = engine('speed = "lean"\nstreams = 2\nbatch_size = 3\n')
    assert (expert.parallel, expert.settings.batch_size) == (2, 3)
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, '[transcription]\nspeed = "turbo"\n'))
    assert "transcription.speed" in str(caught.value) and "lean" in str(caught.value)


def test_the_speed_plan_of_each_engine():
    from pipeline.config.speed import PAUSE_BATCH, speed_plan

    # fastest: windows at pauses, a batch of them through the decoder, one worker on all
    # the cores, on both engines; lean: Whisper's own loop from a cursor, one window at once.
    at_pauses = SpeedPlan(1, PAUSE_BATCH, "pauses")
    assert speed_plan("fastest", "faster-whisper", 2) == at_pauses
    assert speed_plan("fastest", "faster-whisper", 1) == at_pauses
    assert speed_plan("fastest", "mlx", 2) == at_pauses
    assert speed_plan("lean", "faster-whisper", 8) == SpeedPlan(1, 1, "cursor")
    assert speed_plan("lean", "mlx", 2) == SpeedPlan(1, 1, "cursor")
    # The expert overrides are the cursor loop's, with what an earlier version's speed
    # picked for the one not given: a config that wrote them out runs as it did.
    assert speed_plan("lean", "mlx", 2, streams=3, batch_size=4) == SpeedPlan(3, 4, "cursor")
    assert speed_plan("fastest", "faster-whisper", 2, streams=2) == SpeedPlan(2, 1, "cursor")
    assert speed_plan("fastest", "faster-whisper", 2, batch_size=1) == SpeedPlan(2, 1)
    assert speed_plan("fastest", "mlx", 2, streams=1) == SpeedPlan(1, 2, "cursor")
    with pytest.raises(ValueError, match="fastest, lean"):
        speed_plan("turbo", "mlx", 2)
