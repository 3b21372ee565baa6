#!/usr/bin/env bash
# WordPiece: train a vocabulary on English prose, encode, decode, measure.
set -euo pipefail
out="$DEMO_OUT"
run() { echo "\$ $*" >&2; "$@"; }

run nlpkit tokenize train corpora/en_prose -o "$out/wordpiece" --vocab-size 8000 --quiet
echo "The quick brown fox jumps over the lazy dog." | run nlpkit tokenize -m "$out/wordpiece"
echo "Tokenization is unbelievably straightforward." | run nlpkit tokenize -m corpora/bert_vocab/vocab.txt --special-tokens
echo "Tokenization is unbelievably straightforward." | nlpkit tokenize -m corpora/bert_vocab/vocab.txt -f ids \
  | run nlpkit tokenize -m corpora/bert_vocab/vocab.txt --decode
run nlpkit tokenize stats -m "$out/wordpiece" corpora/ptb/ptb.valid.txt.gz
