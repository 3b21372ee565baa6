#!/usr/bin/env bash
# Word embeddings: train skip-gram on English prose, ask analogies and neighbours, evaluate, export, import.
set -euo pipefail
out="$DEMO_OUT"
run() { echo "\$ $*" >&2; "$@"; }

# whitespace tokenisation (as word2vec and gensim): split punctuation off first, then train from stdin
echo "\$ gzip -dc corpora/en_prose/*.gz | sed ... | nlpkit embed train - -o $out/sg --lowercase --epochs 3" >&2
gzip -dc corpora/en_prose/*.gz | sed -E 's/([.,;:!?()"]|--)/ \1 /g' \
  | nlpkit embed train - -o "$out/sg" --lowercase --epochs 3 --dim 100 --min-count 5 --force --quiet
run nlpkit analogy -m "$out/sg" man:woman::king father:mother::son --topk 3
echo "egypt is to pharaoh as babylon is to ?" | run nlpkit analogy -m "$out/sg" -f jsonl
run nlpkit similar -m "$out/sg" water bread sword --topk 5
run nlpkit embed eval -m "$out/sg" --analogies corpora/eval/questions-words.txt \
  --pairs corpora/eval/wordsim353.tsv --pairs corpora/eval/simlex999.txt --case-insensitive --restrict-vocab 30000
run nlpkit embed export -m "$out/sg" --format word2vec-bin -o "$out/sg.bin"
run nlpkit embed import "$out/sg.bin" -o "$out/sg-imported"
run nlpkit similar -m "$out/sg-imported" -f tsv --topk 3 king
