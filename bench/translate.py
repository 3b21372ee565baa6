"""Translation quality on a held-out split of Tatoeba German->English (the figures in the README).

    python bench/translate.py split --data ../shared/data/tatoeba_deu_eng/deu.txt.gz --out DIR
    python bench/translate.py train --out DIR --arch rnn-attn --max-time 1200
    python bench/translate.py eval  --out DIR --arch rnn-attn --beams 1,5
    python bench/translate.py report --out DIR      # markdown tables from the eval files

The split: pairs are grouped by their German sentence and the groups shuffled (seed 2026); 2,000
German sentences (one reference each) are the test set, the next 1,000 the validation set, and
every pair whose German or English sentence occurs in test or validation is removed from
training, so no test sentence, on either side, was seen in training. Files are English<TAB>German
like corpora/de_en, plus test.de/test.en for `nlpkit translate eval`.

Each `train` writes DIR/ARCH (a model) and DIR/ARCH.log; `eval` prints a JSON line and writes
DIR/ARCH.eval.json. The same runs from the shell are in docs/readme/translate.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from pathlib import Path

# Small models: the quality runs share 2 CPU cores with other jobs (see docs/readme/translate.md).
SIZES = {
    "rnn-attn": {"cell": "gru", "d_embed": 128, "d_hidden": 192, "d_attn": 128, "n_layers": 1, "dropout": 0.2},
    "rnn": {"cell": "gru", "d_embed": 128, "d_hidden": 192, "n_layers": 1, "dropout": 0.2},
    "transformer": {"d_model": 192, "n_heads": 4, "n_layers": 3, "d_ff": 768, "dropout": 0.1},
}
TRAIN = {
    "rnn-attn": {"lr": 1e-3},
    "rnn": {"lr": 1e-3},
    "transformer": {"lr": 1e-3, "warmup": 300, "label_smoothing": 0.1},
}


def split(data: Path, out: Path, n_test: int = 2000, n_valid: int = 1000, seed: int = 2026) -> None:
    pairs = []
    with gzip.open(data, "rt", encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 2 and cols[0].strip() and cols[1].strip():
                pairs.append((cols[0].strip(), cols[1].strip()))
    by_german: dict[str, list[tuple[str, str]]] = {}
    for en, de in pairs:
        by_german.setdefault(de, []).append((en, de))
    german = sorted(by_german)
    random.Random(seed).shuffle(german)
    test = [by_german[g][0] for g in german[:n_test]]
    valid = [by_german[g][0] for g in german[n_test : n_test + n_valid]]
    held = {s for pair in test + valid for s in pair}
    train = [p for p in pairs if p[0] not in held and p[1] not in held]
    random.Random(seed).shuffle(train)
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", train), ("valid", valid), ("test", test)):
        (out / f"{name}.tsv").write_text("".join(f"{en}\t{de}\n" for en, de in rows), encoding="utf-8")
    (out / "test.de").write_text("".join(f"{de}\n" for _, de in test), encoding="utf-8")
    (out / "test.en").write_text("".join(f"{en}\n" for en, _ in test), encoding="utf-8")
    print(json.dumps({"pairs": len(pairs), "train": len(train), "valid": len(valid), "test": len(test)}))


def train(out: Path, arch: str, max_time: float, epochs: int, resume: bool, extra: dict) -> None:
    from nlpkit.progress import configure_logging
    from nlpkit.training import RunOptions
    from nlpkit.translate.config import TrainConfig
    from nlpkit.translate.data import ParallelSource
    from nlpkit.translate.train import train_translation

    configure_logging()
    name = extra.pop("name", arch)
    src = ParallelSource([str(out / "train.tsv")], src_col=2, tgt_col=1)
    valid = ParallelSource([str(out / "valid.tsv")], src_col=2, tgt_col=1)
    config = TrainConfig(
        arch=arch, epochs=epochs, max_time=max_time, max_tokens=2500, eval_every="150", valid_lines=300, vocab_size=4000,
        device="cpu", threads=1, checkpoint_every="5m", **TRAIN[arch], **extra,
    )
    run = RunOptions(resume=resume, force=not resume, metrics=str(out / f"{name}.metrics.jsonl"))  # a new run replaces the model
    result = train_translation(src, out / name, SIZES[arch], config, valid=valid, run=run)
    print(json.dumps(result["train"]))


def evaluate(out: Path, name: str, beams: list[int]) -> None:
    from nlpkit.device import set_threads
    from nlpkit.translate.beam import BeamConfig
    from nlpkit.translate.evaluate import evaluate as run_eval
    from nlpkit.translate.model import load_translator

    set_threads(1)
    translator = load_translator(out / name, "cpu")
    src = (out / "test.de").read_text(encoding="utf-8").splitlines()
    ref = (out / "test.en").read_text(encoding="utf-8").splitlines()
    result = run_eval(translator, src, ref, beams, BeamConfig(lenpen=1.0))
    result["train"] = translator.config["train"]
    (out / f"{name}.eval.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps(result))


def report(out: Path, names: list[str]) -> None:
    """Markdown tables from DIR/NAME.eval.json: BLEU per beam with training time, BLEU by length."""
    results = {n: json.loads((out / f"{n}.eval.json").read_text(encoding="utf-8")) for n in names if (out / f"{n}.eval.json").exists()}
    beams = sorted({r["beam"] for res in results.values() for r in res["rows"]})
    print("| model | parameters | updates | epochs | train s | " + " | ".join(f"BLEU beam {b}" for b in beams) + " |")
    print("|---|---|---|---|---|" + "---|" * len(beams))
    for name, res in results.items():
        t = res["train"]
        bleu = {r["beam"]: r["bleu"] for r in res["rows"]}
        cells = [f"{t['parameters'] / 1e6:.1f}M", str(t["steps"]), str(t["epochs_done"]), f"{t['seconds']:.0f}"]
        print(f"| {name} | " + " | ".join(cells) + " | " + " | ".join(f"{bleu.get(b, float('nan')):.2f}" for b in beams) + " |")
    buckets = [r["bucket"] for r in next(iter(results.values()))["by_length"] if r["beam"] == beams[0]] if results else []
    print()
    print("| model | beam | " + " | ".join(f"{b} words" for b in buckets) + " |")
    print("|---|---|" + "---|" * len(buckets))
    for name, res in results.items():
        for b in beams:
            row = {r["bucket"]: r for r in res["by_length"] if r["beam"] == b}
            print(f"| {name} | {b} | " + " | ".join(f"{row[k]['bleu']:.2f}" if k in row else "" for k in buckets) + " |")
    if results:
        counts = {r["bucket"]: r["sentences"] for r in next(iter(results.values()))["by_length"] if r["beam"] == beams[0]}
        print("\nsentences per bucket: " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
        print("signature: " + next(iter(results.values()))["rows"][0]["signature"])


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("step", choices=["split", "train", "eval", "report"])
    p.add_argument("--data", type=Path, default=Path("../shared/data/tatoeba_deu_eng/deu.txt.gz"))
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--arch", choices=sorted(SIZES), default="rnn-attn")
    p.add_argument("--name", help="model directory name under --out (default: the arch)")
    p.add_argument("--max-time", type=float, default=1200.0)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--scheduled-sampling", default="none")
    p.add_argument("--beams", default="1,5")
    args = p.parse_args(argv)
    if args.step == "split":
        split(args.data, args.out)
    elif args.step == "train":
        extra = {"scheduled_sampling": args.scheduled_sampling, "name": args.name or args.arch}
        train(args.out, args.arch, args.max_time, args.epochs, args.resume, extra)
    elif args.step == "eval":
        evaluate(args.out, args.name or args.arch, [int(b) for b in args.beams.split(",")])
    else:
        report(args.out, (args.name or "rnn,rnn-attn,transformer").split(","))


if __name__ == "__main__":
    main(sys.argv[1:])
