"""Our numpy CAM++ against references: the fbank against kaldi-native-fbank (Kaldi's own
algorithm, in C++), the network against the same architecture built here from torch layers
and loaded with torch.load, on real speech."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from common.media import decode_range
from speakers.backends import campplus
from speakers.backends.torch_checkpoint import CheckpointError, load_arrays
from tests.support.voices import REAL_DIR

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

SAMPLE = REAL_DIR / "pyannote" / "sample.wav"


@pytest.fixture(scope="module")
def weights() -> Path:
    path = campplus.find_weights()
    assert path is not None, ("the CAM++ weights are missing: run scripts/fetch-speaker-model.sh "
                              "(make test does)")
    return path


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    assert SAMPLE.is_file(), "real test speech is missing: run scripts/fetch-test-speech.sh"
    return decode_range(SAMPLE, 3.0, 24.0)


# --- a torch reference of the architecture (3D-Speaker's CAM++, written out again) ----------

class Nonlinear(nn.Module):
    """Holds the norm under the name `batchnorm`, as 3D-Speaker's state dict has it."""

    def __init__(self, channels: int, affine: bool = True, activation: bool = True):
        super().__init__()
        self.batchnorm = nn.BatchNorm1d(channels, affine=affine)
        self.activation = activation

    def forward(self, x):
        x = self.batchnorm(x)
        return F.relu(x) if self.activation else x


class ResBlock(nn.Module):
    def __init__(self, channels: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, (stride, 1), 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.shortcut = nn.Sequential()
        if stride != 1:
            self.shortcut = nn.Sequential(nn.Conv2d(channels, channels, 1, (stride, 1),
                                                    bias=False), nn.BatchNorm2d(channels))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.layer1 = nn.Sequential(ResBlock(32, 2), ResBlock(32, 1))
        self.layer2 = nn.Sequential(ResBlock(32, 2), ResBlock(32, 1))
        self.conv2 = nn.Conv2d(32, 32, 3, (2, 1), 1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x.unsqueeze(1))))
        x = F.relu(self.bn2(self.conv2(self.layer2(self.layer1(x)))))
        return x.reshape(x.shape[0], -1, x.shape[-1])


class Cam(nn.Module):
    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.linear_local = nn.Conv1d(channels, 32, 3, padding=dilation, dilation=dilation,
                                      bias=False)
        self.linear1 = nn.Conv1d(channels, channels // 2, 1)
        self.linear2 = nn.Conv1d(channels // 2, 32, 1)

    def forward(self, x):
        y = self.linear_local(x)
        segments = F.avg_pool1d(x, 100, 100, ceil_mode=True)
        expanded = segments.repeat_interleave(100, dim=-1)[..., :x.shape[-1]]
        context = x.mean(-1, keepdim=True) + expanded
        return y * torch.sigmoid(self.linear2(F.relu(self.linear1(context))))


class DenseLayer(nn.Module):
    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.nonlinear1 = Nonlinear(channels)
        self.linear1 = nn.Conv1d(channels, 128, 1, bias=False)
        self.nonlinear2 = Nonlinear(128)
        self.cam_layer = Cam(128, dilation)

    def forward(self, x):
        return self.cam_layer(self.nonlinear2(self.linear1(self.nonlinear1(x))))


class Transit(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.nonlinear = Nonlinear(channels)
        self.linear = nn.Conv1d(channels, channels // 2, 1, bias=False)

    def forward(self, x):
        return self.linear(self.nonlinear(x))


class TorchCAMPPlus(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = Head()
        self.xvector = nn.Module()
        self.xvector.tdnn = nn.Module()
        self.xvector.tdnn.linear = nn.Conv1d(320, 128, 5, stride=2, padding=2, bias=False)
        self.xvector.tdnn.nonlinear = Nonlinear(128)
        channels = 128
        self.blocks = []
        for b, (layers, dilation) in enumerate(((12, 1), (24, 2), (16, 2)), start=1):
            block = nn.Module()
            for i in range(layers):
                block.add_module(f"tdnnd{i + 1}", DenseLayer(channels + 32 * i, dilation))
            self.xvector.add_module(f"block{b}", block)
            channels += 32 * layers
            self.xvector.add_module(f"transit{b}", Transit(channels))
            channels //= 2
            self.blocks.append((block, getattr(self.xvector, f"transit{b}")))
        self.xvector.out_nonlinear = Nonlinear(channels)
        self.xvector.dense = nn.Module()
        self.xvector.dense.linear = nn.Conv1d(channels * 2, 192, 1, bias=False)
        self.xvector.dense.nonlinear = Nonlinear(192, affine=False, activation=False)

    def forward(self, feats):  # batch × time × mels
        x = self.head(feats.permute(0, 2, 1))
        x = self.xvector.tdnn.nonlinear(self.xvector.tdnn.linear(x))
        for block, transit in self.blocks:
            for layer in block.children():
                x = torch.cat([x, layer(x)], dim=1)
            x = transit(x)
        x = self.xvector.out_nonlinear(x)
        stats = torch.cat([x.mean(-1), x.std(-1, unbiased=True)], dim=-1)
        return self.xvector.dense.nonlinear(self.xvector.dense.linear(stats.unsqueeze(-1))
                                            .squeeze(-1))


@pytest.fixture(scope="module")
def reference(weights: Path) -> TorchCAMPPlus:
    torch.set_num_threads(1)
    model = TorchCAMPPlus()
    state = torch.load(weights, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)  # every tensor of the file has its place
    return model.eval()


@pytest.fixture(scope="module")
def ours(weights: Path) -> campplus.CAMPPlus:
    return campplus.load_model(weights)


# --- tests ---------------------------------------------------------------------------------

def test_fbank_matches_kaldi(speech: np.ndarray) -> None:
    knf = pytest.importorskip("kaldi_native_fbank")
    options = knf.FbankOptions()
    options.frame_opts.dither = 0.0
    options.mel_opts.num_bins = campplus.N_MELS
    for audio in (speech, speech[:12_345], speech[: campplus.FRAME]):
        online = knf.OnlineFbank(options)
        online.accept_waveform(campplus.RATE, audio.tolist())
        online.input_finished()
        expected = np.stack([online.get_frame(i) for i in range(online.num_frames_ready)])
        got = campplus.fbank(audio)
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() < 2e-3  # log energies of up to ~20
    assert campplus.fbank(speech[: campplus.FRAME - 1]).shape == (0, campplus.N_MELS)


def test_checkpoint_reader_matches_torch_load(weights: Path) -> None:
    ours = load_arrays(weights)
    theirs = torch.load(weights, map_location="cpu", weights_only=True)
    assert sorted(ours) == sorted(theirs)
    for name, tensor in theirs.items():
        assert ours[name].shape == tuple(tensor.shape), name
        assert np.array_equal(ours[name], tensor.numpy()), name


@pytest.mark.parametrize("seconds", [0.3, 1.0, 4.0, 21.0])
@pytest.mark.models
def test_embedding_matches_torch(speech, ours, reference, seconds: float) -> None:
    audio = speech[: int(seconds * campplus.RATE)]
    got = campplus.embed(ours, audio)
    padded = audio if len(audio) >= 8_240 else np.resize(audio, 8_240)
    feats = torch.from_numpy(campplus.features(padded))[None]
    with torch.inference_mode():
        expected = reference(feats)[0].numpy()
    cosine = float(np.dot(got, expected) / np.linalg.norm(got) / np.linalg.norm(expected))
    assert cosine > 0.99999, cosine
    assert np.abs(got - expected).max() < 1e-3 * np.abs(expected).max()


@pytest.mark.models
def test_long_audio_in_blocks_equals_one_pass(speech, ours) -> None:
    feats = campplus.features(speech)  # 24 s: more frames than one block of the front
    assert feats.shape[0] > campplus.HEAD_BLOCK + 2 * campplus.HEAD_REACH
    whole = ours._head_block(np.ascontiguousarray(feats.T))
    assert np.allclose(ours.head(feats), whole, atol=1e-4)


def test_segment_means_average_what_each_segment_has() -> None:
    x = np.arange(2 * 250, dtype=np.float32).reshape(2, 250)
    means = campplus.segment_means(x)
    assert means.shape == (2, 3)
    assert np.allclose(means[0], [x[0, :100].mean(), x[0, 100:200].mean(), x[0, 200:].mean()])


def test_zip_checkpoint_reader_refuses_other_objects(tmp_path: Path) -> None:
    class Payload:
        def __reduce__(self):  # what a hostile checkpoint would hide: a call at load time
            return (print, ("this must not run",))

    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("evil/data.pkl", pickle.dumps({"w": Payload()}, protocol=2))
    with pytest.raises(CheckpointError, match="print"):
        load_arrays(path)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("readme.txt", "not a checkpoint")
    with pytest.raises(CheckpointError, match="not a torch checkpoint"):
        load_arrays(other)


def test_missing_or_damaged_weights_say_what_to_do(tmp_path: Path) -> None:
    from speakers.embedding import EmbedderSettings, EmbedderUnavailable, create_embedder

    missing = create_embedder(EmbedderSettings("campplus", weights=str(tmp_path / "no.pt")))
    with pytest.raises(EmbedderUnavailable, match="run `make run` again.*campplus_weights"):
        missing.load()
    damaged = tmp_path / campplus.WEIGHTS_FILE
    damaged.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(EmbedderUnavailable, match="is not a usable CAM\\+\\+ model"):
        create_embedder(EmbedderSettings("campplus", weights=str(tmp_path))).load()
