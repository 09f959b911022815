"""How a talk's files reach a node, and what a node that lacks something says: without a
cluster (the shipping is plain Python; the node's checks run here as they would there)."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import pytest

from common.errors import Fault
from pipeline.cluster import shipping
from pipeline.cluster.shipping import shared_path, ship, unpack
from pipeline.config.settings import Config, TranscriptionConfig
from pipeline.run.states import Stage

pytestmark = [pytest.mark.cluster]


def test_a_shared_folder_maps_the_longest_match():
    shared = {"/Volumes/Talks": "/mnt/talks", "/Volumes/Talks/inbox": "/srv/inbox"}
    assert shared_path("/Volumes/Talks/2024/a.mp3", shared) == "/mnt/talks/2024/a.mp3"
    assert shared_path("/Volumes/Talks/inbox/b.wav", shared) == "/srv/inbox/b.wav"
    assert shared_path("/Volumes/Talks", shared) == "/mnt/talks"
    assert shared_path("/Volumes/TalksOld/c.mp3", shared) is None  # a folder, not a prefix


def test_a_file_outside_them_travels_in_pieces_and_arrives_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(shipping, "PIECE_BYTES", 1000)
    talk = tmp_path / "here" / "talk.mp3"
    talk.parent.mkdir()
    talk.write_bytes(bytes(range(256)) * 20)  # 5120 bytes: six pieces
    store: dict[int, bytes] = {}

    def put(block: bytes) -> int:
        store[len(store)] = block
        return len(store) - 1

    shipped = ship(talk, {}, put)
    assert shipped.node_path is None and len(shipped.pieces[0][1]) == 6
    arrived = unpack(shipped, tmp_path / "node", store.__getitem__)
    assert arrived.name == "talk.mp3" and arrived.read_bytes() == talk.read_bytes()
    library = tmp_path / "people"
    (library / "Ann").mkdir(parents=True)
    (library / "Ann" / "one.wav").write_bytes(b"ann")
    (library / "Bob_1.wav").write_bytes(b"bob")
    folder = unpack(ship(library, {}, put), tmp_path / "node", store.__getitem__)
    assert (folder / "Ann" / "one.wav").read_bytes() == b"ann"
    assert (folder / "Bob_1.wav").read_bytes() == b"bob"
    mapped = ship(talk, {str(tmp_path / "here"): "/mnt/here"}, put)
    assert mapped.node_path == "/mnt/here/talk.mp3" and not mapped.pieces


def test_a_node_without_ffmpeg_or_the_model_says_so_naming_itself(tmp_path, monkeypatch):
    from pipeline.cluster.node import Errand, Shipment, _check_node

    errand = Errand(Shipment("/x.mp3"), None, {}, str(Path.home()), model="tiny.en")
    config = Config()
    monkeypatch.setenv("PATH", str(tmp_path))  # no ffmpeg on this "node"
    with pytest.raises(Fault, match=f"Ray node {socket.gethostname()} .*has no ffmpeg"):
        _check_node(Stage.TRANSCRIBE, config, errand, f"{socket.gethostname()} (10.0.0.9)")
    monkeypatch.undo()
    missing = dataclasses.replace(errand, model=str(tmp_path / "no-such-model"))
    config = dataclasses.replace(config, transcription=TranscriptionConfig(
        engine="faster-whisper", model_cache=tmp_path / "cache"))
    with pytest.raises(Fault) as caught:
        _check_node(Stage.TRANSCRIBE, config, missing, "mini-2 (10.0.0.9)")
    sentence = str(caught.value)
    assert sentence.startswith("Ray node mini-2 (10.0.0.9) cannot run the transcribe stage:")
    assert "no-such-model" in sentence
