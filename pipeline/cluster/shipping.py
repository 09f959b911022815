"""How a file or folder of this machine reaches a node: by the path a shared folder has there
([cluster] shared_paths), or else as its bytes in Ray's object store, in pieces, so that
neither this machine's process nor the node's ever holds a whole long recording at once.
No node ever needs the archive's disk. Plain Python: the object references are the driver's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PIECE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Shipment:
    """One file (or a folder's files) on its way to a node."""

    head_path: str
    node_path: str | None = None  # where a shared folder shows it to the nodes
    # Otherwise its bytes: (path inside the folder, or "" for a file; references of pieces)
    pieces: tuple[tuple[str, tuple[Any, ...]], ...] = ()


def shared_path(path: Path | str, shared: dict[str, str]) -> str | None:
    """Where the nodes see `path`, when a shared folder holds it (the longest match wins);
    the node's side is left as written ("~" is the node's home)."""
    here = Path(os.path.expanduser(str(path)))
    best: tuple[int, str] | None = None
    for head_side, node_side in shared.items():
        root = Path(os.path.expanduser(head_side))
        if here == root or root in here.parents:
            depth = len(root.parts)
            if best is None or depth > best[0]:
                rest = here.relative_to(root)
                best = (depth, str(Path(node_side) / rest) if rest.parts else node_side)
    return best[1] if best else None


def pieces_of(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while block := f.read(PIECE_BYTES):
            yield block


def ship(path: Path, shared: dict[str, str], put: Callable[[bytes], Any]) -> Shipment:
    """A file or a folder (its files, recursively) for a node: mapped, or put in pieces."""
    mapped = shared_path(path, shared)
    if mapped is not None:
        return Shipment(str(path), node_path=mapped)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        return Shipment(str(path), pieces=tuple(
            (str(f.relative_to(path)), tuple(put(b) for b in pieces_of(f))) for f in files))
    return Shipment(str(path), pieces=(("", tuple(put(b) for b in pieces_of(path))),))


def unpack(shipment: Shipment, into: Path, get: Callable[[Any], bytes]) -> Path:
    """On the node: the shipment's bytes written under `into` (a file keeps its name: events
    and the log name a talk by it). Returns the local path."""
    here = Path(shipment.head_path)
    if len(shipment.pieces) == 1 and shipment.pieces[0][0] == "":
        target = into / here.name
        _write(target, shipment.pieces[0][1], get)
        return target
    folder = into / here.name
    folder.mkdir(parents=True, exist_ok=True)
    for inner, refs in shipment.pieces:
        _write(folder / inner, refs, get)
    return folder


def _write(target: Path, refs: tuple[Any, ...], get: Callable[[Any], bytes]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as f:
        for ref in refs:  # one piece in memory at a time
            f.write(get(ref))
