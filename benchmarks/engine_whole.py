"""The baseline the pipeline is compared with: faster-whisper run as a user runs it.

The recording's path is handed to `WhisperModel.transcribe`, which decodes the file itself
(with PyAV) and transcribes it sequentially with its VAD. Run as its own process
(python -m benchmarks.engine_whole AUDIO) so its memory is measured the same way as the
pipeline's. It prints `phase NAME` lines as it goes and one `result {json}` line at the end.
The decoding options are talks' (greedy, no conditioning on earlier text, the same VAD
setting), so what differs is the program around the engine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def phase(name: str) -> None:
    print(f"phase {name}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("audio", type=Path)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compute-type", default="int8")
    args = parser.parse_args(argv)

    phase("import")
    from faster_whisper import WhisperModel

    from pipeline.asr.models import resolve_ct2_model

    model_dir = resolve_ct2_model(args.model, Path("~/.cache/talks/models"), False)
    phase("load")
    began = time.perf_counter()
    model = WhisperModel(model_dir, device="cpu", compute_type=args.compute_type,
                         cpu_threads=args.threads, local_files_only=True)
    load_s = time.perf_counter() - began

    # Decode and transcribe are timed together because the pipeline's per-chunk `seconds`
    # (what it is compared with) covers both and not the model load.
    phase("transcribe")
    began = time.perf_counter()
    segments, info = model.transcribe(
        str(args.audio), language="en", beam_size=1, best_of=1,
        condition_on_previous_text=False, vad_filter=True,
        vad_parameters={"min_silence_duration_ms": 700})
    texts = [s.text.strip() for s in segments]  # the generator does the work lazily
    decode_and_transcribe_s = time.perf_counter() - began
    phase("done")
    result = {"load_s": load_s, "decode_s": 0.0,
              "decode_and_transcribe_s": decode_and_transcribe_s,
              "audio_s": info.duration, "text": " ".join(t for t in texts if t)}
    print("result " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
