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

.PHONY: run test bench lint tools tools-test clean-output

run: $(VENV)/.run-installed
	$(BIN)/talks --batch
	@echo
	@echo "Filed talks and transcripts (output/):"
	@find output/talks output/transcripts -type f 2>/dev/null | sort | sed 's/^/  /'

test: $(VENV)/.dev-installed tools-test
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

bench: $(VENV)/.dev-installed tools-test
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.run

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .

tools:
	@scripts/ensure-tools.sh ffmpeg

tools-test: tools
	@scripts/ensure-tools.sh espeak-ng flite sox

$(VENV)/bin/pip:
	$(PYTHON) -m venv $(VENV)

# resemblyzer goes in without its dependencies: they are in pyproject.toml, but with
# webrtcvad-wheels in place of webrtcvad, which no longer builds from source.
RESEMBLYZER := $(BIN)/pip install -q --no-deps resemblyzer==0.1.4

$(VENV)/.run-installed: pyproject.toml | $(VENV)/bin/pip tools
	$(TORCH_FIRST)
	$(BIN)/pip install -q -e .
	$(RESEMBLYZER)
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(VENV)/bin/pip tools
	$(TORCH_FIRST)
	$(BIN)/pip install -q -e '.[dev]'
	$(RESEMBLYZER)
	touch $@ $(VENV)/.run-installed

clean-output:
	rm -rf output
