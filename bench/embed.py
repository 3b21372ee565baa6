"""Benchmark `nlpkit embed train` against gensim 4.4 Word2Vec, and time the query commands.

    pip install -r bench/requirements-embed.txt
    python bench/embed.py --corpus data/full/debian_prose/corpus.txt --epochs 5 --threads 2

Steps:
1. The corpus is lowercased and punctuation is split off words (one line in, one line out), into
   WORK/corpus.txt; ``--max-words N`` keeps a prefix of N words (whole lines).
2. For sg and cbow, gensim (``corpus_file`` mode, its fastest, ``workers=threads``) and nlpkit
   (``--threads``) train with the same settings: dim 100, window 5, negative 5, min-count 5,
   sample 1e-3, lr 0.025 -> 0.0001, the same epochs. The two run back to back, in alternating
   order, and wall time is measured around each whole command (vocabulary scan included).
3. gensim's vectors are exported as word2vec binary and imported with `nlpkit embed import`;
   both models are then scored by the same evaluator (nlpkit's): Google analogies (3CosAdd,
   restrict 30000, case-insensitive), WordSim-353 and SimLex-999 Spearman.
4. GloVe is trained by nlpkit only (gensim has no GloVe; window 10, x-max 10, 25 epochs) and scored
   the same way.
5. Queries: a random 100,000 x 300 model answers one cold `nlpkit analogy` (best and median of
   5 runs), and `nlpkit embed eval` runs the whole Google set on a 100,000-word model.

The machine's load average is printed beside each timing: on a shared machine, compare only runs
made back to back.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "corpora" / "eval"
_TOKEN = re.compile(r"[^\W_]+|[^\w\s]")

GENSIM = """
import sys, time
from gensim.models import Word2Vec
corpus, out, sg, epochs, workers, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
m = Word2Vec(corpus_file=corpus, sg=sg, hs=0, vector_size=100, window=5, negative=5, min_count=5, sample=1e-3,
             alpha=0.025, min_alpha=0.0001, epochs=epochs, workers=workers, seed=seed)
m.wv.save_word2vec_format(out, binary=True)
"""


def prepare(src: Path, dst: Path, max_words: int) -> int:
    """Lowercase, split punctuation, keep whole lines up to ``max_words``; returns the word count."""
    words = 0
    with open(src, encoding="utf-8", errors="replace") as f, open(dst, "w", encoding="utf-8") as out:
        for line in f:
            toks = _TOKEN.findall(line.lower())
            if max_words and words + len(toks) > max_words:
                break
            words += len(toks)
            out.write(" ".join(toks) + "\n")
    return words


def timed(cmd: list[str], log: Path) -> dict[str, float]:
    load = os.getloadavg()[0]
    start = time.perf_counter()
    with open(log, "w") as f:
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}; see {log}")
    return {"wall_s": round(wall, 1), "load_before": round(load, 1), "load_after": round(os.getloadavg()[0], 1)}


def nlpkit_cmd(*args: str) -> list[str]:
    exe = shutil.which("nlpkit") or str(Path(sys.executable).parent / "nlpkit")
    return [exe, *args]


def train_nlpkit(corpus: Path, out: Path, algo: str, epochs: int, threads: int, extra: list[str]) -> dict[str, float]:
    cmd = nlpkit_cmd("embed", "train", str(corpus), "-o", str(out), "--algo", algo, "--dim", "100", "--window", "5",
                     "--min-count", "5", "--epochs", str(epochs), "--threads", str(threads), "--device", "cpu",
                     "--checkpoint-every", "0", "--seed", "1", "--force", *extra)
    if algo != "glove":
        cmd += ["--negative", "5", "--sample", "1e-3", "--lr", "0.025", "--min-lr", "0.0001"]
    return timed(cmd, out.with_suffix(".log"))


def train_gensim(corpus: Path, out: Path, algo: str, epochs: int, threads: int) -> dict[str, float]:
    vec = out.with_suffix(".bin")
    cmd = [sys.executable, "-c", GENSIM, str(corpus), str(vec), "1" if algo == "sg" else "0", str(epochs), str(threads), "1"]
    result = timed(cmd, out.with_suffix(".log"))
    subprocess.run(nlpkit_cmd("embed", "import", str(vec), "-o", str(out)), check=True, capture_output=True)
    return result


def evaluate(model: Path) -> dict[str, float | None]:
    from nlpkit.embeddings.evaluate import evaluate_analogies, evaluate_pairs
    from nlpkit.embeddings.vectors import WordVectors

    wv = WordVectors.load(model)
    analogy = evaluate_analogies(wv, EVAL / "questions-words.txt", restrict_vocab=30000, case_insensitive=True).as_dict()
    ws = evaluate_pairs(wv, EVAL / "wordsim353.tsv", case_insensitive=True)
    sl = evaluate_pairs(wv, EVAL / "simlex999.txt", case_insensitive=True)
    return {
        "vocab": len(wv), "analogy": analogy["total"]["accuracy"], "semantic": analogy["semantic"]["accuracy"],
        "syntactic": analogy["syntactic"]["accuracy"], "analogy_oov": analogy["total"]["oov"],
        "ws353": ws["spearman"], "simlex": sl["spearman"],
    }


def bench_training(args: argparse.Namespace, corpus: Path, work: Path) -> dict[str, dict]:
    results: dict[str, dict] = {}
    for n, algo in enumerate(a for a in args.algos.split(",") if a in ("sg", "cbow")):
        runs = [("gensim", lambda a=algo: train_gensim(corpus, work / f"gensim-{a}", a, args.epochs, args.threads)),
                ("nlpkit", lambda a=algo: train_nlpkit(corpus, work / f"nlpkit-{a}", a, args.epochs, args.threads, []))]
        for tool, run in runs if n % 2 == 0 else runs[::-1]:  # alternate who goes first
            print(f"training {tool} {algo} ...", file=sys.stderr, flush=True)
            timing = run()
            results[f"{tool}-{algo}"] = {**timing, **evaluate(work / f"{tool}-{algo}")}
            print(f"  {tool}-{algo}: {results[f'{tool}-{algo}']}", file=sys.stderr, flush=True)
    if "glove" in args.algos.split(","):
        print("training nlpkit glove ...", file=sys.stderr, flush=True)
        # x_max 10 and window 10 as the reference demo on text8: x_max 100 starves rare words below ~100M tokens
        timing = train_nlpkit(corpus, work / "nlpkit-glove", "glove", args.glove_epochs, args.threads, ["--window", "10", "--x-max", "10"])
        results["nlpkit-glove"] = {**timing, **evaluate(work / "nlpkit-glove")}
    return results


def bench_queries(work: Path) -> dict[str, float]:
    import numpy as np

    from nlpkit.embeddings.formats import export_vectors, import_model

    words = []
    seen: set[str] = set()
    for line in open(EVAL / "questions-words.txt", encoding="utf-8"):
        for w in ([] if line.startswith(":") else line.split()):
            if w not in seen:
                seen.add(w)
                words.append(w)
    words += [f"w{i}" for i in range(100_000 - len(words))]
    rng = np.random.default_rng(0)
    out: dict[str, float] = {}
    for dim in (300, 100):
        model = work / f"random-100k-{dim}"
        if not model.exists():
            export_vectors(words, rng.normal(size=(len(words), dim)).astype(np.float32), work / "tmp.bin", "word2vec-bin")
            import_model(work / "tmp.bin", model)
        if dim == 300:
            walls = []
            for _ in range(5):
                start = time.perf_counter()
                subprocess.run(nlpkit_cmd("analogy", "-m", str(model), "Athens:Greece::Baghdad"), check=True, capture_output=True)
                walls.append(time.perf_counter() - start)
            out["analogy_cold_best_s"] = round(min(walls), 3)
            out["analogy_cold_median_s"] = round(statistics.median(walls), 3)
        for restrict in (30000, 100000):
            start = time.perf_counter()
            subprocess.run(nlpkit_cmd("embed", "eval", "-m", str(model), "--analogies", str(EVAL / "questions-words.txt"),
                                      "--restrict-vocab", str(restrict)), check=True, capture_output=True)
            out[f"eval_google_{dim}d_restrict{restrict}_s"] = round(time.perf_counter() - start, 2)
    out["load"] = round(os.getloadavg()[0], 1)
    return out


def table(results: dict[str, dict]) -> str:
    lines = [f"{'model':<14} {'wall s':>8} {'analogy':>8} {'sem':>6} {'syn':>6} {'ws353':>7} {'simlex':>7} {'vocab':>7} {'load':>9}"]
    for name, r in results.items():
        lines.append(f"{name:<14} {r['wall_s']:>8.1f} {100 * r['analogy']:>7.2f}% {100 * r['semantic']:>5.1f}% {100 * r['syntactic']:>5.1f}% "
                     f"{r['ws353'] or 0:>7.3f} {r['simlex'] or 0:>7.3f} {r['vocab']:>7} {r['load_before']:>4}/{r['load_after']:<4}")
    for algo in ("sg", "cbow"):
        g, n = results.get(f"gensim-{algo}"), results.get(f"nlpkit-{algo}")
        if g and n:
            lines.append(
                f"{algo}: time nlpkit/gensim {n['wall_s'] / g['wall_s']:.2f} (goal <= 1.00); analogy {100 * (n['analogy'] - g['analogy']):+.2f} points "
                f"(goal >= -1); ws353 {n['ws353'] - g['ws353']:+.3f}, simlex {n['simlex'] - g['simlex']:+.3f} (goal >= -0.02)"
            )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", default=str(ROOT / "data/full/debian_prose/corpus.txt"))
    p.add_argument("--work", default=str(ROOT / "bench-out/embed"))
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--glove-epochs", type=int, default=25)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--max-words", type=int, default=0, help="use only a prefix of this many words (0 = all)")
    p.add_argument("--algos", default="sg,cbow,glove")
    p.add_argument("--skip-training", action="store_true")
    p.add_argument("--skip-queries", action="store_true")
    args = p.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {"args": vars(args), "cpus": os.cpu_count()}
    if not args.skip_training:
        corpus = work / "corpus.txt"
        report["words"] = prepare(Path(args.corpus), corpus, args.max_words)
        print(f"corpus: {report['words']:,} words (lowercased, punctuation split)", file=sys.stderr)
        report["training"] = bench_training(args, corpus, work)
        print(table(report["training"]))
    if not args.skip_queries:
        report["queries"] = bench_queries(work)
        print("queries:", json.dumps(report["queries"]))
    (work / "results.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
