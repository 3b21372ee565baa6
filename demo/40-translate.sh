#!/usr/bin/env bash
# Translation: train a small German->English model with attention for about 40 seconds on the
# shipped Tatoeba sample, translate a few lines (beam search, n-best JSONL), and measure sacreBLEU.
# (Forty seconds of CPU training gives rough translations; see docs/readme/translate.md for real figures.)
set -euo pipefail
out="$DEMO_OUT"
run() { echo "\$ $*" >&2; "$@"; }
data=corpora/de_en

run nlpkit translate train "$data/tatoeba.train.tsv.gz" --src-col 2 --tgt-col 1 \
  --valid "$data/tatoeba.valid.tsv.gz" --valid-lines 200 --eval-every 150 \
  -o "$out/translate" --arch rnn-attn --d-embed 96 --d-hidden 128 --d-attn 96 --vocab-size 3000 \
  --max-tokens 1500 --max-time 40 --threads 1 --force --quiet
printf 'Ich habe Hunger.\nWo ist Tom?\nDas ist mein Buch.\n' | run nlpkit translate -m "$out/translate" --beam 5 --threads 1
echo "Ich bin müde." | run nlpkit translate -m "$out/translate" --beam 5 --nbest 3 --format jsonl --threads 1
zcat "$data/tatoeba.test.tsv.gz" | awk "NR <= 300" | cut -f2 > "$out/test.de"
zcat "$data/tatoeba.test.tsv.gz" | awk "NR <= 300" | cut -f1 > "$out/test.en"
run nlpkit translate eval -m "$out/translate" --src "$out/test.de" --ref "$out/test.en" --beam 1,5 --threads 1
