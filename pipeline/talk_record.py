"""What a filed talk's transcripts are made of, read back from the ledger."""

from __future__ import annotations

from pipeline.asr import pick_engine_name
from pipeline.asr.base import Segment
from pipeline.config import Config
from pipeline.ledger import FileRow, Ledger


def talk_segments(ledger: Ledger, file_id: int) -> list[Segment]:
    return [Segment(s["start"], s["end"], s["text"])
            for c in ledger.chunks(file_id) for s in c.segments]


def talk_meta(config: Config, ledger: Ledger, row: FileRow) -> dict:
    """The header of the JSON transcript: where the talk came from and how it was made."""
    t = config.transcription
    return {"source": row.name, "title": row.title, "speaker": row.speaker, "year": row.year,
            "duration": row.duration, "engine": pick_engine_name(t.engine), "model": t.model,
            "language": t.language, "speaker_evidence": row.speaker_evidence,
            "chunks": [{"start": c.start, "end": c.end} for c in ledger.chunks(row.id)]}
