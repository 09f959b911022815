"""config.toml as a person reads it: written with a comment on every key, edited without
losing the comments the person wrote (tomlkit keeps them, and the layout, around what it
changes).

Every write is checked by reading the text back through the same validation the program
uses at start-up; only text that gives exactly the intended config is written, atomically.
"""

from __future__ import annotations

import dataclasses
import os
import textwrap
import tomllib
from pathlib import Path

import tomlkit

from pipeline.config.settings import (
    SECTIONS,
    Config,
    ConfigError,
    ConfigProblem,
    from_dict,
    to_dict,
)

HEADER = """talks — configuration. Relative paths start at this file's folder.
Check it with:  talks config validate   (every problem is listed, with what is allowed)
Use another file with --config PATH or the TALKS_CONFIG environment variable."""


def help_text(field: dataclasses.Field) -> str:
    meta = field.metadata
    text = meta.get("help", "")
    if "choices" in meta:
        text += " — one of: " + ", ".join(str(c) for c in meta["choices"])
    return text


def _item(value: object) -> object:
    """A value as it is written: a table (`[input] languages`) inline on its key's line, where
    its comment and its neighbours are, not as a [section.key] of its own below them."""
    if isinstance(value, dict):
        table = tomlkit.inline_table()
        table.update(value)
        return table
    return value


def commented_document(config: Config) -> tomlkit.TOMLDocument:
    """The whole config with each key's help above it."""
    values = to_dict(config)
    doc = tomlkit.document()
    for line in HEADER.splitlines():
        doc.add(tomlkit.comment(line))
    for section, cls in SECTIONS.items():
        table = tomlkit.table()
        for field in dataclasses.fields(cls):
            for line in textwrap.wrap(help_text(field), 92):
                table.add(tomlkit.comment(line))
            table.add(field.name, _item(values[section][field.name]))
        doc.add(tomlkit.nl())
        doc.add(section, table)
    return doc


def _checked(text: str, path: Path, wanted: dict) -> None:
    try:
        config = from_dict(tomllib.loads(text), path.resolve().parent, source=path.resolve())
    except (tomllib.TOMLDecodeError, ConfigError) as exc:
        problem = ConfigProblem("(file)", str(path), f"the text to write would not load: {exc}")
        raise ConfigError(path, [problem]) from None
    if to_dict(config) != wanted:
        raise ConfigError(path, [ConfigProblem("(file)", str(path),
                                               "the text to write reads back differently")])


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _pin_followers(doc: tomlkit.TOMLDocument, path: Path, wanted: dict) -> None:
    """A key left out of the file can follow another one (the log goes with the output
    root): when the keys written would move it from the value wanted, it is written too."""
    try:
        loaded = to_dict(from_dict(tomllib.loads(tomlkit.dumps(doc)), path.resolve().parent,
                                   source=path.resolve()))
    except (tomllib.TOMLDecodeError, ConfigError):
        return  # _checked says what is wrong
    for section, values in wanted.items():
        for key, value in values.items():
            if loaded.get(section, {}).get(key) != value:
                if section not in doc:
                    doc.add(section, tomlkit.table())
                doc[section][key] = _item(value)  # type: ignore[index]


def write_new(config: Config, path: Path) -> None:
    """A fresh, fully commented config file at `path`."""
    text = tomlkit.dumps(commented_document(config))
    _checked(text, path, to_dict(config))
    _write(path, text)


def write_changes(path: Path, old: Config, new: Config) -> None:
    """Put the keys whose value differs between `old` and `new` into the file at `path`,
    keeping everything else in it (comments, order, spacing, keys left at their default)."""
    before, after = to_dict(old), to_dict(new)
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    doc = tomlkit.parse(text)
    for section, values in after.items():
        changed = {k: v for k, v in values.items() if before[section].get(k) != v}
        if not changed:
            continue
        if section not in doc:
            doc.add(tomlkit.nl())
            doc.add(section, tomlkit.table())
        table = doc[section]
        for key, value in changed.items():
            table[key] = _item(value)
    _pin_followers(doc, path, after)
    result = tomlkit.dumps(doc)
    if result == text:
        return
    _checked(result, path, after)
    _write(path, result)
