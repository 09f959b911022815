"""faster-whisper (CTranslate2): the default engine off Apple silicon."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np

from pipeline.asr.base import SAMPLE_RATE, EngineSettings, Segment


class FasterWhisperEngine:
    name = "faster-whisper"

    def __init__(self, settings: EngineSettings, cache_dir: Path | None = None):
        self.settings = settings  # cache_dir unused: CT2 weights are used where they lie
        self._model = None

    def load(self) -> None:
        if self._model is not None:
            return
        from faster_whisper import WhisperModel  # heavy: imported only in the worker process

        self._model = WhisperModel(
            self.settings.model_dir,
            device="cpu",
            compute_type=self.settings.compute_type,
            cpu_threads=self.settings.threads,
            local_files_only=True,
        )
        # The VAD and the log-mel features a slice at a time: the same results, without a
        # transient that grows with the length of the chunk (see lean_frontend).
        from pipeline.asr.lean_frontend import install

        install(self._model)

    def transcribe(self, pcm: np.ndarray, offset: float) -> list[Segment]:
        self.load()
        assert self._model is not None
        from faster_whisper.vad import SpeechTimestampsMap, VadOptions

        from pipeline.asr.lean_frontend import speech_only

        # The Silero VAD that ships inside faster-whisper: silence never reaches the decoder.
        # It runs here rather than through vad_filter=True so that the speech is gathered
        # into one array made once (see lean_frontend.speech_only); the times are mapped
        # back exactly as faster-whisper maps them.
        speech, stretches = speech_only(pcm, VadOptions(min_silence_duration_ms=700))
        del pcm  # the caller kept no reference: the chunk's samples go now, before decoding
        if not stretches:
            return []
        segments, _info = self._model.transcribe(
            speech,
            language=self.settings.language,
            beam_size=self.settings.beam_size,
            # When a window fails the log-probability or compression checks it is decoded
            # again at a higher temperature with `best_of` samples side by side; faster-whisper's
            # 5 cost the worker ~50 MB more at those moments than 1 (measured on a 120-min talk).
            best_of=self.settings.best_of,
            # Conditioning on earlier text is what lets one hallucination feed the next.
            condition_on_previous_text=False,
            vad_filter=False,
        )
        del speech  # the features are made; the windows are decoded from them alone
        times = SpeechTimestampsMap(stretches, SAMPLE_RATE)
        found = []
        for s in segments:
            text = s.text.strip()
            if text:
                found.append(Segment(offset + times.get_original_time(s.start),
                                     offset + times.get_original_time(s.end, is_end=True),
                                     text))
        return found

    def unload(self) -> None:
        self._model = None
        gc.collect()
