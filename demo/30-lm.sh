#!/usr/bin/env bash
# Language models on the Penn Treebank sample: a Kneser-Ney 5-gram (ARPA) and a tiny LSTM.
set -euo pipefail
out="$DEMO_OUT"
run() { echo "\$ $*" >&2; "$@"; }
ptb=corpora/ptb

# n-gram: train, score sentences (JSONL), corpus perplexity, per-token detail, sampling
run nlpkit lm train $ptb/ptb.train.txt.gz -o "$out/lm-kn5" --order 5 --quiet
printf 'the company said it expects higher earnings\nthe company said it expects higher earning\n' \
  | run nlpkit lm score -m "$out/lm-kn5" --format jsonl
run nlpkit lm score -m "$out/lm-kn5" $ptb/ptb.test.txt.gz --summary > "$out/lm-kn5.scores.tsv"
echo "the stock market" | run nlpkit lm score -m "$out/lm-kn5" --per-token
run nlpkit lm generate -m "$out/lm-kn5" --prompt "the company" --num 2 --top-p 0.9 --seed 1
echo "the apple and pear salad" | run nlpkit lm score -m "$out/lm-kn5" --per-token --format jsonl  # OOVs marked
# the model as ARPA, and any ARPA file (here our own) back into a compact model directory
run nlpkit lm export -m "$out/lm-kn5" -o "$out/lm-kn5.arpa" --quiet
run nlpkit lm import "$out/lm-kn5.arpa" -o "$out/lm-imported" --quiet --quantize 8
# smaller models: entropy pruning, with perplexity before/after
run nlpkit lm prune -m "$out/lm-kn5" --threshold 1e-7 -o "$out/lm-kn5-pruned" --eval $ptb/ptb.valid.txt.gz

# neural: a tiny 1-layer LSTM for 40 seconds; same score schema, same commands
run nlpkit lm train $ptb/ptb.train.txt.gz -o "$out/lm-lstm" --arch lstm --d-model 64 --d-hidden 64 --n-layers 1 \
  --valid $ptb/ptb.valid.txt.gz --max-vocab 5000 --batch-size 32 --lr 0.003 --max-time 40 --eval-every 50 --force --quiet
printf 'the company said it expects higher earnings\n' | run nlpkit lm score -m "$out/lm-lstm" --format jsonl
run nlpkit lm score -m "$out/lm-lstm" $ptb/ptb.test.txt.gz --summary > "$out/lm-lstm.scores.tsv"
run nlpkit lm generate -m "$out/lm-lstm" --prompt "the company" --num 2 --temperature 0.8 --seed 1
# a mix of the two, weights tuned by EM on the validation text
run nlpkit lm interpolate -m "$out/lm-kn5" -m "$out/lm-lstm" --tune $ptb/ptb.valid.txt.gz -o "$out/lm-mix"
run nlpkit lm score -m "$out/lm-mix" $ptb/ptb.test.txt.gz --summary > "$out/lm-mix.scores.tsv"
