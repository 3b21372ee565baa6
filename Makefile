# `make demo` and `make test` do all the set-up on a fresh machine: they create .venv, install
# torch's CPU build first (so pip does not pull a multi-GB CUDA build), then nlpkit itself.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.13.0

.PHONY: setup demo test test-all bench-tokenize bench corpora-full corpora clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

demo: setup
	PATH="$(abspath $(BIN)):$$PATH" bash demo/run.sh

test: setup
	$(BIN)/python -m pytest -q

# Full-size corpora for benchmarks (not shipped): Debian packages + gensim test data, about 2 minutes.
corpora-full:
	bash ../shared/data/get_corpora.sh data/full

# Rebuild the shipped samples in corpora/ from ../shared/data and data/full.
corpora: corpora-full
	$(PYTHON) scripts/make_corpora.py ../shared/data data/full

bench-tokenize: setup
	$(BIN)/python bench/tokenize_speed.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache
