"""Shared test set-up: never touch the network for model weights."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="module")
def embedder():
    """The default speaker model, loaded once per test module."""
    from speakers.embedding import EmbedderSettings, create_embedder

    model = create_embedder(EmbedderSettings("resemblyzer"))
    model.load()
    yield model
    model.unload()
