"""The mlx engine against faster-whisper on the same CTranslate2 weights (tiny.en).

mlx runs on the CPU here at about real time, so the clip is kept to a few seconds, and the
conversion, the speech and one mlx transcription of it are made once per module."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before any Hugging Face import: nothing may reach the hub

import json
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import jiwer
import numpy as np
import pytest

from pipeline.asr.base import SAMPLE_RATE, EngineSettings
from pipeline.asr.ct2_to_mlx import Ct2Model, ensure_mlx_model
from pipeline.asr.models import resolve_ct2_model
from tests.support.paths import ROOT

pytest.importorskip("mlx_whisper")

pytestmark = [pytest.mark.models, pytest.mark.mlx]

SPOKEN = ("Good morning everyone. Today we will talk about the history of the old city "
          "and the people who built its bridges.")
OFFSET = 12.5


def normalize(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(normalize(reference), normalize(hypothesis)))


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def ct2_dir(cache_dir: Path) -> Path:
    return Path(resolve_ct2_model("tiny.en", cache_dir, False))


@pytest.fixture(scope="module")
def mlx_dir(ct2_dir: Path, cache_dir: Path) -> Path:
    return ensure_mlx_model(ct2_dir, cache_dir)


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    assert shutil.which("espeak-ng") and shutil.which("ffmpeg"), \
        "espeak-ng and ffmpeg make the speech clip: run `make test`, which installs them"
    wav = tmp_path_factory.mktemp("speech") / "spoken.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), SPOKEN], check=True, capture_output=True)
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(wav), "-ac", "1",
         "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"],
        check=True, capture_output=True).stdout
    pcm = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    # A second of silence on each side, as in a real recording, and so the no-speech rule
    # has something to do.
    pad = np.zeros(SAMPLE_RATE, dtype=np.float32)
    return np.concatenate([pad, pcm, pad])


def settings(ct2_dir: Path, compute_type: str) -> EngineSettings:
    return EngineSettings(model_dir=str(ct2_dir), language="en", threads=2,
                          compute_type=compute_type, beam_size=1)


def test_config_is_tiny_en(mlx_dir: Path) -> None:
    config = json.loads((mlx_dir / "config.json").read_text())
    assert config["n_audio_state"] == 384
    assert config["n_audio_layer"] == 4
    assert config["n_text_layer"] == 4
    assert config["n_vocab"] == 51864
    assert config["n_mels"] == 80
    assert config["n_audio_head"] == config["n_text_head"] == 6
    assert config["n_audio_ctx"] == 1500 and config["n_text_ctx"] == 448


def test_conversion_is_reused(ct2_dir: Path, cache_dir: Path, mlx_dir: Path) -> None:
    weights = mlx_dir / "weights.safetensors"
    before = weights.stat().st_mtime_ns
    again = ensure_mlx_model(ct2_dir, cache_dir)
    assert again == mlx_dir and again.is_dir() and not again.is_symlink()
    assert weights.stat().st_mtime_ns == before
    assert [p.name for p in cache_dir.iterdir() if p.name.startswith(".")] == []


@pytest.fixture(scope="module")
def mlx_run(ct2_dir: Path, cache_dir: Path, speech: np.ndarray) -> SimpleNamespace:
    """One mlx load and one transcription of the speech (mlx is slow on this CPU), read by
    the tests below: the segments, the engine's memory once loaded, after the transcription
    and after a trim, and whether unloading let go of the model."""
    from pipeline.asr.mlx_engine import MlxEngine

    engine = MlxEngine(settings(ct2_dir, "float32"), cache_dir)
    try:
        engine.load()
        loaded = engine.device_memory()
        segments = engine.transcribe(speech, OFFSET)
        after = engine.device_memory()
        engine.trim()
        trimmed = engine.device_memory()
    finally:
        engine.unload()
    from mlx_whisper.transcribe import ModelHolder
    return SimpleNamespace(segments=segments, loaded=loaded, after=after, trimmed=trimmed,
                           released=ModelHolder.model is None)


def test_mlx_agrees_with_faster_whisper(ct2_dir: Path, cache_dir: Path, speech: np.ndarray,
                                        mlx_run: SimpleNamespace) -> None:
    from pipeline.asr.faster_whisper_engine import FasterWhisperEngine

    mlx_segments = mlx_run.segments
    assert mlx_run.released

    fw_engine = FasterWhisperEngine(settings(ct2_dir, "float32"), cache_dir)
    try:
        fw_segments = fw_engine.transcribe(speech, OFFSET)
    finally:
        fw_engine.unload()

    mlx_text = " ".join(s.text for s in mlx_segments)
    fw_text = " ".join(s.text for s in fw_segments)
    print(f"\nmlx:            {mlx_text}\nfaster-whisper: {fw_text}")
    assert mlx_segments and all(s.text for s in mlx_segments)
    end = OFFSET + len(speech) / SAMPLE_RATE
    assert all(OFFSET <= s.start <= s.end <= end + 0.5 for s in mlx_segments)
    assert wer(fw_text, mlx_text) <= 0.10
    assert wer(SPOKEN, mlx_text) <= 0.25
    assert wer(SPOKEN, fw_text) <= 0.25


def _write_int8_copy(src: Ct2Model, target: Path) -> None:
    """Rewrite a model.bin with every matrix quantized the way CTranslate2's int8 does."""
    def string(text: str) -> bytes:
        data = text.encode() + b"\0"
        return struct.pack("<H", len(data)) + data

    variables: list[tuple[str, np.ndarray, int]] = []
    for name, tensor in src.tensors.items():
        values = src.read_float32(name) if tensor.type_id in (0, 4) else None
        if values is not None and values.ndim == 2 and name.endswith("/weight"):
            scale = (127.0 / np.maximum(np.abs(values).max(axis=1), 1e-8)).astype(np.float32)
            quantized = np.rint(values * scale[:, None]).astype(np.int8)
            variables += [(name, quantized, 1), (f"{name}_scale", scale, 0)]
        else:
            variables.append((name, src.read_stored(name), tensor.type_id))
    with open(target, "wb") as out:
        out.write(struct.pack("<I", 6) + string(src.spec) + struct.pack("<II", src.revision,
                                                                          len(variables)))
        for name, array, type_id in variables:
            out.write(string(name) + struct.pack("<B", array.ndim))
            out.write(b"".join(struct.pack("<I", d) for d in array.shape))
            out.write(struct.pack("<BI", type_id, array.nbytes) + array.tobytes())
        out.write(struct.pack("<I", len(src.aliases)))
        for alias, name in src.aliases.items():
            out.write(string(alias) + string(name))


def test_int8_weights_are_dequantized(ct2_dir: Path, mlx_dir: Path, tmp_path: Path) -> None:
    import mlx.core as mx

    int8_dir = tmp_path / "tiny-int8"
    int8_dir.mkdir()
    shutil.copyfile(ct2_dir / "config.json", int8_dir / "config.json")
    with Ct2Model(ct2_dir / "model.bin") as src:
        _write_int8_copy(src, int8_dir / "model.bin")
    converted = ensure_mlx_model(int8_dir, tmp_path / "cache")
    exact = mx.load(str(mlx_dir / "weights.safetensors"))
    approx = mx.load(str(converted / "weights.safetensors"))
    assert exact.keys() == approx.keys()
    for name in ("encoder.blocks.0.attn.key.weight", "decoder.blocks.3.cross_attn.value.weight",
                 "decoder.token_embedding.weight", "decoder.blocks.1.mlp2.weight"):
        a, b = np.array(exact[name]), np.array(approx[name])
        # Half a quantization step of each row is the most int8 rounding can move a value.
        step = np.abs(a).max(axis=1, keepdims=True) / 127.0
        assert np.all(np.abs(a - b) <= step * 0.5 + 1e-6), name


def test_float16_weights_are_the_float32_ones_halved(ct2_dir: Path, cache_dir: Path,
                                                     mlx_dir: Path) -> None:
    import mlx.core as mx

    half_dir = ensure_mlx_model(ct2_dir, cache_dir, float16=True)
    assert half_dir != mlx_dir and half_dir.name.endswith("-f16")
    full = mx.load(str(mlx_dir / "weights.safetensors"))
    half = mx.load(str(half_dir / "weights.safetensors"))
    assert full.keys() == half.keys()
    for name in ("encoder.conv1.weight", "decoder.token_embedding.weight",
                 "encoder.blocks.2.mlp1.weight"):
        assert half[name].dtype == mx.float16
        assert np.array_equal(np.array(half[name]), np.array(full[name]).astype(np.float16))
    size = (half_dir / "weights.safetensors").stat().st_size
    assert size < 0.55 * (mlx_dir / "weights.safetensors").stat().st_size


def test_the_mlx_worker_counts_and_gives_back_its_own_memory(mlx_run: SimpleNamespace) -> None:
    from pipeline.asr.mlx_engine import MLX_CACHE_LIMIT_MB

    loaded, after = mlx_run.loaded, mlx_run.after
    assert set(loaded) == {"mlx active", "mlx peak", "mlx cache"}
    assert loaded["mlx active"] > 100  # tiny.en's float32 weights, ~150 MB
    assert after["mlx peak"] > after["mlx active"]  # the window's arrays came and went
    assert after["mlx cache"] <= MLX_CACHE_LIMIT_MB + 1
    assert mlx_run.trimmed["mlx cache"] == 0  # trim gave the cache back


def test_a_worker_loads_mlx_without_numba_or_scipy(ct2_dir: Path, cache_dir: Path) -> None:
    """A fresh process, as a worker is: mlx-whisper's own transcribe (and the numba and scipy
    it imports, ~130 MB) stays out; the end-to-end mlx tests show decoding still works."""
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from pipeline.asr.base import EngineSettings\n"
        "from pipeline.asr.mlx_engine import MlxEngine\n"
        f"engine = MlxEngine(EngineSettings(model_dir={str(ct2_dir)!r}, language='en', "
        "threads=2, compute_type='float32', beam_size=1), "
        f"Path({str(cache_dir)!r}))\n"
        "engine.load()\n"
        "print(json.dumps({m: m in sys.modules for m in "
        "('numba', 'scipy', 'mlx_whisper.transcribe', 'mlx_whisper.load_models')}), "
        "flush=True)\n"
        # As pipeline/run/worker_main.py leaves: mlx's threads can abort the interpreter's
        # teardown.
        "import os; os._exit(0)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded == {"numba": False, "scipy": False, "mlx_whisper.transcribe": False,
                      "mlx_whisper.load_models": True}
