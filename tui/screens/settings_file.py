"""Saving settings without losing the config file's comments.

Only the keys whose value changed are rewritten, each on its own line, keeping the comment
after it; a key the file lacks is added to its section. The result is read back and must
give exactly the new config; if it does not (a layout this editor does not handle, such as
a value spread over lines), the file is written whole by `save_config` instead.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from pipeline.config import Config, from_dict, save_config, to_dict

TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_-]+)\s*\]\s*(#.*)?$")
KEY = re.compile(r"^(\s*)([A-Za-z0-9_-]+)(\s*=\s*)(.*)$")


def toml_value(value: Any) -> str:
    """One value in TOML, always on one line."""
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return tomli_w.dumps({"v": value}).split("=", 1)[1].strip()


def split_comment(rest: str) -> tuple[str, str] | None:
    """`value   # comment` → ("value   ", "# comment"); None when the value goes on past
    this line or is not something this editor understands."""
    if rest.startswith(('"""', "'''")):
        return None
    quote = None
    depth = 0
    i = 0
    while i < len(rest):
        ch = rest[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "#":
            break
        i += 1
    if quote or depth:
        return None
    return rest[:i], rest[i:]


def edit_lines(text: str, changes: dict[tuple[str, str], Any]) -> str | None:
    """The file's text with the changed values put in; None when it cannot be done here."""
    lines = text.splitlines()
    section = ""
    last_line_of: dict[str, int] = {}
    todo = dict(changes)
    for number, line in enumerate(lines):
        table = TABLE.match(line)
        if table:
            section = table.group(1)
            last_line_of[section] = number
            continue
        key = KEY.match(line)
        if not key:
            if line.strip() and section:
                last_line_of[section] = number
            continue
        if section:
            last_line_of[section] = number
        indent, name, equals, rest = key.groups()
        if (section, name) not in todo:
            continue
        parts = split_comment(rest)
        if parts is None:
            return None
        old, comment = parts
        new = toml_value(todo.pop((section, name)))
        if comment:
            new = new.ljust(len(old)) if len(new) < len(old) else new + "  "
        lines[number] = f"{indent}{name}{equals}{new}{comment}".rstrip()
    # Keys the file did not have: after the last line of their section, or in a new one.
    missing: dict[str, list[str]] = {}
    for (section, name), value in sorted(todo.items()):
        missing.setdefault(section, []).append(f"{name} = {toml_value(value)}")
    present = sorted(((last_line_of[s], s) for s in missing if s in last_line_of), reverse=True)
    for at, section in present:  # from the bottom up, so earlier line numbers stay true
        lines[at + 1:at + 1] = missing.pop(section)
    for section, entries in missing.items():
        lines += ["", f"[{section}]", *entries]
    return "\n".join(lines) + "\n"


def write_settings(path: Path, old: Config, new: Config) -> bool:
    """Write `new` to `path`; True when the file's comments and layout were kept."""
    before, after = to_dict(old), to_dict(new)
    changes = {(section, key): value for section, values in after.items()
               for key, value in values.items() if before[section].get(key) != value}
    if not changes:
        return True
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    edited = edit_lines(text, changes)
    if edited is not None and _gives(edited, path, after):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(edited, encoding="utf-8")
        tmp.replace(path)
        return True
    save_config(new, path)
    return False


def _gives(text: str, path: Path, wanted: dict) -> bool:
    try:
        config = from_dict(tomllib.loads(text), path.resolve().parent, source=path.resolve())
    except Exception:  # noqa: BLE001 - any doubt means: write the whole file instead
        return False
    return to_dict(config) == wanted
