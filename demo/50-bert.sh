#!/usr/bin/env bash
# BERT: a tiny masked-LM pre-training on the King James Bible (one verse per line is one document;
# 2.5 minutes at most, trained once: a finished $DEMO_OUT/bert is reused, delete it to retrain), then
# fill-mask, sentence vectors and a HuggingFace export. A tiny encoder answers only "," and "the"
# for its first few hundred steps (measured), so it trains longer than the other demos.
set -euo pipefail
out="$DEMO_OUT"
run() { echo "\$ $*" >&2; "$@"; }

# The 8,000-piece vocabulary of demo/10-tokenize.sh when it has run, else BERT's own 30,522.
tok="$out/wordpiece"
[ -f "$tok/tokenizer.json" ] || tok=corpora/bert_vocab/vocab.txt
trained() { [ -f "$1/config.json" ] && [ ! -f "$1/checkpoint.pt" ]; }
if trained "$out/bert"; then
  echo "(reusing $out/bert)" >&2
else
  rm -f "$out/bert-metrics.jsonl"
  run nlpkit bert pretrain corpora/en_prose/kjv.txt.gz -o "$out/bert" --tokenizer "$tok" \
    --documents lines --no-nsp --d-model 128 --n-layers 2 --n-heads 2 --d-ff 512 --max-seq-len 48 --batch-size 64 \
    --lr 2e-3 --warmup 50 --steps 2500 --max-time 150s --shuffle-buffer 5000 --log-every 50 \
    --metrics "$out/bert-metrics.jsonl" --force --quiet
fi
[ ! -f "$out/bert-metrics.jsonl" ] || tail -n 1 "$out/bert-metrics.jsonl" >&2
run nlpkit bert fill-mask -m "$out/bert" "and god said , let there be [MASK] ." --topk 5
echo "in the beginning god created the heaven and the [MASK] ." | run nlpkit bert fill-mask -m "$out/bert" -f jsonl --topk 3
printf 'the lord is my shepherd\nand the earth was without form\n' \
  | run nlpkit bert embed -m "$out/bert" --pool mean -f npy -o "$out/bert-vectors.npy"
run nlpkit bert export -m "$out/bert" --format hf -o "$out/bert-hf"
ls "$out/bert-hf" >&2
