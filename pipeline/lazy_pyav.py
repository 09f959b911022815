"""PyAV loaded only if something uses it.

faster-whisper imports PyAV (`av`) at its own import, for `decode_audio`, which talks never
calls: ffmpeg decodes every recording (common/media.py). PyAV brings its own FFmpeg
libraries, ~17 MB of a process's memory and ~0.05-0.2 s of CPU at each worker's start. So
`av` starts as a stand-in module: faster-whisper's `import av` finds it, and the real PyAV
is imported at the first use of any of its names (a benchmark's peer decoding a file).
(importlib's LazyLoader would not do: in Python 3.11 the `import av` statement itself reads
the module's `__spec__`, which makes a lazy module load.)
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType
from typing import Any


class _PyAVStandIn(ModuleType):
    def __getattr__(self, name: str) -> Any:  # only names the stand-in lacks come here
        real = self.__dict__.get("_real")
        if real is None:
            if sys.modules.get("av") is self:
                del sys.modules["av"]
            real = importlib.import_module("av")
            self._real = real
        return getattr(real, name)


def defer_pyav() -> None:
    if "av" not in sys.modules and importlib.util.find_spec("av") is not None:
        sys.modules["av"] = _PyAVStandIn("av")
