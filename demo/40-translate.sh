#!/usr/bin/env bash
# Translation: train a small German->English Transformer on the shipped Tatoeba sample (22,000 pairs,
# 2 minutes at most), translate a few lines (beam search, n-best JSONL), and measure sacreBLEU.
# The model is trained once: a finished $DEMO_OUT/translate is reused (delete it to retrain).
# (A short CPU run on a small sample; see the README's translation quality section for real figures.)
set -euo pipefail
out="$DEMO_OUT"
run() { echo "\$ $*" >&2; "$@"; }
trained() { [ -f "$1/config.json" ] && [ ! -f "$1/checkpoint.pt" ]; }
data=corpora/de_en

if trained "$out/translate"; then
  echo "(reusing $out/translate)" >&2
else
  # The default (small) Transformer; a 4,000-piece vocabulary suits 22,000 pairs, and a 120 s
  # budget a shorter warm-up.
  run nlpkit translate train "$data/tatoeba.train.tsv.gz" --src-col 2 --tgt-col 1 \
    --valid "$data/tatoeba.valid.tsv.gz" --valid-lines 200 \
    -o "$out/translate" --arch transformer --vocab-size 4000 --warmup 100 --max-time 120s --force --quiet
fi
printf 'Ich habe Hunger.\nWo ist Tom?\nDas ist mein Buch.\n' | run nlpkit translate -m "$out/translate" --beam 5
echo "Ich bin müde." | run nlpkit translate -m "$out/translate" --beam 5 --nbest 3 --format jsonl
zcat "$data/tatoeba.test.tsv.gz" | awk "NR <= 300" | cut -f2 > "$out/test.de"
zcat "$data/tatoeba.test.tsv.gz" | awk "NR <= 300" | cut -f1 > "$out/test.en"
run nlpkit translate eval -m "$out/translate" --src "$out/test.de" --ref "$out/test.en" --beam 1,5
