#!/usr/bin/env bash
# Sentiment classification on the sentence-polarity set (10,662 one-sentence movie-review snippets):
# averaged embeddings against a bidirectional LSTM, both at their default settings.
set -euo pipefail
out="$DEMO_OUT"
run() { echo "\$ $*" >&2; "$@"; }
data=corpora/sentence_polarity

run nlpkit classify train "$data/polarity.train.tsv.gz" -o "$out/classify-avg" --arch avg \
  --valid "$data/polarity.valid.tsv.gz" --force --quiet
run nlpkit classify train "$data/polarity.train.tsv.gz" -o "$out/classify-bilstm" --arch bilstm \
  --valid "$data/polarity.valid.tsv.gz" --max-time 100s --force --quiet
run nlpkit classify eval -m "$out/classify-avg" "$data/polarity.test.tsv.gz"
run nlpkit classify eval -m "$out/classify-bilstm" "$data/polarity.test.tsv.gz" --format json
# Word order: avg gives a text and any reordering of it the same scores (same bag of words); the
# BiLSTM reads "lacking" and "not" in context.
printf '%s\n' "The acting was good but the plot was awful." "The plot was awful but the acting was good." \
  "completely lacking in good taste, good service, and good ambience" "not good" > "$out/classify-order.txt"
run nlpkit classify -m "$out/classify-avg" -f jsonl "$out/classify-order.txt"
run nlpkit classify -m "$out/classify-bilstm" -f jsonl "$out/classify-order.txt"
# The first three test sentences (TSV lines: the text column is used); awk reads to the end, so no SIGPIPE under pipefail.
gzip -dc "$data/polarity.test.tsv.gz" | awk 'NR <= 3' | run nlpkit classify -m "$out/classify-bilstm" -f tsv
