"""Evaluate subword vectors (`nlpkit embed train --subwords`) with and without them, and on held-out words.

    python bench/embed_subwords.py --corpus data/full/debian_prose/corpus.txt --max-words 4000000 --threads 2

Steps:
1. The corpus is lowercased and punctuation split (as bench/embed.py); ``--heldout N`` words with
   relatives in the vocabulary (another word sharing their first len-2 characters, e.g. "walked"
   for "walking") and 20-2000 occurrences are chosen, and every occurrence of them is removed.
2. nlpkit trains skip-gram on the rest with ``--subwords 3-6`` (and the same settings as
   bench/embed.py), once; the vectors are then read with and without the n-gram table.
3. Reported: WordSim-353 and SimLex-999 Spearman and OOV pairs with and without subwords; for the
   held-out words, the share whose 10 nearest words include a relative (same first
   max(4, len-3) characters), with examples.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from embed import EVAL, nlpkit_cmd, prepare, timed  # noqa: E402


def stem(word: str) -> str:
    return word[: max(4, len(word) - 3)]


def choose_heldout(corpus: Path, n: int) -> list[str]:
    """Words seen 20-2000 times whose first len-2 characters start another frequent word."""
    counts: Counter[str] = Counter()
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            counts.update(line.split())
    frequent = sorted(w for w, c in counts.items() if c >= 20 and w.isalpha())
    prefixes: Counter[str] = Counter(w[:k] for w in frequent for k in range(4, len(w) + 1))
    picked = [w for w, c in counts.most_common() if 20 <= c <= 2000 and w.isalpha() and len(w) >= 6 and prefixes[w[: len(w) - 2]] >= 2]
    return picked[:: max(1, len(picked) // n)][:n]  # spread over the frequency range


def remove_words(src: Path, dst: Path, words: set[str]) -> None:
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
        for line in f:
            out.write(" ".join(t for t in line.split() if t not in words) + "\n")


def pair_scores(model: Path) -> dict[str, dict]:
    from nlpkit.embeddings.evaluate import evaluate_pairs
    from nlpkit.embeddings.vectors import WordVectors

    out = {}
    for label, subwords in (("with_subwords", True), ("without", False)):
        wv = WordVectors.load(model, subwords=subwords)
        out[label] = {name: evaluate_pairs(wv, EVAL / file, case_insensitive=True) for name, file in (("ws353", "wordsim353.tsv"), ("simlex", "simlex999.txt"))}
    return out


def heldout_neighbours(model: Path, words: list[str]) -> dict[str, object]:
    from nlpkit.embeddings.vectors import WordVectors

    wv = WordVectors.load(model)
    hits, examples = 0, {}
    for w in words:
        i = wv.lookup(w)
        top = [] if i is None else [n.word for n in wv.similar([i], topk=10)[0]]
        hit = any(t != w and t.startswith(stem(w)) for t in top)
        hits += hit
        if len(examples) < 15:
            examples[w] = top[:5]
    return {"heldout": len(words), "with_relative_in_top10": hits, "share": round(hits / max(1, len(words)), 3), "examples": examples}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", default=str(ROOT / "data/full/debian_prose/corpus.txt"))
    p.add_argument("--work", default=str(ROOT / "bench-out/embed-subwords"))
    p.add_argument("--max-words", type=int, default=0, help="use only a prefix of this many words (0 = all)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--subwords", default="3-6")
    p.add_argument("--buckets", type=int, default=2_000_000)
    p.add_argument("--heldout", type=int, default=50)
    args = p.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    full, train = work / "corpus.txt", work / "train.txt"
    words = prepare(Path(args.corpus), full, args.max_words)
    heldout = choose_heldout(full, args.heldout)
    remove_words(full, train, set(heldout))
    print(f"corpus: {words:,} words; held out {len(heldout)}: {' '.join(heldout[:10])} ...", file=sys.stderr)
    model = work / "sg-subwords"
    import shutil

    shutil.rmtree(model, ignore_errors=True)
    cmd = nlpkit_cmd("embed", "train", str(train), "-o", str(model), "--algo", "sg", "--dim", "100", "--window", "5", "--min-count", "5",
                     "--epochs", str(args.epochs), "--threads", str(args.threads), "--device", "cpu", "--checkpoint-every", "0",
                     "--subwords", args.subwords, "--buckets", str(args.buckets), "--negative", "5", "--sample", "1e-3")
    report = {"args": vars(args), "words": words, "train": timed(cmd, work / "train.log"), "pairs": pair_scores(model),
              "heldout": heldout_neighbours(model, heldout)}
    (work / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    for label, scores in report["pairs"].items():
        print(f"{label:<14} " + "  ".join(f"{k} spearman {v['spearman']} (oov {v['oov']}/{v['pairs']})" for k, v in scores.items()))
    h = report["heldout"]
    print(f"held-out words with a relative among their 10 nearest: {h['with_relative_in_top10']}/{h['heldout']} ({100 * h['share']:.1f}%)")
    for w, top in h["examples"].items():
        print(f"  {w}: {', '.join(top)}")


if __name__ == "__main__":
    main()
