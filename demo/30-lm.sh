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
# any ARPA file (here our own) becomes a model directory
run nlpkit lm import "$out/lm-kn5/model.arpa" -o "$out/lm-imported" --quiet

# neural: a tiny 1-layer LSTM for 40 seconds; same score schema, same commands
run nlpkit lm train $ptb/ptb.train.txt.gz -o "$out/lm-lstm" --arch lstm --d-model 64 --d-hidden 64 --n-layers 1 \
  --valid $ptb/ptb.valid.txt.gz --max-vocab 5000 --batch-size 32 --lr 0.003 --max-time 40 --eval-every 50 --force --quiet
printf 'the company said it expects higher earnings\n' | run nlpkit lm score -m "$out/lm-lstm" --format jsonl
run nlpkit lm score -m "$out/lm-lstm" $ptb/ptb.test.txt.gz --summary > "$out/lm-lstm.scores.tsv"
run nlpkit lm generate -m "$out/lm-lstm" --prompt "the company" --num 2 --temperature 0.8 --seed 1
