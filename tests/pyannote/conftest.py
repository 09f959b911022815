"""The pyannote backend's tests run only in their own environment (`make test-pyannote`).

pyannote.audio 4 needs torch 2.9.1 with torchaudio 2.9 and cannot be imported beside the
torch of the main `.venv`, so the default `make test` does not even collect these files:
a test that is merely skipped would look like coverage it is not. `make test-pyannote`
builds `.venv-pyannote` and sets TALKS_PYANNOTE=1.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Before huggingface_hub is imported anywhere: these tests must never reach for the hub.
os.environ["HF_HUB_OFFLINE"] = "1"

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if os.environ.get("TALKS_PYANNOTE") != "1":
    collect_ignore_glob = ["test_*.py"]
