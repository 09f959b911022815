"""Secrets in the config (`[speakers] pyannote_token`, and any key or token to come).

A secret may sit in config.toml or — better — in the environment (`TALKS_PYANNOTE_TOKEN`, or
`HF_TOKEN` as Hugging Face's own tools read it); the environment is read only where the
secret is used, so a settings save never writes it into a file. Whatever the source, its
value never reaches the log, the ledger, an error sentence or the JSON summary: each of those
passes through `redact`, which knows every secret value of the loaded config.
"""

from __future__ import annotations

import dataclasses
import os
import re

from pipeline.config.settings import SECTIONS, Config

# Keys whose value is a secret: marked `secret=True` in the config schema, or named so.
_SECRET_NAME = re.compile(r"(token|api_key|apikey|password|secret)$", re.IGNORECASE)
# Where each secret may come from instead of the config file, in order.
ENV_FOR = {"speakers.pyannote_token": ("TALKS_PYANNOTE_TOKEN", "HF_TOKEN")}
MASK = "***"

_known: set[str] = set()


def secret_keys() -> list[str]:
    keys = []
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            if f.metadata.get("secret") or _SECRET_NAME.search(f.name):
                keys.append(f"{section}.{f.name}")
    return keys


def secret(config: Config, key: str) -> str:
    """The secret's value: the config's, else the first environment variable that has one."""
    section, name = key.split(".")
    value = str(getattr(getattr(config, section), name) or "").strip()
    if value:
        return value
    for env in ENV_FOR.get(key, ()):
        if os.environ.get(env, "").strip():
            return os.environ[env].strip()
    return ""


def register(config: Config) -> None:
    """Remember the secret values of the config in use, so `redact` can hide them."""
    for key in secret_keys():
        value = secret(config, key)
        if len(value) >= 4:  # a value that short would mask ordinary words, and is no secret
            _known.add(value)


def redact(text: str) -> str:
    for value in _known:
        if value in text:
            text = text.replace(value, MASK)
    return text
