"""What a filed talk's transcripts are made of, read back from the ledger."""

from __future__ import annotations

from pipeline.asr import pick_engine_name
from pipeline.asr.base import Segment
from pipeline.asr.language import is_language_code
from pipeline.asr.models import model_for
from pipeline.config.settings import Config
from pipeline.filing.cues import repair
from pipeline.ledger import FileRow, Ledger
from pipeline.run.logs import get_logger


def talk_segments(ledger: Ledger, row: FileRow) -> list[Segment]:
    """The talk's cues, in order, inside the recording and valid for every format (each chunk
    was repaired when it was transcribed; this holds the whole talk to the same rules)."""
    segments = [Segment(s["start"], s["end"], s["text"])
                for c in ledger.chunks(row.id) for s in c.segments]
    repaired = repair(segments, row.duration)
    for note in repaired.notes:
        get_logger().warning("%s: %s", row.name, note)
    return repaired.segments


def talk_meta(config: Config, ledger: Ledger, row: FileRow) -> dict:
    """The header of the JSON transcript: where the talk came from and how it was made. Its
    language is the talk's own (a talk transcribed before talks kept one: the setting's,
    when that named one), and its model the one that language was given."""
    t = config.transcription
    language = row.language or (t.language if is_language_code(t.language) else None)
    return {"source": row.name, "title": row.title, "summary": row.summary,
            "speaker": row.speaker, "year": row.year,
            "duration": row.duration, "engine": pick_engine_name(t.engine),
            "model": model_for(t.model, language) if language else t.model,
            "language": language, "language_probability": row.language_probability,
            "language_source": row.language_source, "speaker_evidence": row.speaker_evidence,
            "chunks": [{"start": c.start, "end": c.end} for c in ledger.chunks(row.id)]}
