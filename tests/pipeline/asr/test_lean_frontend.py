"""The sliced VAD and log-mel features give what faster-whisper's own whole-input steps give."""

from __future__ import annotations

import numpy as np
import pytest

fw_features = pytest.importorskip("faster_whisper.feature_extractor")
fw_vad = pytest.importorskip("faster_whisper.vad")
# faster-whisper's own VAD, taken at collection, before any test in this process has loaded
# an engine (and with it put the lean VAD in its place).
FASTER_WHISPER_VAD = fw_vad.get_vad_model

from pipeline.asr.lean_frontend import (  # noqa: E402
    VAD_BATCH_WINDOWS,
    LeanSileroVAD,
    install,
    log_mel,
    speech_stretches,
)

RATE = 16_000


def talk_like(seconds: float, seed: int = 1) -> np.ndarray:
    """Bursts of harmonics and noise with quiet gaps: enough structure for the VAD and the
    spectrogram to have something to disagree about."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    voiced = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((140, 280, 420, 910), 1))
    bursts = (np.sin(2 * np.pi * 0.4 * t) > 0.1).astype(np.float64)
    audio = 0.2 * voiced * bursts + 0.01 * rng.standard_normal(len(t))
    return audio.astype(np.float32)


# Lengths around where the padded signal is built whole (under 2 × 200 + 2 samples) and
# blocks that end inside the reflected head or the zero-padded tail.
@pytest.mark.parametrize(("seconds", "block"), [(75.3, 3000), (12.0, 7), (0.4, 3000),
                                                (0.4, 1), (401 / RATE, 1), (402 / RATE, 1),
                                                (403 / RATE, 2), (30.0, 1000), (31.01, 1000)])
def test_log_mel_matches_faster_whisper(seconds: float, block: int) -> None:
    audio = talk_like(seconds)
    reference = fw_features.FeatureExtractor(feature_size=80)
    expected = reference(audio.copy())
    got = log_mel(audio, reference.mel_filters, reference.n_fft, reference.hop_length,
                  padding=160, block_frames=block)
    assert got.shape == expected.shape and got.dtype == np.float32
    # Only BLAS summation order differs between blocks: one float32 ulp or so.
    assert np.abs(got - expected).max() < 1e-5


def test_log_mel_without_padding() -> None:
    audio = talk_like(3.0)
    reference = fw_features.FeatureExtractor(feature_size=80)
    expected = reference(audio.copy(), padding=0)
    got = log_mel(audio, reference.mel_filters, reference.n_fft, reference.hop_length, 0)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-5


@pytest.mark.parametrize("batch", [37, 1000, 100_000])
def test_vad_probabilities_match(batch: int) -> None:
    audio = talk_like(41.0, seed=2)
    audio = np.pad(audio, (0, 512 - len(audio) % 512))
    original = FASTER_WHISPER_VAD()
    assert not getattr(FASTER_WHISPER_VAD, "talks_lean", False)
    expected = original(audio.copy())
    got = LeanSileroVAD(original.session, batch)(audio.copy())
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-6


def test_vad_leaves_its_input_alone() -> None:
    audio = np.pad(talk_like(5.0), (0, 512 - int(5.0 * RATE) % 512))
    before = audio.copy()
    LeanSileroVAD(fw_vad.get_vad_model().session)(audio)
    assert np.array_equal(audio, before)


def test_install_replaces_both_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    # Restored after the test: the next test sees faster-whisper's own VAD again.
    monkeypatch.setattr(fw_vad, "get_vad_model", fw_vad.get_vad_model)

    class FakeModel:
        feature_extractor = fw_features.FeatureExtractor(feature_size=80)

    model = FakeModel()
    original = model.feature_extractor
    install(model)
    install(model)  # twice is harmless: the VAD is wrapped once
    assert isinstance(model.feature_extractor, fw_features.FeatureExtractor)
    assert model.feature_extractor is not original
    audio = talk_like(4.0)
    assert np.abs(model.feature_extractor(audio, chunk_length=30)
                  - original(audio.copy())).max() < 1e-5
    assert isinstance(fw_vad.get_vad_model(), LeanSileroVAD)
    speech = fw_vad.get_speech_timestamps(talk_like(20.0), fw_vad.VadOptions())
    assert isinstance(speech, list)


def test_speech_stretches_are_faster_whisper_s_own() -> None:
    audio = talk_like(61.0, seed=3)
    options = fw_vad.VadOptions(min_silence_duration_ms=700, max_speech_duration_s=30.0)
    lean = fw_vad.get_vad_model
    try:
        fw_vad.get_vad_model = FASTER_WHISPER_VAD  # faster-whisper's own, whole-input VAD
        theirs = fw_vad.get_speech_timestamps(audio, options)
    finally:
        fw_vad.get_vad_model = lean
    ours = speech_stretches(audio, 30.0)
    assert len(ours) >= 2  # the bursts gave the VAD gaps to cut out
    assert ours == [(s["start"], s["end"]) for s in theirs]


def test_speech_stretches_of_silence_are_none() -> None:
    assert speech_stretches(np.zeros(5 * RATE, dtype=np.float32), 30.0) == []


# --- the same network in numpy (pipeline/asr/silero_numpy.py) ----------------------------

def onnx_file():
    from pathlib import Path

    from faster_whisper.utils import get_assets_path

    return Path(get_assets_path()) / "silero_vad_v6.onnx"


# 37 windows a batch: the 60 s go through the numpy network in 51 batches, most of them
# computed ahead on other threads while the LSTM runs, its state carried across all of them.
@pytest.mark.parametrize("batch", [37, VAD_BATCH_WINDOWS])
def test_numpy_vad_gives_onnxruntime_s_probabilities_on_real_speech(batch: int) -> None:
    from common.media import decode_range
    from pipeline.asr.silero_numpy import load_session
    from tests.support.voices import REAL_DIR

    # Two people on a phone line, with pauses.
    audio = decode_range(REAL_DIR / "pyannote" / "sample.wav", 0.0, 60.0)
    audio = np.pad(audio, (0, 512 - len(audio) % 512))
    session = load_session(onnx_file())
    assert session is not None
    theirs = LeanSileroVAD(FASTER_WHISPER_VAD().session)(audio.copy())
    ours = LeanSileroVAD(session, batch)(audio.copy())
    assert ours.shape == theirs.shape and ours.dtype == np.float32
    assert np.abs(ours - theirs).max() < 1e-4

    # And so the same speech is found: the stretches.
    def stretches_with(model) -> list[dict]:
        fw_vad.get_vad_model = lambda: model
        return fw_vad.get_speech_timestamps(audio, fw_vad.VadOptions(min_silence_duration_ms=700))

    installed = fw_vad.get_vad_model
    try:
        found = stretches_with(LeanSileroVAD(session))
        expected = stretches_with(FASTER_WHISPER_VAD())
    finally:
        fw_vad.get_vad_model = installed
    assert len(expected) >= 2 and found == expected


def test_a_file_that_is_not_the_expected_model_falls_back_to_onnxruntime(tmp_path) -> None:
    from pipeline.asr.silero_numpy import load_session, read_initializers

    data = onnx_file().read_bytes()
    weights = read_initializers(onnx_file(), {"decoder.conv1d.bias"})
    assert weights["decoder.conv1d.bias"].shape == (1,)
    for name, content in (("empty.onnx", b""), ("half.onnx", data[: len(data) // 2]),
                          ("noise.onnx", bytes(range(256)) * 64)):
        (tmp_path / name).write_bytes(content)
        assert load_session(tmp_path / name) is None, name
    assert load_session(tmp_path / "missing.onnx") is None


def test_a_worker_finds_speech_without_loading_onnxruntime() -> None:
    # onnxruntime's library and session held ~35 MB through a worker's decoding.
    import subprocess
    import sys

    script = (
        "import sys, numpy as np\n"
        "from pipeline.asr.lean_frontend import speech_stretches\n"
        "t = np.arange(16000 * 6) / 16000\n"
        "tone = (0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 0.5 * t) > 0))\n"
        "speech_stretches(tone.astype(np.float32))\n"
        "print('onnxruntime' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False", out.stderr
