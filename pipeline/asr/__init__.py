"""Speech engines, chosen by name from the config. Adding one is adding a module here."""

from __future__ import annotations

import importlib
import platform
import sys
from pathlib import Path
from types import ModuleType

from pipeline.asr.base import Engine, EngineSettings, Segment
from pipeline.asr.language import is_language_code
from pipeline.asr.models import ModelNotFound, require_local_folder, resolve_ct2_model

__all__ = ["Engine", "EngineSettings", "Segment", "ModelNotFound", "check_model",
           "create_engine", "pick_engine_name"]

# name -> "module:Class"; imported only when chosen, so the main process stays light.
REGISTRY = {
    "faster-whisper": "pipeline.asr.faster_whisper_engine:FasterWhisperEngine",
    "mlx": "pipeline.asr.mlx_engine:MlxEngine",
}


def on_apple_silicon() -> bool:
    return sys.platform == "darwin" and platform.machine() == "arm64"


def pick_engine_name(configured: str) -> str:
    if configured != "auto":
        return configured
    if on_apple_silicon() and importlib.util.find_spec("mlx_whisper") is not None:
        return "mlx"
    return "faster-whisper"


def _known(name: str) -> None:
    if name not in REGISTRY:
        raise ModelNotFound(f"Unknown engine {name!r}: use one of {', '.join(REGISTRY)}.")


def _engine_module(name: str) -> ModuleType:
    try:
        return importlib.import_module(REGISTRY[name].split(":")[0])
    except ImportError as exc:
        raise ModelNotFound(f"The {name} engine is not installed ({exc.name} is missing): "
                            f"pip install 'talks[mlx]' or set [transcription] engine = "
                            f"\"faster-whisper\".") from None


def check_model(configured: str, model: str, cache_dir: Path, allow_download: bool) -> None:
    """What create_engine (and the mlx engine's load) would stop on, found the way they find
    it but without loading a model or joining weights: for `talks config validate`."""
    name = pick_engine_name(configured)
    _known(name)
    found = resolve_ct2_model(model, cache_dir, allow_download, join=False)
    _engine_module(name)  # not installed, or a version outside the tested range
    if name == "mlx" and found == model:  # a hub name (or a folder given as it is)
        require_local_folder(found)


def create_engine(configured: str, model: str, cache_dir: Path, allow_download: bool,
                  language: str, threads: int, compute_type: str, beam_size: int,
                  best_of: int = 1, batch_size: int = 1, streams: int = 1,
                  windows: str = "cursor") -> Engine:
    """An engine for one talk, in the talk's language (decided before its chunks, in
    pipeline/stages/talk_language.py): a chunk is never heard as another language."""
    if not is_language_code(language):
        raise ValueError(f"an engine transcribes in one language, and {language!r} is not "
                         "one of Whisper's language codes")
    name = pick_engine_name(configured)
    _known(name)
    ct2_dir = resolve_ct2_model(model, cache_dir, allow_download)
    module = _engine_module(name)
    class_name = REGISTRY[name].split(":")[1]
    settings = EngineSettings(model_dir=ct2_dir, language=language,
                              threads=threads, compute_type=compute_type, beam_size=beam_size,
                              best_of=best_of, batch_size=batch_size, streams=streams,
                              windows=windows)
    return getattr(module, class_name)(settings, cache_dir)
