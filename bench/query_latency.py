"""Cold-start latency of one-off queries, each as a new process (what a shell loop or cron pays).

    python bench/query_latency.py [--lm DIR] [--vectors DIR | --make-vectors 100000] [--analogies FILE] [--runs 10]

Measured, median of --runs, the contenders alternating within each run:
- floors: `python -c pass` and `python -c "import numpy"` (the least a Python (+ numpy) tool can cost);
- `nlpkit --version`;
- `nlpkit lm score -m LM` on one sentence from stdin (with --lm);
- `nlpkit analogy -m VECTORS king:man::woman` and `nlpkit similar -m VECTORS king` (with --vectors).
- `nlpkit embed eval -m VECTORS --analogies FILE` (with --analogies; the issue's goal: <= 2 s on the
  whole Google set with a 100k-word model), median of --eval-runs.
Also reports each query's time above `--version` (the issue's goal: <= 0.05 s) and which heavy modules
each query imports (`python -X importtime`): none of torch, datasets, typer, click, rich, pydantic, numpy on
the quick path (one sentence of an n-gram model is scored without numpy; a plain analogy or similar query
calls numpy's bundled OpenBLAS through ctypes).
The project's modules are byte-compiled first (`compileall`, as `pip install` does), so that an
environment with PYTHONDONTWRITEBYTECODE set (as some sandboxes have) does not time the compiler.
`--make-vectors N` makes an N x 300 model of random unit vectors (the words of --analogies first,
then fillers) with `nlpkit embed import`, for when no trained model of that size is at hand: the
latency does not depend on the values.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
NLPKIT = [sys.executable, "-m", "nlpkit_cli"]


def once(cmd: list[str], stdin: str) -> float:
    start = time.perf_counter()
    out = subprocess.run(cmd, input=stdin, text=True, capture_output=True, env=ENV)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"failed ({out.returncode}): {' '.join(cmd)}\n{out.stderr[-500:]}")
    return elapsed


HEAVY = ("torch", "datasets", "transformers", "pandas", "typer", "click", "rich", "pydantic", "numpy")


def heavy_imports(cmd: list[str], stdin: str) -> list[str]:
    out = subprocess.run([sys.executable, "-X", "importtime", *cmd[1:]], input=stdin, text=True, capture_output=True,
                         env=ENV)
    names = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time")}
    return sorted({n.split(".")[0] for n in names} & set(HEAVY))


def make_vectors(n: int, dim: int, analogies: Path | None, tmp: Path) -> Path:
    """An n x dim word2vec text file of random vectors, imported as a model directory."""
    import numpy as np

    words: dict[str, None] = {}
    if analogies is not None:
        for line in analogies.read_text(encoding="utf-8").splitlines():
            if not line.startswith(":"):
                words.update(dict.fromkeys(line.split()))
                words.update(dict.fromkeys(w.lower() for w in line.split()))
    words.update(dict.fromkeys(["king", "man", "woman", "queen"]))
    vocab = list(words)[:n] + [f"filler{i}" for i in range(max(0, n - len(words)))]
    rng = np.random.default_rng(0)
    text = tmp / "vectors.txt"
    with open(text, "w", encoding="utf-8") as f:
        f.write(f"{len(vocab)} {dim}\n")
        for start in range(0, len(vocab), 10000):
            block = rng.standard_normal((min(10000, len(vocab) - start), dim)).astype(np.float32)
            f.writelines(f"{w} {' '.join(f'{x:.4f}' for x in row)}\n" for w, row in zip(vocab[start:], block))
    out = tmp / "vectors"
    subprocess.run([*NLPKIT, "embed", "import", str(text), "-o", str(out)], check=True, env=ENV, capture_output=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lm", type=Path, help="an n-gram model dir (e.g. the WikiText-2 5-gram)")
    ap.add_argument("--vectors", type=Path, help="a word-vector model dir (e.g. 100k x 300)")
    ap.add_argument("--sentence", default="the company said it expects higher earnings")
    ap.add_argument("--make-vectors", type=int, metavar="N", help="make an N x 300 random model for the vector queries")
    ap.add_argument("--analogies", type=Path, help="questions-words.txt: also time `embed eval` on it")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--eval-runs", type=int, default=3)
    args = ap.parse_args()
    env = {k: v for k, v in ENV.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "nlpkit"), str(ROOT / "nlpkit_cli")],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory(prefix="bench-query-") as tmp:
        if args.make_vectors:
            args.vectors = make_vectors(args.make_vectors, 300, args.analogies, Path(tmp))
        run(args)


def run(args: argparse.Namespace) -> None:
    cases = {"floor (python)": ([sys.executable, "-c", "pass"], ""),
             "floor (python + numpy)": ([sys.executable, "-c", "import numpy"], ""),
             "nlpkit --version": ([*NLPKIT, "--version"], "")}
    if args.lm:
        cases["lm score (one sentence)"] = ([*NLPKIT, "lm", "score", "-m", str(args.lm)], args.sentence + "\n")
    if args.vectors:
        cases["analogy"] = ([*NLPKIT, "analogy", "-m", str(args.vectors), "king:man::woman"], "")
        cases["similar"] = ([*NLPKIT, "similar", "-m", str(args.vectors), "king"], "")
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, (cmd, stdin) in cases.items():
            times[name].append(once(cmd, stdin))
    version = statistics.median(times["nlpkit --version"])
    for name, values in times.items():
        med = statistics.median(values)
        extra = f"  ({med - version:+.3f} s above --version)" if name not in ("nlpkit --version", "floor (python)", "floor (python + numpy)") else ""
        print(f"{name:28s} median {med:.3f} s  (min {min(values):.3f}, max {max(values):.3f}){extra}")
    if args.vectors and args.analogies:
        cmd = [*NLPKIT, "embed", "eval", "-m", str(args.vectors), "--analogies", str(args.analogies)]
        evals = [once(cmd, "") for _ in range(args.eval_runs)]
        print(f"{'embed eval (analogy set)':28s} median {statistics.median(evals):.3f} s  (of {args.eval_runs}; goal <= 2 s)")
    for name, (cmd, stdin) in cases.items():
        if name not in ("nlpkit --version", "floor (python)", "floor (python + numpy)"):
            heavy = heavy_imports(cmd, stdin)
            print(f"{name} imports:", ", ".join(heavy) if heavy else "none of " + ", ".join(HEAVY))


if __name__ == "__main__":
    main()
