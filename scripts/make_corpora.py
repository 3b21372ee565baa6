#!/usr/bin/env python3
"""Rebuild the small samples in corpora/ from ../shared/data and the output of get_corpora.sh.

usage: python scripts/make_corpora.py SHARED_DATA_DIR FULL_CORPORA_DIR
(FULL_CORPORA_DIR is what `make corpora-full` writes: ../shared/data/get_corpora.sh OUTDIR)

Deterministic: fixed seeds, fixed line counts. See corpora/README.md for provenance and licences.
"""

import gzip
import random
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "corpora"


def write_gz(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(path, "wb", mtime=0) as f:  # mtime=0: the same bytes on every rebuild
        f.write("".join(line + "\n" for line in lines).encode("utf-8"))


def read(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def main(shared: Path, full: Path) -> None:
    rng = random.Random(2026)
    # English prose: the whole King James Bible and a sample of WordNet 3.0 glosses.
    write_gz(ROOT / "en_prose" / "kjv.txt.gz", read(full / "kjv" / "kjv.txt"))
    glosses = [g.strip() for g in read(full / "wordnet_glosses" / "glosses.txt") if g.strip()]
    keep = sorted(rng.sample(range(len(glosses)), 40000))
    write_gz(ROOT / "en_prose" / "wordnet_glosses.txt.gz", [glosses[i] for i in keep])
    # PTB: the first lines of Mikolov's split.
    ptb = shared / "ptb"
    for name, n in (("train", 10000), ("valid", 1000), ("test", 1000)):
        write_gz(ROOT / "ptb" / f"ptb.{name}.txt.gz", read(ptb / f"ptb.{name}.txt")[:n])
    # German-English: a random sample of Tatoeba pairs, split into train/valid/test (English<TAB>German).
    pairs = read(shared / "tatoeba_deu_eng" / "deu.txt.gz")
    pairs = [p for p in pairs if p.count("\t") >= 1]
    sample = rng.sample(pairs, 24000)
    write_gz(ROOT / "de_en" / "tatoeba.train.tsv.gz", sample[:22000])
    write_gz(ROOT / "de_en" / "tatoeba.valid.tsv.gz", sample[22000:23000])
    write_gz(ROOT / "de_en" / "tatoeba.test.tsv.gz", sample[23000:])
    # Sentiment: balanced IMDB reviews as label<TAB>text.
    for split, n in (("train", 1500), ("test", 500)):
        rows = [r.split("\t", 3) for r in read(shared / "imdb" / f"imdb_{split}.tsv.gz")]
        pos = [r for r in rows if r[0] == "1"]
        neg = [r for r in rows if r[0] == "0"]
        chosen = rng.sample(pos, n // 2) + rng.sample(neg, n // 2)
        rng.shuffle(chosen)
        label = {"1": "pos", "0": "neg"}
        write_gz(ROOT / "sentiment" / f"imdb.{split}.tsv.gz", [f"{label[r[0]]}\t{r[3]}" for r in chosen])
    # Evaluation sets and the bert-base-uncased vocabulary, copied unchanged.
    (ROOT / "eval").mkdir(parents=True, exist_ok=True)
    shutil.copy(full / "analogy" / "questions-words.txt", ROOT / "eval" / "questions-words.txt")
    shutil.copy(full / "wordsim" / "gensim_wordsim353.tsv", ROOT / "eval" / "wordsim353.tsv")
    shutil.copy(full / "wordsim" / "gensim_simlex999.txt", ROOT / "eval" / "simlex999.txt")
    (ROOT / "bert_vocab").mkdir(parents=True, exist_ok=True)
    shutil.copy(shared / "bert_vocab" / "vocab.txt", ROOT / "bert_vocab" / "vocab.txt")
    conll2000(shared)


def conll2000(shared: Path) -> None:
    """CoNLL-2000 chunking: a seeded sample of training sentences, split 3,000 train / 500 test."""
    sentences, rows = [], []
    for line in read(shared / "tagging" / "conll2000.train.txt.gz") + [""]:
        if line.strip():
            rows.append(line)
        elif rows:
            sentences.append(rows)
            rows = []
    chosen = random.Random(2000).sample(sentences, 3500)
    for name, part in (("train", chosen[:3000]), ("test", chosen[3000:])):
        write_gz(ROOT / "conll2000" / f"conll2000.{name}.txt.gz", [line for s in part for line in [*s, ""]])


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
