"""config.toml written with a comment on every key, and edited keeping the user's comments."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest

from pipeline.config.settings import SECTIONS, ConfigError, from_dict, load_config, to_dict
from pipeline.config.toml_file import write_changes, write_new

HAND_WRITTEN = """\
# My own notes at the top: keep me.
[input]
folders = [
    "lectures",   # the old tape transfers
    "sermons",    # Sunday recordings
]
recursive = true  # sub-folders too

[output]
# where it all goes
root = "filed"
"""


def test_a_new_config_has_every_key_with_its_help_and_loads_back(tmp_path):
    path = tmp_path / "config.toml"
    config = from_dict({}, tmp_path, source=path)
    write_new(config, path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# talks — configuration.")
    data = tomllib.loads(text)
    for section, cls in SECTIONS.items():
        for field in dataclasses.fields(cls):
            assert field.name in data[section], f"{section}.{field.name}"
    assert "# speech engine — one of: auto, faster-whisper, mlx" in text
    assert to_dict(load_config(path)) == to_dict(config)


def test_changes_keep_comments_layout_and_untouched_keys(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    old = load_config(path)
    changed = from_dict({"input": {"folders": ["lectures", "sermons"], "recursive": False},
                         "output": {"root": "filed", "filed_audio": "compact"},
                         "titles": {"method": "llm", "model": "llama3.2"}},
                        tmp_path, source=path)
    write_changes(path, old, changed)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# My own notes at the top: keep me.\n")
    assert '"lectures",   # the old tape transfers' in text
    assert "recursive = false  # sub-folders too" in text
    assert "# where it all goes\nroot = \"filed\"" in text
    assert 'filed_audio = "compact"' in text
    assert "[titles]" in text and 'model = "llama3.2"' in text
    assert "extensions" not in text  # keys at their default are not written out
    again = load_config(path)
    assert again.titles.method == "llm" and again.output.filed_audio == "compact"
    assert to_dict(again) == to_dict(changed)


def test_a_log_left_to_follow_the_output_root_stays_where_the_edit_showed_it(tmp_path):
    # The settings screen edits every key as to_dict gives it: a new root with the log that
    # was shown (talks.log in the old root) is written as that, and reads back the same.
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    old = load_config(path)
    assert old.logging.file == tmp_path / "filed" / "talks.log"
    data = to_dict(old)
    data["output"]["root"] = "elsewhere"
    edited = from_dict(data, tmp_path, source=path)
    write_changes(path, old, edited)
    again = load_config(path)
    assert again.output.root == tmp_path / "elsewhere"
    assert to_dict(again) == to_dict(edited)


def test_nothing_invalid_is_ever_written(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    old = load_config(path)
    bad = dataclasses.replace(old, titles=dataclasses.replace(old.titles, method="llm"))
    with pytest.raises(ConfigError):
        write_changes(path, old, bad)  # llm without a model does not validate
    assert path.read_text(encoding="utf-8") == HAND_WRITTEN
