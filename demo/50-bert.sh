#!/usr/bin/env bash
# BERT: a tiny masked-LM + next-sentence pre-training on the King James Bible (40 s of training at
# most; one verse per line is one document), then fill-mask, sentence vectors and a HuggingFace export.
set -euo pipefail
out="$DEMO_OUT"
run() { echo "\$ $*" >&2; "$@"; }

# The 8,000-piece vocabulary of demo/10-tokenize.sh when it has run, else BERT's own 30,522.
rm -f "$out/bert-metrics.jsonl"
tok="$out/wordpiece"
[ -f "$tok/tokenizer.json" ] || tok=corpora/bert_vocab/vocab.txt
run nlpkit bert pretrain corpora/en_prose/kjv.txt.gz -o "$out/bert" --tokenizer "$tok" \
  --documents lines --d-model 64 --n-layers 2 --n-heads 2 --d-ff 256 --max-seq-len 64 --batch-size 32 \
  --lr 2e-3 --warmup 20 --steps 400 --max-time 40s --shuffle-buffer 2000 --log-every 20 \
  --metrics "$out/bert-metrics.jsonl" --force --quiet
tail -n 1 "$out/bert-metrics.jsonl" >&2
run nlpkit bert fill-mask -m "$out/bert" "and god said , let there be [MASK] ." --topk 5
echo "in the beginning god created the heaven and the [MASK] ." | run nlpkit bert fill-mask -m "$out/bert" -f jsonl --topk 3
printf 'the lord is my shepherd\nand the earth was without form\n' \
  | run nlpkit bert embed -m "$out/bert" --pool mean -f npy -o "$out/bert-vectors.npy"
run nlpkit bert export -m "$out/bert" --format hf -o "$out/bert-hf"
ls "$out/bert-hf" >&2
