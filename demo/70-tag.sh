#!/usr/bin/env bash
# Chunking: a small BiLSTM-CRF with character features on 3,000 CoNLL-2000 sentences (25 s of
# training at most), scored on 500 held-out sentences as conlleval scores, then two new sentences.
set -euo pipefail
out="$DEMO_OUT"
run() { echo "\$ $*" >&2; "$@"; }
data=corpora/conll2000

run nlpkit tag train "$data/conll2000.train.txt.gz" -o "$out/chunker" --char-dim 16 --d-model 50 --d-hidden 64 \
  --batch-size 16 --lr 5e-3 --epochs 4 --max-time 25s --valid-fraction 0.1 --threads 1 --force --quiet
run nlpkit tag eval -m "$out/chunker" "$data/conll2000.test.txt.gz"
printf '%s\n' "The quick brown fox jumped over the lazy dog ." "Investors sold shares of the big bank on Friday ." \
  | run nlpkit tag -m "$out/chunker" --format spans --tokenize
