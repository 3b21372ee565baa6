#!/usr/bin/env bash
# BERT: a tiny masked-LM + next-sentence pre-training on the King James Bible (40 s of CPU at most),
# then fill-mask, sentence vectors and a HuggingFace export.
set -euo pipefail
out="$DEMO_OUT"
run() { echo "\$ $*" >&2; "$@"; }

run nlpkit bert pretrain corpora/en_prose/kjv.txt.gz -o "$out/bert" --tokenizer corpora/bert_vocab/vocab.txt \
  --documents lines --hidden 64 --layers 2 --heads 2 --intermediate 256 --max-seq-len 64 --batch-size 32 \
  --lr 2e-3 --warmup 20 --steps 400 --max-time 40s --log-every 20 --metrics "$out/bert-metrics.jsonl" --quiet
tail -n 1 "$out/bert-metrics.jsonl" >&2
run nlpkit bert fill-mask -m "$out/bert" "and god said , let there be [MASK] ." --topk 5
echo "in the beginning god created the heaven and the [MASK] ." | run nlpkit bert fill-mask -m "$out/bert" -f jsonl --topk 3
printf 'the lord is my shepherd\nand the earth was without form\n' \
  | run nlpkit bert embed -m "$out/bert" --pool mean -f npy -o "$out/bert-vectors.npy"
run nlpkit bert export -m "$out/bert" --format hf -o "$out/bert-hf"
ls "$out/bert-hf" >&2
