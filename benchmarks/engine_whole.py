"""The baseline the pipeline is compared with: faster-whisper run as a user runs it.

The recording's path is handed to `WhisperModel.transcribe`, which decodes the file itself
(with PyAV) and transcribes it sequentially with its VAD. Run as its own process
(python -m benchmarks.engine_whole AUDIO) so its memory is measured the same way as the
pipeline's. It prints `phase NAME` lines as it goes and one `result {json}` line at the end.
The decoding options are talks' (greedy, no conditioning on earlier text, the same VAD
setting), so what differs is the program around the engine.

`--batch-size N` runs faster-whisper's `BatchedInferencePipeline` instead (what WhisperX and
users after speed run): the VAD's speech merged into independent windows of up to 30 s, N of
them through the encoder and decoder at once, each window's text taken whole (no timestamps,
no cursor). `--engine mlx` runs mlx-whisper's own `transcribe` on a converted model (the
whole file's samples given as an array, decoded by ffmpeg as talks does).
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
    parser.add_argument("--batch-size", type=int, default=0,
                        help="> 0: faster-whisper's BatchedInferencePipeline, this batch")
    parser.add_argument("--engine", default="faster-whisper",
                        choices=["faster-whisper", "mlx"])
    args = parser.parse_args(argv)
    if args.engine == "mlx":
        return _mlx_whisper(args)

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
    if args.batch_size > 0:
        from faster_whisper import BatchedInferencePipeline

        # Its own defaults otherwise (VAD on, windows without timestamps), as a user runs it.
        segments, info = BatchedInferencePipeline(model).transcribe(
            str(args.audio), language="en", beam_size=1, best_of=1,
            batch_size=args.batch_size)
    else:
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


def _mlx_whisper(args: argparse.Namespace) -> int:
    """mlx-whisper's own transcribe, as a user on a Mac runs it, on the weights talks
    converts (float32 on a CPU): greedy, no conditioning on earlier text."""
    phase("import")
    import mlx_whisper

    from common.media import decode_range
    from pipeline.asr.ct2_to_mlx import ensure_mlx_model
    from pipeline.asr.models import resolve_ct2_model

    cache = Path("~/.cache/talks/models").expanduser()
    folder = ensure_mlx_model(Path(resolve_ct2_model(args.model, cache, False)), cache,
                              float16=False)
    phase("load")
    began = time.perf_counter()
    pcm = decode_range(args.audio, 0.0, 24 * 3600.0)
    decode_s = time.perf_counter() - began
    phase("transcribe")
    result = mlx_whisper.transcribe(pcm, path_or_hf_repo=str(folder), language="en",
                                    fp16=False, condition_on_previous_text=False)
    took = time.perf_counter() - began
    phase("done")
    print("result " + json.dumps({"load_s": 0.0, "decode_s": decode_s,
                                  "decode_and_transcribe_s": took,
                                  "audio_s": len(pcm) / 16000, "text": result["text"],
                                  "segments": [(x["start"], x["end"], x["text"].strip())
                                               for x in result["segments"]]}),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
