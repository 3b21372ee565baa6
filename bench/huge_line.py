"""Peak memory and wall time of each command on one huge line without a newline (issue 16, point 4).

    python bench/huge_line.py --mb 50            # the fault sweep's 50 MB line
    python bench/huge_line.py --mb 1 --out /tmp/hl  # a smoke test

Builds tiny models in ``--out`` (an n-gram LM on PTB's validation text, a random LSTM LM, a random
BERT with the shipped vocabulary), writes the line, then runs every command in a child process and
prints one TSV row per command: command, exit code, peak RSS (MB), seconds. The goal is under
1024 MB for every row, and seconds growing linearly with --mb.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORDS = "the cat sat on a mat , while dogs barked at the moon . unbelievable pieces of text [MASK]".split()


def write_line(path: Path, mb: float) -> None:
    rng = random.Random(0)
    block = (" ".join(rng.choice(WORDS) for _ in range(20_000)) + " ").encode()
    with open(path, "wb") as f:
        for _ in range(int(mb * 1_000_000) // len(block) + 1):
            f.write(block)


def build_models(out: Path) -> dict[str, Path]:
    import torch

    from nlpkit.artifacts import artifact_writer
    from nlpkit.bert.artifact import save_bert
    from nlpkit.bert.model import Bert, BertConfig
    from nlpkit.lm.neural import build_model, config_class, save_neural
    from nlpkit.lm.ngram_train import NgramConfig, train_ngram
    from nlpkit.lm.vocab import WordVocab
    from nlpkit.wordpiece import load_tokenizer

    torch.manual_seed(0)
    vocab_txt = ROOT / "corpora" / "bert_vocab" / "vocab.txt"
    models = {"vocab": vocab_txt, "ngram": out / "ngram", "lstm": out / "lstm", "bert": out / "bert"}
    if not models["ngram"].exists():
        train_ngram([str(ROOT / "corpora" / "ptb" / "ptb.valid.txt.gz")], models["ngram"], NgramConfig(order=3))
    if not models["lstm"].exists():
        vocab = WordVocab(["<unk>", "</s>", *WORDS])
        model = build_model("lstm", config_class("lstm")(cell="lstm", vocab_size=len(vocab), d_model=32, d_hidden=32, n_layers=1))
        with artifact_writer(models["lstm"]) as tmp:
            save_neural(tmp, "lstm", model, vocab, {}, {})
    if not models["bert"].exists():
        tok = load_tokenizer(vocab_txt)
        cfg = BertConfig(vocab_size=tok.get_vocab_size(), hidden=32, layers=2, heads=2, intermediate=64, max_position=128, pad_id=0)
        save_bert(models["bert"], Bert(cfg), tok)
    return models


def run(args: list[str], stdin: Path) -> tuple[int, float, float]:
    """Exit code, peak RSS (MB) and seconds of ``nlpkit ARGS < stdin`` (measured in a fresh child)."""
    code = (
        "import resource, subprocess, sys, time\n"
        "t = time.monotonic()\n"
        f"p = subprocess.run([sys.executable, '-m', 'nlpkit_cli', *{args!r}], stdin=open({str(stdin)!r}, 'rb'),"
        " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, time.monotonic() - t)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), float(out[1]), float(out[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50.0, help="size of the line in MB")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "huge_line", help="work directory")
    opts = parser.parse_args()
    opts.out.mkdir(parents=True, exist_ok=True)
    models = build_models(opts.out)
    line = opts.out / f"line-{opts.mb:g}mb.txt"
    write_line(line, opts.mb)
    commands = {
        "tokenize": ["tokenize", "-m", str(models["vocab"]), "--format", "ids"],
        "tokenize train": ["tokenize", "train", "-", "-o", str(opts.out / "tok"), "--vocab-size", "300", "--force", "--quiet"],
        "lm score (n-gram)": ["lm", "score", "-m", str(models["ngram"])],
        "lm score (lstm)": ["lm", "score", "-m", str(models["lstm"]), "--device", "cpu"],
        "bert embed": ["bert", "embed", "-m", str(models["bert"]), "--device", "cpu"],
        "bert fill-mask": ["bert", "fill-mask", "-m", str(models["bert"]), "--device", "cpu"],
    }
    print("command\texit\tpeak_rss_mb\tseconds")
    for name, args in commands.items():
        rc, mb, seconds = run(args, line)
        print(f"{name}\t{rc}\t{mb:.0f}\t{seconds:.1f}", flush=True)


if __name__ == "__main__":
    t0 = time.monotonic()
    main()
    print(f"# total {time.monotonic() - t0:.0f} s", file=sys.stderr)
