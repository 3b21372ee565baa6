"""Benchmark of the n-gram path against KenLM.

    python bench/lm.py [--train FILE] [--test FILE] [--order 5] [--words 10000000] [--sentences 100000]

1. Training time and peak memory of `nlpkit lm train --arch ngram` on >= 10M words, and of KenLM's
   `lmplz` on the same text when an `lmplz` binary is on PATH (the `kenlm` pip module has none).
2. Scoring throughput on ``--sentences`` held-out lines, end to end in Python (lines in memory ->
   one total per line): nlpkit's numpy scorer vs the `kenlm` module's ``model.score(line)`` per
   line, both on our ARPA. Goal: ratio >= 0.5.
3. Agreement: max |ours - kenlm| per sentence over the same lines (goal < 1e-4).

Peer: `pip install -r bench/requirements-lm.txt`. Default text: data/full/debian_prose/corpus.txt
(`make corpora-full`); the first ``--words`` words train, the next ``--sentences`` lines are scored.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEXT = next((p for p in [ROOT / "data/full/debian_prose/corpus.txt", Path("/work/data/full/debian_prose/corpus.txt")] if p.exists()), None)


def split_text(path: Path, words: int, sentences: int, tmp: Path) -> tuple[Path, Path, int]:
    train, test = tmp / "train.txt", tmp / "test.txt"
    n = 0
    with open(path, encoding="utf-8", errors="replace") as f, open(train, "w") as tr, open(test, "w") as te:
        for line in f:
            if n < words:
                tr.write(line)
                n += len(line.split())
            elif sentences > 0:
                if line.strip():
                    te.write(line)
                    sentences -= 1
            else:
                break
    return train, test, n


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a child process."""
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return time.perf_counter() - start, max(peak, before) / 1024


def bench_training(train: Path, order: int, tmp: Path) -> Path:
    nlpkit = [sys.executable, "-m", "nlpkit_cli", "lm", "train", str(train), "-o", str(tmp / "ours"), "--order", str(order), "--quiet"]
    secs, mib = timed(nlpkit)
    print(f"train nlpkit: {secs:.1f} s, peak {mib:.0f} MiB")
    lmplz = shutil.which("lmplz")
    if lmplz:
        with open(train) as src, open(tmp / "kenlm.arpa", "w") as dst:
            start = time.perf_counter()
            subprocess.run([lmplz, "-o", str(order), "-S", "40%", "-T", str(tmp)], stdin=src, stdout=dst, check=True,
                           stderr=subprocess.DEVNULL)
            ken = time.perf_counter() - start
        print(f"train lmplz: {ken:.1f} s; nlpkit/lmplz time ratio {secs / ken:.2f}")
    else:
        print("train lmplz: not available (no lmplz binary on PATH; the kenlm pip module ships only the query side)")
    return tmp / "ours"


def score_ours(model_dir: Path, lines: list[str]) -> tuple[np.ndarray, float]:
    from nlpkit.lm.score import score_lines

    start, cpu = time.perf_counter(), time.process_time()
    totals = np.array([r.log10_prob for r in score_lines(model_dir, lines)])
    return totals, time.perf_counter() - start, time.process_time() - cpu


def score_kenlm(arpa: Path, lines: list[str]):  # noqa: ANN201
    import kenlm

    start = time.perf_counter()
    model = kenlm.Model(str(arpa))
    load = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    totals = np.array([model.score(line, bos=True, eos=True) for line in lines])
    return totals, time.perf_counter() - start, time.process_time() - cpu, load


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--text", type=Path, default=DEFAULT_TEXT, help="text to split into train and test")
    ap.add_argument("--model", type=Path, help="score with this trained model dir instead of training one")
    ap.add_argument("--test", type=Path, help="lines to score (default: held out from --text)")
    ap.add_argument("--order", type=int, default=5)
    ap.add_argument("--words", type=int, default=10_000_000)
    ap.add_argument("--sentences", type=int, default=100_000)
    ap.add_argument("--train-only", action="store_true", help="only the training benchmark")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-lm-", dir=os.environ.get("TMPDIR")))
    try:
        if args.model is None:
            if args.text is None:
                sys.exit("no text: run `make corpora-full` or pass --text FILE")
            train, test, n = split_text(args.text, args.words, args.sentences, tmp)
            print(f"text: {args.text}, {n:,} training words, order {args.order}")
            model = bench_training(train, args.order, tmp)
            if args.train_only:
                return
        else:
            model, test = args.model, args.test
        lines = Path(test).read_text(encoding="utf-8", errors="replace").splitlines()[: args.sentences]
        ours, t_ours, c_ours = score_ours(model, lines)
        print(f"score nlpkit: {len(lines):,} lines in {t_ours:.2f} s wall, {c_ours:.2f} s CPU "
              f"({len(lines) / c_ours:,.0f} lines per CPU second; model load included)")
        try:
            theirs, t_ken, c_ken, load = score_kenlm(model / "model.arpa", lines)
        except ImportError:
            print("score kenlm: the kenlm module is not installed (pip install -r bench/requirements-lm.txt)")
            return
        print(f"score kenlm:  {len(lines):,} lines in {t_ken:.2f} s wall, {c_ken:.2f} s CPU "
              f"({len(lines) / c_ken:,.0f} lines per CPU second; ARPA load of {load:.1f} s not included)")
        print(f"speed ratio nlpkit/kenlm: {c_ken / c_ours:.2f} by CPU time, {t_ken / t_ours:.2f} by wall time (goal >= 0.5)")
        diff = np.abs(ours - theirs)
        print(f"agreement: max |diff| {diff.max():.2e}, mean {diff.mean():.2e} per sentence (goal < 1e-4)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
