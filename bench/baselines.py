"""Issue 12's table: each sequence model at its DEFAULT settings against the baseline it was made to beat.

    python bench/baselines.py lm        --out bench/out/baselines --max-time 10m   # PTB: LSTM vs KN 5-gram
    python bench/baselines.py vectors   --out bench/out/baselines                  # skip-gram on IMDB unsup (for --vectors)
    python bench/baselines.py sentiment --out bench/out/baselines --max-time 10m [--vectors DIR] [--transfer [--sources DIR]]
    python bench/baselines.py translate --out bench/out/baselines --max-time 30m --archs transformer,rnn-attn,rnn

Every model is trained through the `nlpkit` command line with only the data, `--valid`,
`--max-time` (and `--vectors` where asked) given, so the figures are those of the defaults. Rows:

* ``lm``: `lm train --order 5` and `lm train --arch lstm --valid ptb.valid.txt --max-time T`, both
  scored sentence by sentence with `lm score --summary` on ptb.test.txt (perplexity including OOVs);
  then (issue 13) their mix by `lm interpolate --tune ptb.valid.txt`, each of the three on valid and test.
* ``sentiment``: the sentence-polarity set (10,662 sentences), shuffled with seed 0 and split
  80/10/10 into train/valid/test TSV files; `classify train --arch avg` and `--arch bilstm` (each
  with `--max-time T`; with --vectors both again with the vectors), accuracy on test, and the
  probabilities of a few negation probes; the goal line compares the best of each arch. With
  --transfer, each of these models also has an IMDB source (`classify train` on the 25,000 labelled
  training reviews, 90/10 train/valid, labels renamed neg/pos, `--max-time --source-max-time`),
  trained once into --sources (default OUT/imdb-source) and reused, then fine-tuned on the polarity
  train split with `--init SOURCE` (same budget); a second table puts each arch's accuracy from
  scratch and fine-tuned side by side, with the source's own accuracy on the 25,000 IMDB test reviews.
* ``vectors``: the 50,000 unlabelled IMDB reviews tokenised the way the classifier tokenises,
  then `embed train --algo sg --dim 300`: the `--vectors DIR` of the sentiment recipe.
* ``translate``: bench/translate.py's held-out Tatoeba split (2,000 test sentences unseen on either
  side); `translate train --arch A --max-time T` for each arch, then sacreBLEU greedy and beam 5.

Each step skips a model directory that already holds a finished model (delete it to retrain), so a
row can be rerun for its report alone. The lead runs these on an idle machine, one at a time.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"  # ../shared/data from the repository root (--data to change)
PROBES = [
    "not good",
    "not bad at all",
    "good",
    "completely lacking in good taste , good service , and good ambience",
    "the acting was good but the plot was awful .",
    "the plot was awful but the acting was good .",
]


def nlpkit(*args: str, capture: bool = False) -> subprocess.CompletedProcess:
    """Run the CLI as a user would (this checkout's package first on the path)."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [sys.executable, "-m", "nlpkit_cli", *args]
    print("$ nlpkit " + " ".join(args), file=sys.stderr, flush=True)
    return subprocess.run(cmd, env=env, check=True, text=True, capture_output=capture)


def finished(model_dir: Path) -> bool:
    return (model_dir / "config.json").exists() and not (model_dir / "checkpoint.pt").exists()


def budget(model_dir: Path) -> str:
    """The --max-time the model was trained with (a reused model may have had another)."""
    seconds = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))["train"].get("max_time")
    return f"--max-time {seconds:g}s" if seconds else "no --max-time"


def common(args: argparse.Namespace) -> list[str]:
    extra = ["--threads", str(args.threads)] if args.threads is not None else []
    return extra + (["--seed", str(args.seed)] if args.seed is not None else [])


# -- PTB: LSTM vs Kneser-Ney 5-gram -----------------------------------------------------------------
def ppl(model_dir: Path, test: Path) -> float:
    """Test perplexity (including OOVs) from `lm score --summary`'s stderr."""
    done = nlpkit("lm", "score", "-m", str(model_dir), str(test), "--summary", capture=True)
    found = re.search(r"([0-9.]+) \(including OOVs", done.stderr)
    if not found:
        raise SystemExit(f"no perplexity in lm score's output: {done.stderr[-500:]}")
    return float(found.group(1))


def run_lm(args: argparse.Namespace) -> None:
    ptb, out = args.ptb, args.out
    if not finished(out / "ptb-kn5"):
        nlpkit("lm", "train", str(ptb / "ptb.train.txt"), "-o", str(out / "ptb-kn5"), "--order", "5", "--force", "-q")
    lstm = out / "ptb-lstm"
    if not finished(lstm):
        nlpkit("lm", "train", str(ptb / "ptb.train.txt"), "-o", str(lstm), "--arch", "lstm", "--valid", str(ptb / "ptb.valid.txt"),
               "--max-time", args.max_time, "--metrics", str(out / "ptb-lstm.metrics.jsonl"), "--force", *common(args))
    train = json.loads((lstm / "config.json").read_text(encoding="utf-8"))["train"]
    best = train.get("best_valid_ppl") or float("nan")
    how = f"{train['epochs_done']} epochs, {train['steps']} steps, {train['seconds']} s, best valid ppl {best:.1f}"
    rows = [("KN 5-gram (--order 5)", ppl(out / "ptb-kn5", ptb / "ptb.test.txt"), "-"),
            (f"LSTM (defaults, {budget(lstm)})", ppl(lstm, ptb / "ptb.test.txt"), how)]
    print("| model | PTB test ppl (per sentence, incl. OOVs) | training |")
    print("|---|---|---|")
    for name, value, how in rows:
        print(f"| {name} | {value:.2f} | {how} |")
    print(f"LSTM beats the 5-gram: {rows[1][1] < rows[0][1]}")
    run_mix(ptb, out, lstm)


def run_mix(ptb: Path, out: Path, lstm: Path) -> None:
    """Issue 13's mix: `lm interpolate` of the 5-gram and the LSTM tuned on PTB valid; each model's and the mix's perplexity."""
    mix = out / "ptb-mix"
    if not (mix / "config.json").exists():
        nlpkit("lm", "interpolate", "-m", str(out / "ptb-kn5"), "-m", str(lstm), "--tune", str(ptb / "ptb.valid.txt"), "-o", str(mix),
               "--force")
    weights = json.loads((mix / "config.json").read_text(encoding="utf-8"))["model"]["weights"]
    print(f"\nmix weights (KN 5-gram, LSTM), EM on PTB valid: {', '.join(f'{w:.3f}' for w in weights)}")
    print("| model | PTB valid ppl | PTB test ppl |")
    print("|---|---|---|")
    for name, d in [("KN 5-gram", out / "ptb-kn5"), ("LSTM", lstm), ("mix (lm interpolate)", mix)]:
        print(f"| {name} | {ppl(d, ptb / 'ptb.valid.txt'):.2f} | {ppl(d, ptb / 'ptb.test.txt'):.2f} |")


# -- sentence polarity: BiLSTM vs averaged embeddings -----------------------------------------------
def polarity_split(out: Path, seed: int = 0) -> Path:
    """train/valid/test.tsv (label<TAB>text), 80/10/10 of the 10,662 sentences, shuffled with ``seed``."""
    split = out / "polarity"
    if (split / "test.tsv").exists():
        return split
    rows = []
    for label in ("neg", "pos"):
        with gzip.open(DATA / "sentence_polarity" / f"rt-polarity.{label}.gz", "rt", encoding="utf-8", errors="replace") as f:
            rows += [(label, line.strip()) for line in f if line.strip()]
    random.Random(seed).shuffle(rows)
    n = len(rows)
    parts = {"train": rows[: n * 8 // 10], "valid": rows[n * 8 // 10 : n * 9 // 10], "test": rows[n * 9 // 10 :]}
    split.mkdir(parents=True, exist_ok=True)
    for name, part in parts.items():
        (split / f"{name}.tsv").write_text("".join(f"{lab}\t{text}\n" for lab, text in part), encoding="utf-8")
    print(json.dumps({name: len(part) for name, part in parts.items()}), file=sys.stderr)
    return split


def accuracy(model_dir: Path, test: Path) -> float:
    done = nlpkit("classify", "eval", "-m", str(model_dir), str(test), "--format", "json", capture=True)
    return float(json.loads(done.stdout)["accuracy"])


def probes(model_dir: Path) -> list[float]:
    """P(pos) of each probe sentence."""
    done = subprocess.run([sys.executable, "-m", "nlpkit_cli", "classify", "-m", str(model_dir), "-f", "jsonl"],
                          input="\n".join(PROBES) + "\n", text=True, capture_output=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return [json.loads(line)["scores"]["pos"] for line in done.stdout.splitlines()]


def sentiment_models(args: argparse.Namespace) -> list[tuple[str, str, list[str]]]:
    """(name, arch, extra flags) of each model of the row."""
    models: list[tuple[str, str, list[str]]] = [("avg", "avg", []), ("bilstm", "bilstm", [])]
    if args.vectors:  # both: the vectors must not be what the BiLSTM beats the bag of words with
        models += [("avg --vectors", "avg", ["--vectors", str(args.vectors)]), ("bilstm --vectors", "bilstm", ["--vectors", str(args.vectors)])]
    return models


def polarity_model(args: argparse.Namespace, split: Path, name: str, arch: str, extra: list[str]) -> Path:
    """Train (unless finished) the polarity model ``name`` and return its directory."""
    model_dir = args.out / ("polarity-" + name.replace(" --", "-").replace(" ", "-"))
    if not finished(model_dir):
        nlpkit("classify", "train", str(split / "train.tsv"), "-o", str(model_dir), "--arch", arch, "--valid", str(split / "valid.tsv"),
               "--max-time", args.max_time, "--force", *extra, *common(args))
    return model_dir


def run_sentiment(args: argparse.Namespace) -> None:
    split = polarity_split(args.out)
    sources = source_models(args) if args.transfer else {}
    rows, pairs = [], []
    for name, arch, extra in sentiment_models(args):
        plain = polarity_model(args, split, name, arch, extra)
        rows.append((f"{name} ({budget(plain)})", accuracy(plain, split / "test.tsv"), probes(plain)))
        if name in sources:  # the source already holds any --vectors: --init refuses them
            tuned = polarity_model(args, split, f"{name} --init imdb", arch, ["--init", str(sources[name]), *FINE_TUNE])
            rows.append((f"{name} --init IMDB ({budget(tuned)})", accuracy(tuned, split / "test.tsv"), probes(tuned)))
            pairs.append((name, rows[-2][1], rows[-1][1], accuracy(sources[name], imdb_split(args.out, args.source_words) / "test.tsv")))
    print("| model | test accuracy | " + " | ".join(f"P(pos) '{p}'" for p in PROBES) + " |")
    print("|---|---|" + "---|" * len(PROBES))
    for name, acc, p in rows:
        print(f"| {name} | {100 * acc:.2f}% | " + " | ".join(f"{v:.3f}" for v in p) + " |")
    if pairs:
        print("\n| model | polarity test, trained from scratch | polarity test, fine-tuned from IMDB (--init) | its IMDB source on IMDB test |")
        print("|---|---|---|---|")
        for name, plain_acc, tuned_acc, source_acc in pairs:
            print(f"| {name} | {100 * plain_acc:.2f}% | {100 * tuned_acc:.2f}% | {100 * source_acc:.2f}% |")
    best = {arch: max(acc for name, acc, _ in rows if name.startswith(arch)) for arch in ("avg", "bilstm")}
    print(f"best BiLSTM {100 * best['bilstm']:.2f}% - best avg {100 * best['avg']:.2f}%: "
          f"{100 * (best['bilstm'] - best['avg']):+.2f} points (goal >= +3, and >= 84%)")


# -- transfer: IMDB source classifiers fine-tuned on sentence polarity (--init) -------------------
# Polarity texts are single sentences of about 20 words; whole reviews (230 words on average) are
# another input than that for a BiLSTM (its max-pooled states, its final states) and an averaged
# bag alike. So by default the source learns from pieces of reviews as long as the target's texts:
# each review is cut at sentence ends into pieces of at least --source-words words, every piece
# labelled with its review's label (noisy: a plot summary in a good review is "pos"), about ten
# times as many examples as reviews. --source-words 0 trains on whole reviews (the first
# SOURCE_MAX_LEN words for the BiLSTM, which keeps an epoch to minutes on 2 cores).
SOURCE_MAX_LEN = {"avg": "0", "bilstm": "100"}
SENTENCE_ENDS = {".", "!", "?"}
VALID_PIECES = 5000  # a seeded sample of the held-out reviews' pieces: enough to pick the best source, and quick to score
# Fine-tuning runs at the defaults (validation at epoch ends, patience 3). Validating every 50 steps
# stopped a BiLSTM fine-tune after 300 steps, on noise, while the validation accuracy still rose.
FINE_TUNE: list[str] = []


def review_pieces(text: str, words: int) -> list[str]:
    """``text`` cut after sentence ends into pieces of at least ``words`` words (0: the whole text),
    tokenised as the classifier tokenises (so the classifier reads each piece back unchanged)."""
    sys.path.insert(0, str(ROOT))
    from nlpkit.classify.vocab import word_tokens

    if not words:
        return [text]
    pieces: list[list[str]] = [[]]
    for token in word_tokens(text):
        pieces[-1].append(token)
        if token in SENTENCE_ENDS and len(pieces[-1]) >= words:
            pieces.append([])
    if len(pieces) > 1 and len(pieces[-1]) < words:  # a short tail joins the piece before it
        tail = pieces.pop()
        pieces[-1] += tail
    return [" ".join(p) for p in pieces if p]


def imdb_split(out: Path, words: int, seed: int = 0) -> Path:
    """imdb-pieces-W/{train,valid}.tsv: the 25,000 labelled training reviews, 90/10 by review, shuffled
    with ``seed``, as neg|pos<TAB>piece lines (``review_pieces``; valid: VALID_PIECES of them);
    test.tsv: the 25,000 test reviews, whole, for the source models' own accuracy.

    The labels are renamed from 0/1 to the polarity set's neg/pos, so a fine-tuned model keeps the
    source's output layer (``--init`` keeps the rows of the labels both sets share)."""
    split = out / (f"imdb-pieces-{words}" if words else "imdb")
    if (split / "test.tsv").exists():
        return split
    rows, test = imdb_rows("imdb_train.tsv.gz"), imdb_rows("imdb_test.tsv.gz")
    random.Random(seed).shuffle(rows)
    cut = len(rows) * 9 // 10
    split.mkdir(parents=True, exist_ok=True)
    for name, part in (("train", rows[:cut]), ("valid", rows[cut:])):
        lines = [f"{lab}\t{piece}\n" for lab, text in part for piece in review_pieces(text, words)]
        if name == "valid" and len(lines) > VALID_PIECES:
            lines = random.Random(seed).sample(lines, VALID_PIECES)
        (split / f"{name}.tsv").write_text("".join(lines), encoding="utf-8")
    (split / "test.tsv").write_text("".join(f"{lab}\t{text}\n" for lab, text in test), encoding="utf-8")
    return split


def imdb_rows(name: str) -> list[tuple[str, str]]:
    """(neg|pos, text) of each review of an IMDB file (label<TAB>rating<TAB>id<TAB>text, label 0/1)."""
    with gzip.open(DATA / "imdb" / name, "rt", encoding="utf-8") as f:
        return [(("neg", "pos")[int(cols[0])], cols[3]) for cols in (line.rstrip("\n").split("\t") for line in f) if len(cols) >= 4]


def source_models(args: argparse.Namespace) -> dict[str, Path]:
    """The IMDB source classifier of each arch (and vectors variant), trained once and then reused."""
    split = imdb_split(args.out, args.source_words)
    sources = args.sources or args.out / (f"imdb-source-pieces-{args.source_words}" if args.source_words else "imdb-source")
    found = {}
    for name, arch, extra in sentiment_models(args):
        model_dir = sources / name.replace(" --", "-")
        if not finished(model_dir):
            nlpkit("classify", "train", str(split / "train.tsv"), "-o", str(model_dir), "--arch", arch, "--valid", str(split / "valid.tsv"),
                   "--max-time", args.source_max_time, "--max-len", SOURCE_MAX_LEN[arch], "--eval-every", "2m", "--force",
                   *extra, *common(args))
        found[name] = model_dir
    return found


def run_vectors(args: argparse.Namespace) -> None:
    """Skip-gram vectors on the unlabelled IMDB reviews, tokenised as the classifier tokenises."""
    sys.path.insert(0, str(ROOT))
    from nlpkit.classify.vocab import word_tokens

    text = args.out / "imdb_unsup.tok.txt"
    if not text.exists():
        args.out.mkdir(parents=True, exist_ok=True)
        with gzip.open(DATA / "imdb" / "imdb_unsup.txt.gz", "rt", encoding="utf-8") as f, text.open("w", encoding="utf-8") as w:
            for n, line in enumerate(f):
                if args.unsup_lines and n >= args.unsup_lines:
                    break
                w.write(" ".join(word_tokens(line)) + "\n")
    if not finished(args.out / "imdb-sg300"):
        nlpkit("embed", "train", str(text), "-o", str(args.out / "imdb-sg300"), "--algo", "sg", "--dim", "300",
               "--epochs", str(args.epochs), "--min-count", "3", *common(args))
    print(f"vectors: {args.out / 'imdb-sg300'} (pass as --vectors)")


# -- Tatoeba de->en: transformer (and the RNNs) ---------------------------------------------------
def run_translate(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from translate import split as tatoeba_split

    out = args.out / "tatoeba"
    if not (out / "test.de").exists():
        tatoeba_split(DATA / "tatoeba_deu_eng" / "deu.txt.gz", out)
    src, ref = out / "test.de", out / "test.en"
    if args.test_lines:  # a smoke test: decode only the first N test sentences
        for path in (src, ref):
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)[: args.test_lines]
            (out / f"{path.stem}.{args.test_lines}{path.suffix}").write_text("".join(lines), encoding="utf-8")
        src, ref = out / f"test.{args.test_lines}.de", out / f"test.{args.test_lines}.en"
    rows = []
    for arch in args.archs.split(","):
        model_dir = out / arch
        if not finished(model_dir):
            nlpkit("translate", "train", str(out / "train.tsv"), "--src-col", "2", "--tgt-col", "1", "--valid", str(out / "valid.tsv"),
                   "-o", str(model_dir), "--arch", arch, "--max-time", args.max_time, "--force", *common(args))
        done = nlpkit("translate", "eval", "-m", str(model_dir), "--src", str(src), "--ref", str(ref),
                      "--beam", "1,5", "--format", "json", capture=True)
        result = json.loads(done.stdout)
        rows.append((f"{arch} ({budget(model_dir)})", {r["beam"]: r for r in result["rows"]}))
    print("| model | BLEU greedy | BLEU beam 5 | decode s greedy | decode s beam 5 |")
    print("|---|---|---|---|---|")
    for arch, by_beam in rows:
        g, b = by_beam.get(1, {}), by_beam.get(5, {})
        print(f"| {arch} | {g.get('bleu', float('nan')):.2f} | {b.get('bleu', float('nan')):.2f} "
              f"| {g.get('seconds', '')} | {b.get('seconds', '')} |")
    if rows:
        print("signature: " + next(iter(rows[0][1].values()))["signature"])


def main(argv: list[str]) -> None:
    global DATA
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("row", choices=["lm", "sentiment", "vectors", "translate"])
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "baselines")
    p.add_argument("--max-time", default="10m", help="each neural model's training budget (a duration: 90s, 10m, 1h)")
    p.add_argument("--threads", type=int, default=None, help="passed to every trainer (default: the trainers' own, 0 = all cores)")
    p.add_argument("--seed", type=int, default=None, help="passed to every trainer (default: the trainers' own)")
    p.add_argument("--data", type=Path, default=DATA, help="the shared data directory (default ../shared/data)")
    p.add_argument("--vectors", type=Path, help="sentiment: also train the BiLSTM with these vectors (from the `vectors` row)")
    p.add_argument("--transfer", action="store_true", help="sentiment: also fine-tune IMDB source classifiers (--init) on the split")
    p.add_argument("--sources", type=Path, help="sentiment --transfer: the IMDB source models' directory (default OUT/imdb-source-pieces-N)")
    p.add_argument("--source-max-time", default="10m", help="sentiment --transfer: each IMDB source model's training budget")
    p.add_argument("--source-words", type=int, default=20, help="sentiment --transfer: train the sources on review pieces of at least N words (0: whole reviews)")
    p.add_argument("--epochs", type=int, default=5, help="vectors: skip-gram epochs over the unlabelled reviews")
    p.add_argument("--unsup-lines", type=int, default=0, help="vectors: only the first N unlabelled reviews (smoke tests; 0: all)")
    p.add_argument("--test-lines", type=int, default=0, help="translate: decode only the first N test sentences (smoke tests)")
    p.add_argument("--archs", default="transformer,rnn-attn,rnn", help="translate: the architectures, comma-separated")
    args = p.parse_args(argv)
    DATA = args.data
    args.ptb = DATA / "ptb"
    args.out.mkdir(parents=True, exist_ok=True)
    {"lm": run_lm, "sentiment": run_sentiment, "vectors": run_vectors, "translate": run_translate}[args.row](args)


if __name__ == "__main__":
    main(sys.argv[1:])
