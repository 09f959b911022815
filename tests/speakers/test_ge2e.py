"""Our GE2E front end and network against resemblyzer's own, on real synthetic speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

resemblyzer = pytest.importorskip("resemblyzer")

from common.media import decode_range  # noqa: E402
from speakers.backends import ge2e  # noqa: E402
from tests.support.speech import TALKS, make_talk  # noqa: E402


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    path = tmp_path_factory.mktemp("ge2e") / "talk.wav"
    make_talk(path, TALKS["lighthouses"][:3], pause_s=1.5)
    return decode_range(path, 0.0, 60.0)


def test_preparation_matches_preprocess_wav(talk: np.ndarray) -> None:
    quiet = talk * 0.05
    for audio in (talk, quiet, talk[:7000]):
        expected = resemblyzer.preprocess_wav(audio.copy(), source_sr=16_000)
        got = ge2e.prepare(audio.copy())
        assert got.shape == expected.shape
        assert np.allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_mel_matches_resemblyzer(talk: np.ndarray) -> None:
    from resemblyzer.audio import wav_to_mel_spectrogram

    expected = wav_to_mel_spectrogram(talk)
    got = ge2e.mel_power(talk)
    assert got.shape == expected.shape and got.dtype == np.float32
    scale = float(np.abs(expected).max())
    assert np.abs(got - expected).max() <= 1e-5 * scale


@pytest.mark.parametrize("n", [0, 1, 15_000, 25_600, 160_000, 333_333])
def test_partials_match(n: int) -> None:
    _wav, mel_slices = resemblyzer.VoiceEncoder.compute_partial_slices(n, 1.3, 0.75)
    assert ge2e.partial_starts(n) == [s.start for s in mel_slices]


@pytest.mark.models
def test_embedding_matches_voice_encoder(talk: np.ndarray) -> None:
    import torch

    torch.set_num_threads(1)
    theirs = resemblyzer.VoiceEncoder("cpu", verbose=False)
    ours = ge2e.GE2E()
    for audio in (talk, talk[: 16_000 * 3]):
        prepared = resemblyzer.preprocess_wav(audio.copy(), source_sr=16_000)
        expected = theirs.embed_utterance(prepared)
        got = ours.embed_prepared(ge2e.prepare(audio.copy()))
        assert float(np.dot(got, expected)) > 0.99999
        assert np.abs(got - expected).max() < 1e-4


def test_weights_come_from_the_wheel() -> None:
    assert ge2e.weights_path() == Path(resemblyzer.__file__).parent / "pretrained.pt"


def test_checkpoint_reader_matches_torch_load() -> None:
    import torch

    from speakers.backends.torch_checkpoint import load_arrays

    ours = load_arrays(ge2e.weights_path(), prefix="model_state.")
    theirs = torch.load(ge2e.weights_path(), map_location="cpu")["model_state"]
    assert sorted(ours) == sorted(theirs)
    for name, tensor in theirs.items():
        assert ours[name].dtype == np.float32
        assert np.array_equal(ours[name], tensor.numpy()), name


def test_checkpoint_reader_refuses_other_objects(tmp_path: Path) -> None:
    import pickle

    from speakers.backends import torch_checkpoint

    class Payload:
        def __reduce__(self):  # what a hostile checkpoint would hide: a call at load time
            return (print, ("this must not run",))

    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        for obj in (torch_checkpoint.MAGIC, torch_checkpoint.PROTOCOL, {"little_endian": True},
                    {"model_state": Payload()}, []):
            pickle.dump(obj, f, protocol=2)
    with pytest.raises(torch_checkpoint.CheckpointError, match="print"):
        torch_checkpoint.load_arrays(path)
    (tmp_path / "not.pt").write_bytes(b"plain bytes")
    with pytest.raises(torch_checkpoint.CheckpointError, match="not a torch checkpoint"):
        torch_checkpoint.load_arrays(tmp_path / "not.pt")
