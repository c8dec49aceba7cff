# The README's two commands: `make run` and `make test`. Both set everything up first
# and are idempotent: nothing is reinstalled while pyproject.toml is unchanged.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export GRADIO_ANALYTICS_ENABLED := False
# llama.cpp built with default (native) flags segfaults on the first decode on our
# CI machines; these flags give a portable AVX2 build.
export CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF

.PHONY: install browser ocr ocr-if-on index run test bench bench-quick bench-library bench-postgres eval train-judge lint clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "sourceqa needs Python 3.11 or newer: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "Installing sourceqa into $(VENV) (the first time builds llama-cpp-python: about 6 minutes)"
	$(BIN)/python -m pip install --quiet -e ".[dev,bench,postgres]"
	@# Exports the embedder and the judge to ONNX once (core/onnx.py; cached outside the repo).
	$(BIN)/sourceqa prepare
	touch $@

install: $(STAMP)

# The browser test drives Debian's chromium (Playwright uses it; it downloads no browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser test"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# OCR for scans (the ocr setting, off by default): Debian's Tesseract and poppler-utils
# (pdftoppm renders a scanned PDF's pages), installed like chromium. `make test` always
# installs them (tests/test_ocr.py needs them); run and index when the setting is on.
ocr:
	@command -v tesseract >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1 || { \
	  echo "Installing Debian's tesseract-ocr and poppler-utils for OCR"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq tesseract-ocr poppler-utils >/dev/null; }

ocr-if-on: install
	@if $(BIN)/python -c 'import sys; from core.settings import load_settings; sys.exit(0 if load_settings().ocr else 1)'; \
	  then $(MAKE) --no-print-directory ocr; fi

index: install ocr-if-on
	$(BIN)/sourceqa ingest

# serve updates the index from corpus/ itself (a no-op when unchanged) while the page loads.
run: install ocr-if-on
	$(BIN)/sourceqa serve

test: install browser ocr
	$(BIN)/python -m pytest

# Benchmarks against the llama-index quick start, and scale to 1M chunks (not part of test);
# then the product on a real library of 1k, 10k and 100k chunks (bench-library).
bench: install
	$(BIN)/python -m bench.run
	$(MAKE) bench-library

bench-quick: install
	$(BIN)/python -m bench.run --quick
	$(BIN)/python -m bench.library --quick

# The real library: builds its corpora first (Debian's documentation packages, fetched
# without root, and ../shared/data when present; cached in bench/.cache/library), then
# measures ingest (beside the stock llama-index pipeline's, up to 10k), re-ingest, answers
# and cold start: about 2 hours on 2 cores; REUSE=--reuse-index keeps the indexes of an
# earlier run.
bench-library: install
	$(BIN)/python -m bench.library.corpus
	$(BIN)/python -m bench.library $(REUSE)

# pgvector at 100k and 1M chunks (docs/scaling.md); runs its own PostgreSQL.
bench-postgres: install
	$(BIN)/python -m bench.pgscale --rows 100000 1000000 --out bench/pgscale.json

eval: install
	$(BIN)/sourceqa eval

# Retrain the judge from ../shared/data (DATA=... to point elsewhere): mine every
# question's candidates with our own retriever, train, then calibrate the thresholds on
# the held-out calibration articles (judge_training/; judge/model/README.md says how the
# shipped weights were made). BUDGET (minutes) fits the training into a session on 2 CPU
# cores, MINE (minutes) the mining; BUDGET=0 MINE=0 is the whole data set, one pass (a GPU).
# Training continues from the v1 cross-encoder (INIT; taken from git at JUDGE_V1, the last
# commit that shipped it); INIT= starts from the packaged all-MiniLM-L6-v2 with new heads.
DATA ?= ../shared/data
BUDGET ?= 55
MINE ?= 10
FREEZE ?= 3
REPEAT ?= 2
JUDGE_V1 := b604b8d
V1_FOLDER := .cache/judge-v1
INIT ?= $(V1_FOLDER)

$(V1_FOLDER):
	mkdir -p $@.partial && git archive $(JUDGE_V1) judge/model | tar -x -C $@.partial --strip-components=2
	mv $@.partial $@

train-judge: install $(filter $(V1_FOLDER),$(INIT))
	$(BIN)/python -m judge_training.mine --data $(DATA) --budget $(MINE) --questions-per-document 40
	$(BIN)/python -m judge_training.train --data $(DATA) --budget $(BUDGET) --freeze-layers $(FREEZE) \
		--adversarial-repeat $(REPEAT) --learning-rate 4e-5 $(if $(INIT),--init $(INIT))
	$(BIN)/python -m judge_training.calibrate --data $(DATA)

lint: install
	$(BIN)/ruff check core ingest judge judge_training qa app evals tests bench

clean:
	rm -rf .sourceqa .pytest_cache
