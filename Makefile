# Two commands do all set-up on a fresh machine:  make bench  and  make test
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): requirements.txt pyproject.toml scripts/install_wordnet.sh
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0          # first: the CPU build on disk, never a CUDA pull
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	scripts/install_wordnet.sh $(VENV)/nltk_data   # WordNet glosses for ImageNet-21k concepts (nltk finds it there)
	touch $(STAMP)

setup: $(STAMP)

# The main job on the embedded default (synthetic features), every fold of the protocol. It runs
# for real into .bench/ (a rerun resumes there); the committed results/ and reports/ stay as they are.
bench: $(STAMP)
	$(BIN)/python run_bench.py --methods er,w2v --datasets hmdb51 --records .bench/records.jsonl --reports-dir .bench/reports

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Speed figures (pytest-benchmark), not part of the test run.
benchmark: $(STAMP)
	$(BIN)/python -m pytest -q benchmarks --benchmark-enable --benchmark-only

# Mutation score of the number-changing modules (mutmut; about 30-45 min on 2 cores): writes docs/mutation.md.
mutation: $(STAMP)
	$(BIN)/pip install -q mutmut==3.8.1
	$(BIN)/python scripts/mutation_score.py

.PHONY: setup bench test benchmark mutation
