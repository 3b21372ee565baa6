#!/usr/bin/env bash
# Sentiment classification: averaged embeddings vs a bidirectional LSTM on 1,500 IMDB reviews.
set -euo pipefail
out="$DEMO_OUT"
run() { echo "\$ $*" >&2; "$@"; }
data=corpora/sentiment

run nlpkit classify train "$data/imdb.train.tsv.gz" -o "$out/classify-avg" --arch avg \
  --valid-fraction 0.1 --epochs 8 --patience 2 --threads 1 --force --quiet
run nlpkit classify train "$data/imdb.train.tsv.gz" -o "$out/classify-bilstm" --arch bilstm \
  --d-model 64 --d-hidden 32 --max-len 150 --lr 5e-3 --batch-size 16 --valid-fraction 0.1 --epochs 6 --threads 1 --force --quiet
run nlpkit classify eval -m "$out/classify-avg" "$data/imdb.test.tsv.gz"
run nlpkit classify eval -m "$out/classify-bilstm" "$data/imdb.test.tsv.gz" --format json
# Word order: avg gives both sentences the same scores (same bag of words); bilstm can tell them apart.
printf '%s\n' "The acting was good but the plot was awful." "The plot was awful but the acting was good." \
  "completely lacking in good taste, good service, and good ambience" > "$out/classify-order.txt"
run nlpkit classify -m "$out/classify-avg" -f jsonl "$out/classify-order.txt"
run nlpkit classify -m "$out/classify-bilstm" -f jsonl "$out/classify-order.txt"
# The first three test reviews (TSV lines: the text column is used); awk reads to the end, so no SIGPIPE under pipefail.
gzip -dc "$data/imdb.test.tsv.gz" | awk 'NR <= 3' | run nlpkit classify -m "$out/classify-avg" -f tsv
