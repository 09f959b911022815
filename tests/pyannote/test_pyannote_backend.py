"""The pyannote backend, end to end, on a checkpoint this test writes itself.

No pyannote weights can be downloaded here, so the model is pyannote's own WeSpeaker
ResNet34 class with seeded random weights, saved in the layout `Model.from_pretrained`
reads. Random weights say nothing about telling voices apart; what is tested is that our
loading code reads *that* file and that our embedding path gives what pyannote's own
inference gives, as unit vectors.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from speakers.backends.pyannote_embedding import CHECKPOINT_FILE_IN_FOLDER, PyannoteEmbedder
from speakers.embedding import (
    SAMPLE_RATE,
    EmbedderSettings,
    EmbedderUnavailable,
    create_embedder,
    unit,
)

EMBEDDING_DIMENSION = 256  # WeSpeaker ResNet34's output size

# (tool, voice) -> two sentences; flite's slt and espeak-ng's en-us sound nothing alike.
SPEAKERS = {
    ("espeak-ng", "en-us"): [
        "The river was calm and the boats drifted slowly past the old mill.",
        "Every morning the baker opened the shop before the sun came up.",
    ],
    ("flite", "slt"): [
        "A gentle wind moved through the tall grass behind the school.",
        "She planted three rows of beans along the garden fence.",
    ],
}


# ---------------------------------------------------------------- spoken material

def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; run `make tools-test` first")
    return found


def _speak(tool: str, voice: str, sentence: str, wav: Path) -> None:
    if tool == "espeak-ng":
        cmd = [_tool("espeak-ng"), "-v", voice, "-w", str(wav), "--stdin"]
        subprocess.run(cmd, input=sentence, text=True, check=True, capture_output=True)
    else:
        cmd = [_tool("flite"), "-voice", voice, "-t", sentence, "-o", str(wav)]
        subprocess.run(cmd, check=True, capture_output=True)


def _to_pcm(wav: Path) -> np.ndarray:
    """What talks hands an embedder: 16 kHz mono float32, here decoded by ffmpeg."""
    done = subprocess.run(
        [_tool("ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(wav),
         "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "-acodec", "pcm_f32le", "pipe:1"],
        check=True, capture_output=True)
    return np.frombuffer(done.stdout, dtype="<f4").astype(np.float32)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, np.ndarray]:
    folder = tmp_path_factory.mktemp("speech")
    made = {}
    for (tool, voice), sentences in SPEAKERS.items():
        for i, sentence in enumerate(sentences):
            wav = folder / f"{tool}-{voice}-{i}.wav"
            _speak(tool, voice, sentence, wav)
            made[f"{voice}-{i}"] = _to_pcm(wav)
    for name, pcm in made.items():
        assert len(pcm) > SAMPLE_RATE, f"{name}: the synthesizer made under a second of speech"
    return made


# ---------------------------------------------------------------- the checkpoint

def _random_model():
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import WeSpeakerResNet34

    torch.manual_seed(20240607)
    model = WeSpeakerResNet34()
    # A fresh model's batch-norm statistics are all 0 and 1; give them values of their own,
    # so that a loader which quietly kept fresh buffers would be caught.
    with torch.no_grad():
        for name, buffer in model.named_buffers():
            if name.endswith("running_mean"):
                buffer.copy_(0.1 * torch.randn_like(buffer))
            elif name.endswith("running_var"):
                buffer.copy_(0.5 + torch.rand_like(buffer))
    model.specifications = Specifications(
        problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=3.0)
    return model


def _checkpoint_of(model) -> dict:
    """The dictionary `Model.from_pretrained` needs (pyannote.audio 4.0, Lightning 2.6).

    Lightning's `load_from_checkpoint` wants `state_dict` and `pytorch-lightning_version`
    (its migration step reads the version), and passes `hyper_parameters` to the class.
    pyannote reads `pyannote.audio`: the version it checks, the class to build, and the
    task specifications it gives the model before loading the weights.
    """
    import lightning
    import pyannote.audio

    return {
        "state_dict": {name: t.detach().clone() for name, t in model.state_dict().items()},
        "hyper_parameters": dict(model.hparams),
        "pytorch-lightning_version": lightning.__version__,
        "pyannote.audio": {
            "versions": {"pyannote.audio": pyannote.audio.__version__},
            "architecture": {"module": type(model).__module__,
                             "class": type(model).__name__},
            "specifications": model.specifications,
        },
    }


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model = _random_model()
    checkpoint = _checkpoint_of(model)
    path = tmp_path_factory.mktemp("checkpoint") / "wespeaker-random.bin"
    torch.save(checkpoint, path)
    return path, checkpoint


@pytest.fixture(scope="module")
def embedder(saved):
    path, _ = saved
    loaded = PyannoteEmbedder(EmbedderSettings("pyannote", checkpoint=str(path)))
    loaded.load()
    yield loaded
    loaded.unload()


def test_our_checkpoint_layout_is_the_one_pyannote_writes(saved):
    _, checkpoint = saved
    written_by_pyannote: dict = {}
    _random_model().on_save_checkpoint(written_by_pyannote)
    assert written_by_pyannote["pyannote.audio"] == checkpoint["pyannote.audio"]


def test_the_registry_builds_this_backend(saved):
    path, _ = saved
    chosen = create_embedder(EmbedderSettings("pyannote", checkpoint=str(path)))
    assert isinstance(chosen, PyannoteEmbedder)
    assert chosen.name == "pyannote"
    assert chosen.model is None  # nothing is loaded until asked


def test_load_reads_the_weights_we_saved(embedder, saved):
    from pyannote.audio.models.embedding import WeSpeakerResNet34

    _, checkpoint = saved
    model = embedder.model
    assert type(model) is WeSpeakerResNet34
    assert not model.training
    loaded = model.state_dict()
    assert set(loaded) == set(checkpoint["state_dict"])
    for name, tensor in checkpoint["state_dict"].items():
        assert torch.equal(loaded[name], tensor), name
    assert torch.get_num_threads() == 1


def test_pyannote_telemetry_is_off_after_load(embedder):
    import os

    assert os.environ["PYANNOTE_METRICS_ENABLED"] == "false"


def test_vectors_are_unit_float32_of_the_model_dimension(embedder, clips):
    assert embedder.model.dimension == EMBEDDING_DIMENSION
    for name, pcm in clips.items():
        vector = embedder.embed(pcm)
        assert vector.dtype == np.float32, name
        assert vector.shape == (EMBEDDING_DIMENSION,), name
        assert np.all(np.isfinite(vector)), name
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5, name


def test_the_same_audio_gives_the_same_vector(embedder, clips):
    pcm = clips["en-us-0"]
    first = embedder.embed(pcm)
    again = embedder.embed(pcm)
    copied = embedder.embed(np.array(pcm, copy=True))
    assert np.array_equal(first, again)
    assert float(first @ copied) == pytest.approx(1.0, abs=1e-6)


def test_different_audio_gives_different_vectors(embedder, clips):
    vectors = {name: embedder.embed(pcm) for name, pcm in clips.items()}
    names = sorted(vectors)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert float(vectors[a] @ vectors[b]) < 1.0 - 1e-4, (a, b)


def test_each_clip_is_nearest_the_other_clip_of_its_voice(embedder, clips):
    # Not a claim about speaker recognition (the weights are random), but a check that the
    # sound reaches the model in the right shape and scale: even random filters see that
    # two espeak-ng clips share a spectrum that flite's voice does not (here ~0.99 within a
    # voice, ~0.89 across). Audio fed in transposed or mis-scaled would not keep that order.
    vectors = {name: embedder.embed(pcm) for name, pcm in clips.items()}
    for voice, other in (("en-us", "slt"), ("slt", "en-us")):
        within = float(vectors[f"{voice}-0"] @ vectors[f"{voice}-1"])
        across = max(float(vectors[f"{voice}-{i}"] @ vectors[f"{other}-{j}"])
                     for i in (0, 1) for j in (0, 1))
        assert within > across + 0.02, (voice, within, across)


def test_matches_pyannote_own_whole_window_inference(embedder, clips):
    from pyannote.audio import Inference

    inference = Inference(embedder.model, window="whole")
    for name, pcm in clips.items():
        theirs = inference({"waveform": torch.from_numpy(pcm)[None], "sample_rate": SAMPLE_RATE})
        np.testing.assert_allclose(embedder.embed(pcm), unit(theirs), atol=1e-5, err_msg=name)


def test_short_and_int_like_samples_still_give_a_unit_vector(embedder, clips):
    tenth_of_a_second = clips["slt-0"][SAMPLE_RATE // 2: SAMPLE_RATE // 2 + SAMPLE_RATE // 10]
    vector = embedder.embed(tenth_of_a_second)
    assert vector.shape == (EMBEDDING_DIMENSION,)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    as_float64 = embedder.embed(clips["slt-0"].astype(np.float64))
    assert np.allclose(as_float64, embedder.embed(clips["slt-0"]), atol=1e-6)


def test_an_empty_sample_is_refused_in_a_sentence(embedder):
    with pytest.raises(ValueError, match="empty sample"):
        embedder.embed(np.zeros(0, dtype=np.float32))


def test_a_checkpoint_folder_loads_and_unload_then_embed_loads_again(saved, tmp_path, clips):
    path, _ = saved
    shutil.copy(path, tmp_path / CHECKPOINT_FILE_IN_FOLDER)
    from_folder = PyannoteEmbedder(EmbedderSettings("pyannote", checkpoint=str(tmp_path)))
    first = from_folder.embed(clips["slt-1"])  # embed() loads on first use
    from_folder.unload()
    assert from_folder.model is None
    assert np.array_equal(from_folder.embed(clips["slt-1"]), first)
    from_folder.unload()


# ---------------------------------------------------------------- the error sentences

def _load_error(checkpoint: str = "", token: str = "") -> str:
    with pytest.raises(EmbedderUnavailable) as caught:
        PyannoteEmbedder(EmbedderSettings("pyannote", checkpoint=checkpoint, token=token)).load()
    return str(caught.value)


def test_a_missing_checkpoint_file_names_the_config_key(tmp_path):
    message = _load_error(str(tmp_path / "nowhere" / "pytorch_model.bin"))
    assert "does not exist" in message
    assert "[speakers] pyannote_checkpoint" in message and "config.toml" in message


def test_no_checkpoint_and_no_token_names_both_keys():
    message = _load_error()
    assert "[speakers] pyannote_checkpoint" in message
    assert "[speakers] pyannote_token" in message


def test_a_hub_name_without_a_token_asks_for_one():
    message = _load_error("pyannote/wespeaker-voxceleb-resnet34-LM")
    assert "[speakers] pyannote_token" in message


def test_a_token_that_is_not_a_hugging_face_token_is_refused():
    message = _load_error("pyannote/wespeaker-voxceleb-resnet34-LM", token="not-a-token")
    assert "hf_" in message and "[speakers] pyannote_token" in message


def test_a_hub_model_that_cannot_be_fetched_says_what_to_check():
    # HF_HUB_OFFLINE=1 (conftest): the hub is asked nothing and the download fails at once.
    message = _load_error("pyannote/wespeaker-voxceleb-resnet34-LM", token="hf_" + "x" * 20)
    assert "Hugging Face" in message and "[speakers] pyannote_checkpoint" in message


def test_a_folder_without_the_checkpoint_file_says_which_file(tmp_path):
    message = _load_error(str(tmp_path))
    assert CHECKPOINT_FILE_IN_FOLDER in message and "[speakers] pyannote_checkpoint" in message


def test_a_file_that_is_not_a_checkpoint_is_refused_in_a_sentence(tmp_path):
    bogus = tmp_path / "notes.bin"
    bogus.write_bytes(b"these are not model weights\n" * 10)
    message = _load_error(str(bogus))
    assert "not a pyannote.audio model checkpoint" in message
    assert "[speakers] pyannote_checkpoint" in message


def test_a_model_for_another_sample_rate_is_refused(tmp_path):
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import WeSpeakerResNet34

    model = WeSpeakerResNet34(sample_rate=8000)
    model.specifications = Specifications(
        problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=3.0)
    path = tmp_path / "eight-khz.bin"
    torch.save(_checkpoint_of(model), path)
    assert "8000 Hz" in _load_error(str(path))


def test_without_pyannote_installed_the_sentence_says_how_to_install(saved, monkeypatch):
    path, _ = saved
    monkeypatch.setitem(sys.modules, "pyannote.audio", None)  # makes the import fail
    message = _load_error(str(path))
    assert "pip install 'talks[pyannote]'" in message
    assert "torch 2.9.1" in message and "torchaudio 2.9" in message


class _BrokenLibrary:
    """An import hook that fails the way a torchaudio built for another torch does."""

    def find_spec(self, name, path=None, target=None):
        if name == "pyannote.audio":
            raise OSError("libtorchaudio.so: undefined symbol: some_torch_function")
        return None


def test_a_pyannote_that_does_not_load_says_what_it_needs(saved, monkeypatch):
    path, _ = saved
    monkeypatch.delitem(sys.modules, "pyannote.audio")
    monkeypatch.setattr(sys, "meta_path", [_BrokenLibrary(), *sys.meta_path])
    message = _load_error(str(path))
    assert "does not load" in message and "undefined symbol" in message
    assert "torch 2.9.1" in message and "torchaudio 2.9" in message
