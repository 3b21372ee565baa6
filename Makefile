# `make demo` and `make test` do all the set-up on a fresh machine: they create .venv, install
# torch's CPU build first (so pip does not pull a multi-GB CUDA build), then nlpkit itself.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.13.0

.PHONY: setup demo test bench-tokenize bench-embed bench-lm bench-translate bench-bert bench-tag corpora-full corpora clean

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

# Benchmarks print ratios against the peer tool named in each issue; run by hand (not in CI).
bench-tokenize: setup
	$(BIN)/python bench/tokenize_speed.py

bench-embed: setup corpora-full
	$(BIN)/python -m pip install -q -r bench/requirements-embed.txt
	$(BIN)/python bench/embed.py --corpus data/full/debian_prose/corpus.txt --epochs 5 --threads 2

bench-lm: setup corpora-full
	$(BIN)/python -m pip install -q -r bench/requirements-lm.txt
	$(BIN)/python bench/lm.py

bench-translate: setup
	$(BIN)/python bench/translate.py split --data ../shared/data/tatoeba_deu_eng/deu.txt.gz --out bench/out/translate
	for arch in rnn rnn-attn transformer; do \
	  $(BIN)/python bench/translate.py train --out bench/out/translate --arch $$arch --max-time 1200 && \
	  $(BIN)/python bench/translate.py eval --out bench/out/translate --arch $$arch --beams 1,5; done
	$(BIN)/python bench/translate.py report --out bench/out/translate

bench-bert: setup
	$(BIN)/python -m pip install -q -r bench/requirements-bert.txt
	$(BIN)/python bench/bert.py

# One model at a time, 20 minutes of training each (about 3 hours in all).
bench-tag: setup corpora-full
	$(BIN)/python bench/tag.py split --out bench/out/tag --shared ../shared/data
	$(BIN)/python bench/tag.py vectors --out bench/out/tag
	$(BIN)/python bench/tag.py run --out bench/out/tag --shared ../shared/data --max-time 20m
	$(BIN)/python bench/tag.py report --out bench/out/tag

clean:
	rm -rf $(VENV) demo-out .pytest_cache
