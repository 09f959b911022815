"""Tags as ffprobe reads them: the check that a player sees what talks wrote."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def ffprobe_tags(path: Path) -> dict[str, str]:
    """Format and stream tags as ffprobe shows them (Ogg keeps them on the stream)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                          "format_tags:stream_tags", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    tags: dict[str, str] = {}
    for stream in data.get("streams", []):
        tags.update({k.lower(): v for k, v in stream.get("tags", {}).items()})
    tags.update({k.lower(): v for k, v in data.get("format", {}).get("tags", {}).items()})
    return tags
