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
                rate = throughput(b.metrics, unit)
            print(f"{name}\t{precision}\t{rate:,.0f}\t{unit}/s" if rate else f"{name}\t{precision}\tn/a\t{unit}/s", flush=True)


if __name__ == "__main__":
    main()
