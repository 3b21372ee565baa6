"""Cold-start latency of one-off queries, each as a new process (what a shell loop or cron pays).

    python bench/query_latency.py [--lm DIR] [--vectors DIR] [--runs 10]

Measured, median of --runs, the contenders alternating within each run:
- floor: `python -c "import numpy"` (the least a Python + numpy tool can cost);
- `nlpkit --version`;
- `nlpkit lm score -m LM` on one sentence from stdin (with --lm);
- `nlpkit analogy -m VECTORS king:man::woman` and `nlpkit similar -m VECTORS king` (with --vectors).
Also reports each query's time above `--version` (the issue's goal: <= 0.05 s) and checks that
`lm score` on an n-gram model never imports torch (`python -X importtime`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
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


def heavy_imports(cmd: list[str], stdin: str) -> list[str]:
    out = subprocess.run([sys.executable, "-X", "importtime", *cmd[1:]], input=stdin, text=True, capture_output=True,
                         env=ENV)
    names = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time")}
    return sorted(n for n in names if n.split(".")[0] in ("torch", "datasets", "transformers", "pandas"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lm", type=Path, help="an n-gram model dir (e.g. the WikiText-2 5-gram)")
    ap.add_argument("--vectors", type=Path, help="a word-vector model dir (e.g. 100k x 300)")
    ap.add_argument("--sentence", default="the company said it expects higher earnings")
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    cases = {"floor (python + numpy)": ([sys.executable, "-c", "import numpy"], ""),
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
        extra = f"  ({med - version:+.3f} s above --version)" if name not in ("nlpkit --version", "floor (python + numpy)") else ""
        print(f"{name:28s} median {med:.3f} s  (min {min(values):.3f}, max {max(values):.3f}){extra}")
    if args.lm:
        heavy = heavy_imports(*cases["lm score (one sentence)"])
        print("lm score heavy imports:", ", ".join(heavy) if heavy else "none (no torch, datasets, transformers)")


if __name__ == "__main__":
    main()
