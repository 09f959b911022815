from pipeline.lazy_pyav import defer_pyav

defer_pyav()  # before anything here imports faster-whisper (see lazy_pyav)
