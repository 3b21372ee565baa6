"""Training throughput of every neural family on the engine, in each precision.

    python bench/throughput.py [--device cuda] [--precision fp32 bf16] [--seconds 15] [--family lm ...]

Each run trains a mid-sized model on synthetic text (Zipf-distributed words, so no data files are
needed) for ``--seconds`` of training time with ``--metrics``, and reports the mean of the
engine's ``<unit>_per_s`` figures over the metrics records after the first (warm-up). A family
plugs in with one function decorated ``@family(name, unit)`` that trains for ``cfg.seconds`` and
writes metrics to ``cfg.metrics``; translate, bert and embed add theirs the same way.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@dataclass
class Bench:
    work: Path  # a fresh directory for data and the model
    metrics: Path  # where the family's trainer writes its metrics records
    device: str
    precision: str
    seconds: float
    scale: float  # 1: the full synthetic data; smaller for a smoke test

    def dim(self, n: int) -> int:
        """A model size: ``n``, or 8 in a smoke test (``--scale`` below 1)."""
        return n if self.scale >= 1 else 8


FAMILIES: dict[str, tuple[str, Callable[[Bench], None]]] = {}


def family(name: str, unit: str) -> Callable:
    """Register ``fn(bench)`` as the throughput run of ``name``, measured in ``unit`` per second."""
    def register(fn: Callable[[Bench], None]) -> Callable[[Bench], None]:
        FAMILIES[name] = (unit, fn)
        return fn
    return register


def synthetic_lines(n: int, words: int, vocab: int = 5000, seed: int = 0) -> list[str]:
    """``n`` lines of about ``words`` Zipf-distributed words each."""
    rng = random.Random(seed)
    weights = [1.0 / (r + 1) for r in range(vocab)]
    lengths = [max(3, int(rng.gauss(words, words / 3))) for _ in range(n)]
    tokens = rng.choices([f"w{r}" for r in range(vocab)], weights=weights, k=sum(lengths))
    out, at = [], 0
    for length in lengths:
        out.append(" ".join(tokens[at : at + length]))
        at += length
    return out


def engine_options(b: Bench) -> dict:
    return dict(max_time=b.seconds, epochs=1000, log_every=20 if b.scale >= 1 else 2, checkpoint_every="0",
                device=b.device, precision=b.precision, threads=0 if b.scale >= 1 else 1)


@family("classify", "examples")
def classify_bilstm(b: Bench) -> None:
    from nlpkit.classify.train import TrainConfig, train_classifier
    from nlpkit.training import RunOptions

    lines = synthetic_lines(int(20000 * b.scale), 60)
    data = b.work / "train.tsv"
    data.write_text("".join(f"{'pos' if 'w1 ' in line else 'neg'}\t{line}\n" for line in lines))
    cfg = TrainConfig(arch="bilstm", batch_size=64, **engine_options(b))
    train_classifier([str(data)], b.work / "m", {"d_model": b.dim(128), "d_hidden": b.dim(256)}, cfg,
                     run=RunOptions(quiet=True, metrics=str(b.metrics)))


def _lm(b: Bench, arch: str, options: dict) -> None:
    from nlpkit.lm.neural_train import train_neural
    from nlpkit.lm.train import TrainConfig
    from nlpkit.training import RunOptions

    data = b.work / "train.txt"
    data.write_text("\n".join(synthetic_lines(int(40000 * b.scale), 25)) + "\n")
    cfg = TrainConfig(batch_size=64, **engine_options(b))
    train_neural([str(data)], b.work / "m", arch, options, cfg, run=RunOptions(quiet=True, metrics=str(b.metrics)))


@family("lm-lstm", "tokens")
def lm_lstm(b: Bench) -> None:
    _lm(b, "lstm", {"d_model": b.dim(256), "d_hidden": b.dim(512), "n_layers": 2})


@family("lm-transformer", "tokens")
def lm_transformer(b: Bench) -> None:
    _lm(b, "transformer", {"d_model": b.dim(256), "n_layers": 4, "n_heads": 4, "d_ff": b.dim(1024)})


@family("tag", "tokens")
def tag_bilstm_crf(b: Bench) -> None:
    from nlpkit.tag.config import TagConfig
    from nlpkit.tag.train import train_tagger
    from nlpkit.training import RunOptions

    tags = ["O", "B-X", "I-X", "B-Y", "I-Y"]
    rng = random.Random(0)
    data = b.work / "train.txt"
    data.write_text("".join("".join(f"{w} {rng.choice(tags)}\n" for w in line.split()) + "\n"
                            for line in synthetic_lines(int(10000 * b.scale), 25)))
    cfg = TagConfig(batch_size=32, d_model=b.dim(100), d_hidden=b.dim(200), char_dim=b.dim(25), valid_fraction=0.0,
                    **engine_options(b))
    train_tagger([str(data)], b.work / "m", cfg, run=RunOptions(quiet=True, metrics=str(b.metrics)))


def _pairs_tsv(b: Bench, n: int) -> Path:
    """Synthetic parallel text: the target is the source reversed, with its words renamed."""
    data = b.work / "pairs.tsv"
    lines = synthetic_lines(n, 20)
    data.write_text("".join(f"{line}\t{' '.join('v' + w[1:] for w in reversed(line.split()))}\n" for line in lines))
    return data


@family("translate", "tokens")
def translate_transformer(b: Bench) -> None:
    from nlpkit.training import RunOptions
    from nlpkit.translate.config import TrainConfig
    from nlpkit.translate.data import ParallelSource
    from nlpkit.translate.train import train_translation

    data = _pairs_tsv(b, int(20000 * b.scale))
    cfg = TrainConfig(arch="transformer", max_tokens=4000, vocab_size=int(8000 * min(1.0, b.scale * 10)) or 200, **engine_options(b))
    options = {"d_model": b.dim(256), "n_heads": 4 if b.scale >= 1 else 2, "n_layers": 3, "d_ff": b.dim(1024)}
    train_translation(ParallelSource([str(data)]), b.work / "m", options, cfg, run=RunOptions(quiet=True, metrics=str(b.metrics)))


@family("bert", "tokens")
def bert_pretrain(b: Bench) -> None:
    from nlpkit.bert.config import PretrainConfig
    from nlpkit.bert.train import pretrain
    from nlpkit.training import RunOptions

    lines = synthetic_lines(int(30000 * b.scale), 15)
    docs = ["\n".join(lines[i : i + 6]) for i in range(0, len(lines), 6)]  # documents of six sentences
    data = b.work / "corpus.txt"
    data.write_text("\n\n".join(docs) + "\n")
    options = {**engine_options(b), "epochs": 1}
    cfg = PretrainConfig(vocab_size=int(8000 * min(1.0, b.scale * 10)) or 200, max_seq_len=128, batch_size=32, steps=10**6, warmup=100,
                         shuffle_buffer=1000, **options)
    sizes = {"d_model": b.dim(256), "n_layers": 4, "n_heads": 4 if b.scale >= 1 else 2, "d_ff": b.dim(1024)}
    pretrain([str(data)], b.work / "m", sizes, cfg, run=RunOptions(quiet=True, metrics=str(b.metrics)))


@family("embed", "words")
def embed_word2vec(b: Bench) -> None:
    """Skip-gram with negative sampling (fp32 only: the kernels take no autocast)."""
    from nlpkit.embeddings.training import RunOptions
    from nlpkit.embeddings.word2vec import Word2VecConfig, train_word2vec

    if b.precision != "fp32":
        return
    data = b.work / "train.txt"
    data.write_text("\n".join(synthetic_lines(int(100000 * b.scale), 25)) + "\n")
    cfg = Word2VecConfig(dim=b.dim(100), min_count=1, epochs=1000, device=b.device, threads=0 if b.scale >= 1 else 1)
    every = "200000" if b.scale >= 1 else "1000"  # a record per chunk of text
    train_word2vec([str(data)], b.work / "m", cfg, RunOptions(quiet=True, max_time=b.seconds, checkpoint_every=every, metrics=b.metrics))


def throughput(metrics: Path, unit: str) -> float | None:
    key = f"{unit}_per_s"
    rates = [r[key] for r in map(json.loads, metrics.read_text().splitlines()) if r.get("event") == "log" and key in r]
    rates = rates[1:] or rates  # the first window holds the warm-up (allocations, kernel selection)
    return sum(rates) / len(rates) if rates else None


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", nargs="+", default=["fp32", "bf16"])
    ap.add_argument("--seconds", type=float, default=15.0, help="training seconds per run")
    ap.add_argument("--family", nargs="+", default=None, help=f"some of: {', '.join(FAMILIES)}")
    ap.add_argument("--scale", type=float, default=1.0, help="share of the synthetic data; below 1 also tiny models (a smoke test)")
    args = ap.parse_args(argv)
    print("family\tprecision\tthroughput\tunit", flush=True)
    for name in args.family or list(FAMILIES):
        unit, fn = FAMILIES[name]
        for precision in args.precision:
            with tempfile.TemporaryDirectory() as tmp:
                b = Bench(Path(tmp), Path(tmp) / "metrics.jsonl", args.device, precision, args.seconds, args.scale)
                fn(b)
                rate = throughput(b.metrics, unit) if b.metrics.exists() else None
            print(f"{name}\t{precision}\t{rate:,.0f}\t{unit}/s" if rate else f"{name}\t{precision}\tn/a\t{unit}/s", flush=True)


if __name__ == "__main__":
    main()
