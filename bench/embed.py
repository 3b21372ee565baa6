"""Benchmark `nlpkit embed train` against gensim 4.4 Word2Vec and Stanford GloVe, and time the query commands.

    pip install -r bench/requirements-embed.txt
    python bench/embed.py --corpus data/full/debian_prose/corpus.txt --epochs 5 --threads 2

Steps:
1. The corpus is lowercased and punctuation is split off words (one line in, one line out), into
   WORK/corpus.txt; ``--max-words N`` keeps a prefix of N words (whole lines).
2. For each of sg/cbow x ns/hs (``--configs``), gensim (``corpus_file`` mode, its fastest,
   ``workers=threads``; ``--gensim-input iterable`` reads a ``LineSentence`` instead) and nlpkit
   (``--threads``, the compiled kernel on CPU) train with the same settings: dim 100, window 5,
   negative 5 (hs: none), min-count 5, sample 1e-3, lr 0.025 -> 0.0001, the same epochs. The two
   run side by side, one after the other, the order alternating from one configuration (and
   repeat) to the next; wall time is measured around each whole command
   (vocabulary scan included). nlpkit's compiled kernel is loaded once on a tiny corpus first
   (numba compiles it on first use and caches it), as gensim's is compiled at install time.
3. Both models are scored by the same evaluator (``--evaluator nlpkit`` or ``gensim``): Google
   analogies (3CosAdd, restrict 30000, case-insensitive), WordSim-353 and SimLex-999 Spearman.
   gensim's vectors are exported as word2vec binary and imported with `nlpkit embed import`.
4. GloVe: nlpkit against Stanford's tools (``glove``, ``vocab_count``, ``cooccur``, ``shuffle`` on
   PATH, built from github.com/stanfordnlp/GloVe: ``make`` there and put ``build/`` on PATH) with the
   same window 10, x-max 10, alpha 0.75, lr 0.05, 25 iterations, dim 100, min-count 5. Without the
   tools the report says they are absent and times nlpkit only.
5. Queries: a random 100,000 x 300 model answers one cold `nlpkit analogy` (best and median of
   5 runs), and `nlpkit embed eval` runs the whole Google set on a 100,000-word model.

Ratios are printed per configuration: speed = gensim wall / nlpkit wall (goal >= 1, stretch 1.5),
analogy difference in points (goal >= -1), similarity differences (goal >= -0.02).
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
from gensim.models.word2vec import LineSentence
corpus, out, sg, hs, epochs, workers, seed = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:8])
source = {"corpus_file": corpus} if sys.argv[8] == "file" else {"sentences": LineSentence(corpus)}
m = Word2Vec(**source, sg=sg, hs=hs, negative=0 if hs else 5, vector_size=100, window=5, min_count=5,
             sample=1e-3, alpha=0.025, min_alpha=0.0001, epochs=epochs, workers=workers, seed=seed)
m.wv.save_word2vec_format(out, binary=True)
"""

GENSIM_EVAL = """
import json, sys
from gensim.models import KeyedVectors
vec, questions, ws, simlex = sys.argv[1:5]
kv = KeyedVectors.load_word2vec_format(vec, binary=True)
score, sections = kv.evaluate_word_analogies(questions, restrict_vocab=30000, case_insensitive=True)
part = {s["section"]: len(s["correct"]) / max(1, len(s["correct"]) + len(s["incorrect"])) for s in sections}
sem = [s for s in sections if not s["section"].startswith("gram") and s["section"] != "Total accuracy"]
syn = [s for s in sections if s["section"].startswith("gram")]
acc = lambda ss: sum(len(s["correct"]) for s in ss) / max(1, sum(len(s["correct"]) + len(s["incorrect"]) for s in ss))
pairs = [kv.evaluate_word_pairs(f, case_insensitive=True, delimiter=d)[1][0] for f, d in ((ws, "\\t"), (simlex, "\\t"))]
print(json.dumps({"vocab": len(kv), "analogy": score, "semantic": acc(sem), "syntactic": acc(syn), "analogy_oov": None,
                  "ws353": pairs[0], "simlex": pairs[1]}))
"""

STANFORD = ("vocab_count", "cooccur", "shuffle", "glove")
CONFIGS = ("sg-ns", "cbow-ns", "sg-hs", "cbow-hs")


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


def train_nlpkit(corpus: Path, out: Path, config: str, epochs: int, threads: int, extra: list[str]) -> dict[str, float]:
    algo, _, loss = config.partition("-")
    shutil.rmtree(out, ignore_errors=True)
    cmd = nlpkit_cmd("embed", "train", str(corpus), "-o", str(out), "--algo", algo, "--dim", "100",
                     "--min-count", "5", "--epochs", str(epochs), "--threads", str(threads), "--device", "cpu",
                     "--checkpoint-every", "0", "--seed", "1", "--force", *extra)
    if algo != "glove":
        cmd += ["--window", "5", "--loss", loss, "--negative", "5", "--sample", "1e-3", "--min-lr", "0.0001"]  # --lr: nlpkit's default
    return timed(cmd, out.with_suffix(".log"))


def train_gensim(corpus: Path, out: Path, config: str, epochs: int, threads: int, source: str = "file") -> dict[str, float]:
    algo, _, loss = config.partition("-")
    vec = out.with_suffix(".bin")
    cmd = [sys.executable, "-c", GENSIM, str(corpus), str(vec), str(int(algo == "sg")), str(int(loss == "hs")), str(epochs), str(threads), "1",
           source]
    result = timed(cmd, out.with_suffix(".log"))
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run(nlpkit_cmd("embed", "import", str(vec), "-o", str(out)), check=True, capture_output=True)
    return result


def stanford_tools() -> dict[str, str] | None:
    """Paths of Stanford GloVe's four programs, or None when any is missing from PATH."""
    found = {name: shutil.which(name) for name in STANFORD}
    return None if None in found.values() else found  # type: ignore[return-value]


def train_stanford(tools: dict[str, str], corpus: Path, out: Path, epochs: int, threads: int) -> dict[str, float]:
    """vocab_count | cooccur | shuffle | glove with nlpkit's GloVe settings; timed as one job."""
    work = out.with_suffix(".stanford")
    work.mkdir(exist_ok=True)
    vocab, cooc, shuf, vectors = work / "vocab.txt", work / "cooc.bin", work / "cooc.shuf.bin", work / "vectors"
    script = (
        f"{tools['vocab_count']} -min-count 5 -verbose 0 < {corpus} > {vocab} && "
        f"{tools['cooccur']} -memory 4.0 -vocab-file {vocab} -verbose 0 -window-size 10 < {corpus} > {cooc} && "
        f"{tools['shuffle']} -memory 4.0 -verbose 0 < {cooc} > {shuf} && "
        f"{tools['glove']} -save-file {vectors} -threads {threads} -input-file {shuf} -x-max 10 -alpha 0.75 -eta 0.05 "
        f"-iter {epochs} -vector-size 100 -binary 0 -write-header 1 -vocab-file {vocab} -verbose 0"
    )
    result = timed(["bash", "-c", script], out.with_suffix(".log"))
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run(nlpkit_cmd("embed", "import", str(vectors) + ".txt", "-o", str(out)), check=True, capture_output=True)
    return result


def evaluate(model: Path, evaluator: str) -> dict[str, float | None]:
    if evaluator == "gensim":
        vec = model.with_suffix(".eval.bin")
        subprocess.run(nlpkit_cmd("embed", "export", "-m", str(model), "-o", str(vec), "-f", "word2vec-bin"), check=True, capture_output=True)
        out = subprocess.run([sys.executable, "-c", GENSIM_EVAL, str(vec), str(EVAL / "questions-words.txt"), str(EVAL / "wordsim353.tsv"),
                              str(EVAL / "simlex999.txt")], check=True, capture_output=True, text=True)
        return json.loads(out.stdout)
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


def warm_up(work: Path, corpus: Path) -> None:
    """Load (and on a fresh checkout compile) nlpkit's kernel before anything is timed."""
    tiny = work / "warmup.txt"
    with open(corpus, encoding="utf-8") as f, open(tiny, "w", encoding="utf-8") as out:
        out.writelines(line for _, line in zip(range(2000), f))
    for config in ("sg-ns", "sg-hs"):
        train_nlpkit(tiny, work / "warmup-model", config, 1, 1, [])
    shutil.rmtree(work / "warmup-model", ignore_errors=True)


def bench_word2vec(args: argparse.Namespace, corpus: Path, work: Path) -> dict[str, dict]:
    results: dict[str, dict] = {}
    configs = [c for c in args.configs.split(",") if c in CONFIGS]
    if configs:
        warm_up(work, corpus)
    turn = 0
    for config in configs:
        for rep in range(args.repeats):
            runs = [("gensim", lambda c=config: train_gensim(corpus, work / f"gensim-{c}", c, args.epochs, args.threads, args.gensim_input)),
                    ("nlpkit", lambda c=config: train_nlpkit(corpus, work / f"nlpkit-{c}", c, args.epochs, args.threads, []))]
            for tool, run in runs if turn % 2 == 0 else runs[::-1]:  # alternate who goes first
                print(f"training {tool} {config} (repeat {rep + 1}) ...", file=sys.stderr, flush=True)
                timing = run()
                name = f"{tool}-{config}"
                walls = results.get(name, {}).get("walls", []) + [timing["wall_s"]]
                results[name] = {**timing, "walls": walls, "wall_s": round(statistics.median(walls), 1), **evaluate(work / name, args.evaluator)}
                print(f"  {name}: {results[name]}", file=sys.stderr, flush=True)
            turn += 1
    return results


def bench_glove(args: argparse.Namespace, corpus: Path, work: Path) -> dict[str, dict]:
    results: dict[str, dict] = {}
    tools = stanford_tools()
    if tools is None:
        print(f"Stanford GloVe: absent ({', '.join(STANFORD)} not all on PATH); timing nlpkit only", file=sys.stderr)
    runs = [("nlpkit", lambda: train_nlpkit(corpus, work / "nlpkit-glove", "glove", args.glove_epochs, args.threads,
                                             ["--window", "10", "--x-max", "10", "--alpha", "0.75", "--lr", "0.05"]))]
    if tools is not None:
        runs.append(("stanford", lambda: train_stanford(tools, corpus, work / "stanford-glove", args.glove_epochs, args.threads)))
    for tool, run in runs:
        print(f"training {tool} glove ...", file=sys.stderr, flush=True)
        results[f"{tool}-glove"] = {**run(), **evaluate(work / f"{tool}-glove", args.evaluator)}
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
    lines = [f"{'model':<16} {'wall s':>8} {'analogy':>8} {'sem':>6} {'syn':>6} {'ws353':>7} {'simlex':>7} {'vocab':>7} {'load':>9}"]
    for name, r in results.items():
        lines.append(f"{name:<16} {r['wall_s']:>8.1f} {100 * r['analogy']:>7.2f}% {100 * r['semantic']:>5.1f}% {100 * r['syntactic']:>5.1f}% "
                     f"{r['ws353'] or 0:>7.3f} {r['simlex'] or 0:>7.3f} {r['vocab']:>7} {r['load_before']:>4}/{r['load_after']:<4}")
    for config in (*CONFIGS, "glove"):
        ref = "stanford" if config == "glove" else "gensim"
        g, n = results.get(f"{ref}-{config}"), results.get(f"nlpkit-{config}")
        if g and n:
            goal = "goal >= 0.50" if config == "glove" else "goal >= 1.00, stretch 1.50"
            lines.append(
                f"{config}: speed nlpkit vs {ref} {g['wall_s'] / n['wall_s']:.2f}x ({goal}); analogy {100 * (n['analogy'] - g['analogy']):+.2f} points "
                f"(goal >= -1); ws353 {(n['ws353'] or 0) - (g['ws353'] or 0):+.3f}, simlex {(n['simlex'] or 0) - (g['simlex'] or 0):+.3f} (goal >= -0.02)"
            )
        elif n and config == "glove":
            lines.append("glove: Stanford's tools absent (put vocab_count, cooccur, shuffle and glove on PATH)")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", default=str(ROOT / "data/full/debian_prose/corpus.txt"))
    p.add_argument("--work", default=str(ROOT / "bench-out/embed"))
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--glove-epochs", type=int, default=25)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--max-words", type=int, default=0, help="use only a prefix of this many words (0 = all)")
    p.add_argument("--configs", default=",".join(CONFIGS) + ",glove", help="of sg-ns, cbow-ns, sg-hs, cbow-hs, glove")
    p.add_argument("--repeats", type=int, default=1, help="alternating runs per word2vec configuration (median wall time)")
    p.add_argument("--evaluator", choices=("nlpkit", "gensim"), default="nlpkit", help="scores every model the same way")
    p.add_argument("--gensim-input", choices=("file", "iterable"), default="file",
                   help="gensim reads corpus_file (fastest; its learning rate decays per worker, so with N workers it "
                        "only reaches the point 1/N of the way through each epoch) or a LineSentence iterable (one global "
                        "linear decay, as nlpkit's)")
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
        report["training"] = bench_word2vec(args, corpus, work)
        if "glove" in args.configs.split(","):
            report["training"].update(bench_glove(args, corpus, work))
        print(table(report["training"]))
    if not args.skip_queries:
        report["queries"] = bench_queries(work)
        print("queries:", json.dumps(report["queries"]))
    (work / "results.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
