"""The int8 copy of a float16 CTranslate2 Whisper folder (asr/ct2_int8.py), made from the
tiny.en that installs with talks: what it holds, that it transcribes word for word as the
float16 weights do, that it is made once, and that a copy left by an earlier install goes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from common.media import decode_range
from pipeline.asr.ct2_int8 import int8_folder, is_quantized_weight
from pipeline.asr.ct2_to_mlx import Ct2Model
from pipeline.asr.models import note_source, resolve_ct2_model, retire_older_copies
from tests.support.speech import TALKS, make_talk

pytestmark = [pytest.mark.models]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(resolve_ct2_model("tiny.en", tmp_path_factory.mktemp("unused"), False))


@pytest.fixture(scope="module")
def copy(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return int8_folder(tiny, tmp_path_factory.mktemp("cache"))


def test_the_weights_are_int8_with_a_scale_a_row_and_the_rest_as_stored(tiny: Path,
                                                                       copy: Path) -> None:
    with Ct2Model(tiny / "model.bin") as before, Ct2Model(copy / "model.bin") as after:
        quantized = [n for n in before.tensors if is_quantized_weight(n)]
        # 4 encoder layers × 4 linears, 4 decoder layers × 7, and the token embeddings
        assert len(quantized) == 4 * 4 + 4 * 7 + 1
        assert after.spec == before.spec and after.aliases == before.aliases
        assert set(after.tensors) == set(before.tensors) | {f"{n}_scale" for n in quantized}
        for name, tensor in before.tensors.items():
            made = after.tensors[name]
            assert made.shape == tensor.shape
            if name in quantized:
                assert made.type_id == 1 and after.tensors[f"{name}_scale"].shape == (
                    tensor.shape[0],)
                # Dequantized, each weight is within half a step of its row's scale.
                original = before.read_float32(name)
                back = after.read_float32(name)
                step = 1.0 / after.read_stored(f"{name}_scale")
                assert np.all(np.abs(original - back) <= step[:, None] / 2 + 1e-6)
            else:
                assert made.type_id == tensor.type_id
                assert np.array_equal(after.read_stored(name), before.read_stored(name))
    assert (copy / "model.bin").stat().st_size < 0.6 * (tiny / "model.bin").stat().st_size
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert (copy / name).read_bytes() == (tiny / name).read_bytes()


def test_it_transcribes_word_for_word_as_the_float16_weights(tiny: Path, copy: Path,
                                                             tmp_path: Path) -> None:
    from faster_whisper import WhisperModel

    clip = tmp_path / "bees.wav"
    make_talk(clip, TALKS["bees"][:3], pause_s=0.6)
    audio = decode_range(clip, 0.0, 30.0)

    def heard(folder: Path) -> list[str]:
        model = WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=1)
        segments, _info = model.transcribe(audio, beam_size=1, temperature=0.0,
                                           language="en", vad_filter=False)
        return [s.text for s in segments]

    words = heard(tiny)
    assert "bees" in " ".join(words).lower()
    assert heard(copy) == words


def test_it_is_made_once_and_an_older_install_s_copy_is_retired(tiny: Path,
                                                                tmp_path: Path) -> None:
    installed = tmp_path / "site-packages" / "model"
    shutil.copytree(tiny, installed)
    cache = tmp_path / "cache"
    first = int8_folder(installed, cache)
    written = (first / "model.bin").stat().st_mtime_ns
    assert int8_folder(installed, cache) == first
    assert (first / "model.bin").stat().st_mtime_ns == written
    # A new install of the same package gives its files new times: a new copy, the old gone.
    later = (first / "model.bin").stat().st_mtime + 10
    os.utime(installed / "config.json", (later, later))
    second = int8_folder(installed, cache)
    assert second != first and (second / "model.bin").is_file()
    assert not first.exists()
    assert [p.name for p in cache.iterdir()] == [second.name]


def test_a_folder_already_int8_is_used_as_it_is(copy: Path, tmp_path: Path) -> None:
    assert int8_folder(copy, tmp_path / "cache") == copy.resolve()
    assert not (tmp_path / "cache").exists()


def test_a_cache_it_cannot_write_to_costs_only_the_saving(tiny: Path, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root writes through permissions: a file where the cache folder should be stops it
        blocked = tmp_path / "cache"
        blocked.write_text("not a folder")
    else:
        blocked = tmp_path / "read-only"
        blocked.mkdir()
        blocked.chmod(0o500)
    assert int8_folder(tiny, blocked) == tiny


def test_only_older_copies_of_the_same_kind_and_source_are_retired(tmp_path: Path) -> None:
    source, elsewhere = tmp_path / "tiny", tmp_path / "other-model"
    source.mkdir()
    elsewhere.mkdir()
    cache = tmp_path / "cache"

    def made(name: str, made_from: Path | None) -> Path:
        folder = cache / name
        folder.mkdir(parents=True)
        if made_from is not None:
            note_source(folder, made_from)
        return folder

    old = made("mlx-1111", source)
    other_kind = made("mlx-1111-f16", source)
    other_source = made("mlx-2222", elsewhere)
    gone_source = made("mlx-3333", tmp_path / "uninstalled")
    unnoted = made("mlx-4444", None)  # made before copies kept a note: left alone
    new = made("mlx-5555", source)
    retire_older_copies(cache, "mlx-*", source, keep=new)
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        p.name for p in (other_kind, other_source, unnoted, new))
    assert not old.exists() and not gone_source.exists()
