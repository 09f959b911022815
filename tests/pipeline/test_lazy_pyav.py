"""faster-whisper imports PyAV for a decoder talks never calls: talks' processes leave it
unloaded until something uses it (pipeline/lazy_pyav.py), and then it works as ever."""

from __future__ import annotations

import subprocess
import sys
import wave

import numpy as np

from tests.support.paths import ROOT

PROBE = """
import sys
import pipeline
import faster_whisper
print("loaded at import:", "av._core" in sys.modules)
from faster_whisper.audio import decode_audio
pcm = decode_audio(sys.argv[1])
print("decoded:", len(pcm), "av._core" in sys.modules)
"""


def test_pyav_loads_only_when_used_and_then_decodes(tmp_path):
    clip = tmp_path / "tone.wav"
    tone = (np.sin(np.arange(16000) * 2 * np.pi * 440 / 16000) * 8000).astype(np.int16)
    with wave.open(str(clip), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(tone.tobytes())
    out = subprocess.run([sys.executable, "-c", PROBE, str(clip)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["loaded at import: False", "decoded: 16000 True"]
