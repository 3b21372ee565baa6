"""Tagging quality: CoNLL-2000 chunking and CoNLL-2002 Spanish NER (the figures in the README).

    python bench/tag.py split   --out DIR                     # chunking train/valid/test from CoNLL-2000 train
    python bench/tag.py vectors --out DIR --bible data/full/bible_parallel/kjv_sparv.tsv
    python bench/tag.py run     --out DIR --max-time 20m [--only NAME ...]
    python bench/tag.py report  --out DIR                     # markdown tables from the eval files
    python bench/tag.py smoke   --out DIR                     # every step on tiny sizes (minutes)

Data (``--shared``, default ../shared/data): the CoNLL-2000 test set and the CoNLL-2002 test set are
not available, so
- chunking: the 8,936 sentences of CoNLL-2000 train are shuffled (seed 2026); 1,000 are the test set,
  500 the validation set, the rest (7,436) training data;
- Spanish NER: ``esp.train`` is the training data with a seeded 5% held out for validation
  (``--valid-fraction 0.05``), and ``esp.testa`` (the official development set) is the test set.
  CoNLL-2002 is read where it lies and never copied (its terms allow shared-task research use only).
Transferred vectors: ``nlpkit embed train`` (skip-gram, 100 dimensions, lowercased) on the Spanish
side of the verse-aligned Bible that ``get_corpora.sh`` builds (Reina-Valera 1909, about 31k
verses), split into words and punctuation the way ``nlpkit tag --tokenize`` splits text.

Every run trains one model within ``--max-time`` (the CPU budget per model) with ``nlpkit tag train``,
then scores the test set with ``nlpkit tag eval --format json``: DIR/NAME/ (the model), DIR/NAME.log,
DIR/NAME.eval.json. Run them one at a time on an idle machine.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import subprocess
import sys
from pathlib import Path

NLPKIT = [sys.executable, "-m", "nlpkit_cli"]
WORD = re.compile(r"\w+(?:[-'.]\w+)*|\S")  # as nlpkit.tag.predict.WORD (--tokenize)
SIZES = ["--d-model", "100", "--d-hidden", "100", "--batch-size", "16", "--lr", "2e-3", "--dropout", "0.5"]
CHARS = ["--char-dim", "25"]
VECTORS = "@vectors"  # replaced by DIR/vectors-es
RUNS = {  # name: (task, flags)
    "chunk-bilstm": ("chunk", CHARS),
    "chunk-unidirectional": ("chunk", [*CHARS, "--arch", "unidirectional"]),
    "chunk-no-crf": ("chunk", [*CHARS, "--no-crf"]),
    "ner-words": ("ner", []),
    "ner-chars": ("ner", CHARS),
    "ner-vectors": ("ner", ["--vectors", VECTORS]),
    "ner-chars-vectors": ("ner", [*CHARS, "--vectors", VECTORS]),
    "ner-chars-unidirectional": ("ner", [*CHARS, "--arch", "unidirectional"]),
    "ner-chars-no-crf": ("ner", [*CHARS, "--no-crf"]),
}


def read_sentences(path: Path) -> list[list[str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    sentences, rows = [], []
    with opener(path, "rt", encoding="utf-8") as f:
        for line in [*f, ""]:
            if line.strip():
                rows.append(line.rstrip("\n"))
            elif rows:
                sentences.append(rows)
                rows = []
    return sentences


def write_sentences(path: Path, sentences: list[list[str]]) -> None:
    path.write_text("".join("\n".join(s) + "\n\n" for s in sentences), encoding="utf-8")


def split(out: Path, shared: Path, limit: int = 0) -> None:
    sentences = read_sentences(shared / "tagging" / "conll2000.train.txt.gz")
    random.Random(2026).shuffle(sentences)
    test, valid, train = sentences[:1000], sentences[1000:1500], sentences[1500:]
    if limit:
        test, valid, train = test[: limit // 4], valid[: limit // 4], train[:limit]
    out.mkdir(parents=True, exist_ok=True)
    for name, part in (("train", train), ("valid", valid), ("test", test)):
        write_sentences(out / f"chunk.{name}.txt", part)
    print(f"chunking: {len(train)} train, {len(valid)} valid, {len(test)} test sentences", file=sys.stderr)
    if limit:  # tiny Spanish files for the smoke test, in the bench directory only (never in the repository)
        for name in ("train", "testa"):
            write_sentences(out / f"esp.{name}.txt", read_sentences(shared / "tagging" / f"conll2002.esp.{name}.gz")[:limit])


def ner_files(out: Path, shared: Path) -> tuple[Path, Path]:
    if (out / "esp.train.txt").exists():  # the smoke test's tiny sample
        return out / "esp.train.txt", out / "esp.testa.txt"
    return shared / "tagging" / "conll2002.esp.train.gz", shared / "tagging" / "conll2002.esp.testa.gz"


def vectors(out: Path, bible: Path, epochs: int = 10, limit: int = 0) -> None:
    lines = []
    with open(bible, encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 3 and cols[2].strip():
                lines.append(" ".join(WORD.findall(cols[2].lower())))
    if limit:
        lines = lines[:limit]
    text = out / "spanish_bible.txt"
    out.mkdir(parents=True, exist_ok=True)
    text.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} Spanish verses, {sum(len(x.split()) for x in lines)} words", file=sys.stderr)
    subprocess.run([*NLPKIT, "embed", "train", str(text), "-o", str(out / "vectors-es"), "--dim", "100", "--lowercase",
                    "--min-count", "2", "--epochs", str(epochs), "--quiet"],
                   check=True)


def run(out: Path, shared: Path, names: list[str], max_time: str, epochs: int, threads: int = 0) -> None:
    for name in names:
        task, flags = RUNS[name]
        flags = [str(out / "vectors-es") if f == VECTORS else f for f in flags]
        if task == "chunk":
            data = [str(out / "chunk.train.txt"), "--valid", str(out / "chunk.valid.txt")]
            test = out / "chunk.test.txt"
        else:
            train, test = ner_files(out, shared)
            data = [str(train), "--valid-fraction", "0.05"]
        model = out / name
        cmd = [*NLPKIT, "tag", "train", *data, "-o", str(model), *SIZES, *flags, "--max-time", max_time,
               "--epochs", str(epochs), "--patience", "5", "--threads", str(threads), "--force", "--quiet"]
        print("$ " + " ".join(cmd), file=sys.stderr)
        with open(out / f"{name}.log", "w") as log:
            subprocess.run(cmd, check=True, stderr=log)
        result = subprocess.run([*NLPKIT, "tag", "eval", "-m", str(model), str(test), "--format", "json"],
                                check=True, capture_output=True, text=True)
        report = json.loads(result.stdout)
        config = json.loads((model / "config.json").read_text())
        report["train"] = {k: config["train"].get(k) for k in ("steps", "epochs_done", "seconds", "stopped", "best_valid_f1")}
        (out / f"{name}.eval.json").write_text(json.dumps(report) + "\n")
        print(f"{name}: F1 {100 * report['overall']['f1']:.2f} ({report['train']['epochs_done']} epochs, {report['train']['seconds']} s)", file=sys.stderr)


def report(out: Path) -> None:
    rows = {}
    for name in RUNS:
        f = out / f"{name}.eval.json"
        if f.exists():
            rows[name] = json.loads(f.read_text())
    print("| run | test F1 | precision | recall | token accuracy | epochs | seconds |\n|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        o, t = r["overall"], r["train"]
        print(f"| {name} | {100 * o['f1']:.2f} | {100 * o['precision']:.2f} | {100 * o['recall']:.2f} | "
              f"{100 * r['accuracy']:.2f} | {t['epochs_done']} | {t['seconds']} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("step", choices=["split", "vectors", "run", "report", "smoke"])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--shared", type=Path, default=Path("../shared/data"))
    p.add_argument("--bible", type=Path, default=Path("data/full/bible_parallel/kjv_sparv.tsv"))
    p.add_argument("--max-time", default="20m", help="training budget per model (nlpkit duration)")
    p.add_argument("--epochs", type=int, default=100, help="the most epochs per model (--max-time usually ends sooner)")
    p.add_argument("--threads", type=int, default=0, help="torch threads per run (0: all cores)")
    p.add_argument("--only", nargs="*", choices=list(RUNS), help="these runs only (default: all)")
    a = p.parse_args()
    names = a.only or list(RUNS)
    if a.step == "split":
        split(a.out, a.shared)
    elif a.step == "vectors":
        vectors(a.out, a.bible)
    elif a.step == "run":
        run(a.out, a.shared, names, a.max_time, a.epochs, a.threads)
    elif a.step == "report":
        report(a.out)
    else:  # every step on tiny sizes: checks the script, measures nothing
        split(a.out, a.shared, limit=200)
        vectors(a.out, a.bible, epochs=1, limit=2000)
        run(a.out, a.shared, names, "3s", 1, 1)
        report(a.out)


if __name__ == "__main__":
    main()
