"""Benchmark of the n-gram path against KenLM, side by side, alternating the contenders.

    python bench/lm.py [--text FILE] [--words 10000000] [--sentences 100000] [--order 5] [--rounds 3]
    python bench/lm.py --model DIR --test FILE        # score an existing model only

1. Training: wall time and peak RSS of `nlpkit lm train --arch ngram` (with `--memory`), and of
   KenLM's `lmplz -S` on the same text when an `lmplz` binary is on PATH (`bash bench/build_kenlm.sh`
   builds it from the kenlm sdist; the `kenlm` pip wheel has only the query side), else it says so.
   nlpkit is timed writing its default output (ngram.bin); `--with-arpa` times `lm train --arpa`.
2. Size: `ngram.bin` (and with `--quantize 8`) against KenLM's binaries: `build_binary probing`
   and `trie` when `build_binary` is on PATH, else KenLM's documented probing size (1.5 slots of
   8-byte key + 4-byte prob + 4-byte backoff per n-gram; no backoff at the top order).
3. Cold start: `nlpkit lm score -m DIR` on one sentence as a new process, against a new Python
   process that imports `kenlm`, loads the model and scores the sentence (median of --cold runs).
4. Throughput, end to end on --sentences lines, JSONL out: `nlpkit lm score -f jsonl FILE` (as a
   process, model load included) against a Python process reading the same file, summing each
   line's kenlm `full_scores` in float64 and writing the same JSONL fields (`text`, `log10_prob`,
   `n_tokens`, `n_oov`, `ppl`, `tokens`, `oov`), alternating; ratios of the medians. The kenlm
   process reports its load time, and the ratio is also given without it (an ARPA load is slow;
   a KenLM binary would not be).
5. Agreement: per-sentence |ours - KenLM| with float64 sums of `full_scores` (goal <= 1e-5), and
   the perplexity cost of `--quantize 8`.

Peer: `pip install -r bench/requirements-lm.txt`. Default text: data/full/debian_prose/corpus.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEXT = next((p for p in [ROOT / "data/full/debian_prose/corpus.txt", Path("/work/data/full/debian_prose/corpus.txt")]
                     if p.exists()), None)
NLPKIT = [sys.executable, "-m", "nlpkit_cli"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

# The kenlm side of the throughput row: the same file in, the same JSONL fields out, the log10 p of a
# line the float64 sum of full_scores (kenlm's score() sums in float32 and drifts on long lines).
KENLM_SCORE = r"""
import json, math, sys, time
t0 = time.perf_counter()
import kenlm
model = kenlm.Model(sys.argv[1])
load = time.perf_counter() - t0
t1 = time.perf_counter()
dumps, out = json.dumps, sys.stdout
def num(x):
    return float(f"{x:.6g}") if math.isfinite(x) else None
with open(sys.argv[2], encoding="utf-8") as f:
    for line in f:
        line = line.rstrip("\n")
        lp, oov = 0.0, 0
        for p, _, is_oov in model.full_scores(line, bos=True, eos=True):
            lp += p
            oov += is_oov
        n = len(line.split()) + 1
        out.write(dumps({"text": line, "log10_prob": num(lp), "n_tokens": n, "n_oov": oov, "ppl": num(10 ** (-lp / n)),
                         "tokens": n, "oov": oov}, ensure_ascii=False) + "\n")
out.flush()
print(f"{load:.4f} {time.perf_counter() - t1:.4f}", file=sys.stderr)
"""

PEAK = r"""
import resource, subprocess, sys
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)
"""


def run_peak(cmd: list[str], stdin: Path | None = None, stdout: Path | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of ``cmd``, measured by a small parent process of its own."""
    start = time.perf_counter()
    if stdout is not None:  # lmplz writes the ARPA to stdout
        cmd = ["sh", "-c", " ".join(map(_q, cmd)) + f" < {_q(str(stdin))} > {_q(str(stdout))}"]
    out = subprocess.run([sys.executable, "-c", PEAK, *cmd], capture_output=True, text=True, env=ENV, check=True)
    kib, rc = out.stdout.split()
    if rc != "0":
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return time.perf_counter() - start, int(kib) / 1024


def _q(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


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


def bench_training(train: Path, args: argparse.Namespace, tmp: Path) -> Path:
    lmplz = shutil.which("lmplz")
    ours = tmp / "ours"
    for r in range(args.rounds if lmplz else 1):
        shutil.rmtree(ours, ignore_errors=True)
        secs, mib = run_peak([*NLPKIT, "lm", "train", str(train), "-o", str(ours), "--order", str(args.order),
                              "--memory", args.memory, "--temp-dir", str(tmp), "--quiet", *(["--arpa"] if args.with_arpa else [])])
        what = "ngram.bin + ARPA" if args.with_arpa else "ngram.bin, its default output"
        print(f"train nlpkit (round {r + 1}): {secs:.1f} s, peak {mib:.0f} MiB (--memory {args.memory}; {what})")
        if lmplz:
            k_secs, k_mib = run_peak([lmplz, "-o", str(args.order), "-S", args.memory, "-T", str(tmp)],
                                     stdin=train, stdout=tmp / "kenlm.arpa")
            print(f"train lmplz  (round {r + 1}): {k_secs:.1f} s, peak {k_mib:.0f} MiB; "
                  f"ratio time {secs / k_secs:.2f}, memory {mib / k_mib:.2f}")
    if not lmplz:
        print("train lmplz: not available (no lmplz on PATH; the kenlm pip module has only the query side, and "
              "KenLM's sources cannot be fetched here to build it)")
    return ours


def bench_size(model: Path, arpa: Path, tmp: Path) -> Path:
    config = json.loads((model / "config.json").read_text())
    ngrams = config["train"]["ngrams"]
    ours = (model / "ngram.bin").stat().st_size + (model / "vocab.txt").stat().st_size
    quant = tmp / "quant"
    shutil.rmtree(quant, ignore_errors=True)
    subprocess.run([*NLPKIT, "lm", "import", str(arpa), "-o", str(quant), "--quantize", "8", "-q"],
                   check=True, env=ENV)
    q_size = (quant / "ngram.bin").stat().st_size + (quant / "vocab.txt").stat().st_size
    print(f"size nlpkit ngram.bin + vocab: {ours / 2**20:.1f} MiB; --quantize 8: {q_size / 2**20:.1f} MiB; "
          f"ARPA {arpa.stat().st_size / 2**20:.1f} MiB")
    build = shutil.which("build_binary")
    if build:
        for kind in ("probing", "trie"):
            subprocess.run([build, kind, str(arpa), str(tmp / f"kenlm.{kind}")], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            size = (tmp / f"kenlm.{kind}").stat().st_size
            print(f"size KenLM {kind}: {size / 2**20:.1f} MiB (nlpkit/KenLM {ours / size:.2f})")
    else:
        probing = 8 * ngrams[0] + sum(1.5 * (16 if k < len(ngrams) - 1 else 12) * n for k, n in enumerate(ngrams) if k)
        print(f"size KenLM probing (formula; no build_binary on PATH): {probing / 2**20:.1f} MiB "
              f"(nlpkit/KenLM {ours / probing:.2f})")
    return quant


def _seconds(cmd: list[str], stdin: str = "") -> float:
    start = time.perf_counter()
    subprocess.run(cmd, input=stdin, text=True, capture_output=True, check=True, env=ENV)
    return time.perf_counter() - start


def bench_cold(model: Path, kenlm_model: Path, runs: int) -> None:
    """One sentence from a cold start, each contender a new process, alternating within each run."""
    sentence = "the company said it expects higher earnings\n"
    code = f"import kenlm; print(kenlm.Model({str(kenlm_model)!r}).score({sentence.strip()!r}))"
    cases = {"nlpkit lm score": ([*NLPKIT, "lm", "score", "-m", str(model)], sentence),
             f"kenlm module on {kenlm_model.name}": ([sys.executable, "-c", code], ""),
             "nlpkit --version": ([*NLPKIT, "--version"], ""),
             "python + numpy floor": ([sys.executable, "-c", "import numpy"], "")}
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, (cmd, stdin) in cases.items():
            times[name].append(_seconds(cmd, stdin))
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"cold one sentence (median of {runs}): " + ", ".join(f"{name} {m:.3f} s" for name, m in med.items())
          + f"; nlpkit lm score is {med['nlpkit lm score'] - med['nlpkit --version']:+.3f} s above --version (goal <= 0.05)")


def bench_throughput(model: Path, kenlm_model: Path, test: Path, rounds: int, threads: list[int]) -> None:
    """Both contenders as processes, end to end (start-up, load, read, score, JSONL out), alternating."""
    n = sum(1 for _ in open(test, encoding="utf-8"))
    ours: dict[int, list[float]] = {t: [] for t in threads}
    ken_all, ken_loop = [], []
    for r in range(rounds):  # alternating, so that a busy machine hurts every contender alike
        for t in threads:
            start = time.perf_counter()
            subprocess.run([*NLPKIT, "lm", "score", "-m", str(model), "-f", "jsonl", "--threads", str(t), str(test)],
                           stdout=subprocess.DEVNULL, check=True, env=ENV)
            ours[t].append(time.perf_counter() - start)
            print(f"throughput round {r + 1}: nlpkit --threads {t}: {n / ours[t][-1]:,.0f} lines/s (start-up and load included)")
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", KENLM_SCORE, str(kenlm_model), str(test)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, check=True)
        ken_all.append(time.perf_counter() - start)
        load, loop = map(float, out.stderr.split()[-2:])
        ken_loop.append(ken_all[-1] - load)
        print(f"throughput round {r + 1}: kenlm on {kenlm_model.name}: {n / ken_all[-1]:,.0f} lines/s with start-up and load, "
              f"{n / ken_loop[-1]:,.0f} lines/s without its {load:.2f} s model load")
    med = statistics.median
    for t in threads:
        print(f"throughput ratio nlpkit --threads {t} / kenlm (median of {rounds}): {med(ken_all) / med(ours[t]):.2f}x "
              f"against kenlm end to end, {med(ken_loop) / med(ours[t]):.2f}x against kenlm without its model load "
              f"(goal >= 1.0x; nlpkit's own start-up and load always included)")


def bench_agreement(model: Path, arpa: Path, quant: Path, test: Path, sentences: int) -> None:
    import kenlm
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from nlpkit.lm.ngram_model import load_ngram

    lines = Path(test).read_text(encoding="utf-8").splitlines()[:sentences]
    ken = kenlm.Model(str(arpa))
    theirs = np.array([sum(float(p) for p, _, _ in ken.full_scores(t, bos=True, eos=True)) for t in lines])
    ppl = []
    for d in (model, quant):
        s = load_ngram(d).score_lines(lines)
        mine = np.bincount(s.line, weights=s.logp, minlength=len(lines))
        ppl.append(10 ** (-s.logp.sum() / len(s.logp)))
        if d == model:
            diff = np.abs(mine - theirs)
            worst = int(diff.argmax())
            print(f"agreement on {len(lines):,} lines: max |diff| {diff.max():.2e} (line {worst + 1}, "
                  f"{len(lines[worst].split())} words), mean {diff.mean():.2e} (goal <= 1e-5)")
    print(f"perplexity: {ppl[0]:.4f}; with --quantize 8 {ppl[1]:.4f} ({100 * (ppl[1] / ppl[0] - 1):+.2f}%)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--text", type=Path, default=DEFAULT_TEXT, help="text to split into train and test")
    ap.add_argument("--model", type=Path, help="an existing model dir (with model.arpa) instead of training one")
    ap.add_argument("--test", type=Path, help="lines to score (default: held out from --text)")
    ap.add_argument("--order", type=int, default=5)
    ap.add_argument("--words", type=int, default=10_000_000)
    ap.add_argument("--sentences", type=int, default=100_000)
    ap.add_argument("--memory", default="4G", help="--memory for nlpkit and -S for lmplz")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per comparison")
    ap.add_argument("--cold", type=int, default=10, help="runs per cold-start median")
    ap.add_argument("--threads", type=int, nargs="+", default=[0, 1], help="nlpkit lm score --threads values to run (0: its default, one per core)")
    ap.add_argument("--train-only", action="store_true")
    ap.add_argument("--with-arpa", action="store_true",
                    help="time `lm train --arpa` (ngram.bin and the ARPA; lmplz writes only the ARPA) instead of lm train's default "
                         "output; without it the ARPA that the kenlm module loads is made afterwards by `lm export`, untimed")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-lm-", dir=os.environ.get("TMPDIR")))
    try:
        if args.model is None:
            if args.text is None:
                sys.exit("no text: run `make corpora-full` or pass --text FILE")
            train, test, n = split_text(args.text, args.words, args.sentences, tmp)
            print(f"text: {args.text}, {n:,} training words, order {args.order}")
            model = bench_training(train, args, tmp)
            if args.train_only:
                return
        else:
            model, test = args.model, args.test
        arpa = model / "model.arpa"
        if not arpa.exists():
            arpa = tmp / "model.arpa"
            subprocess.run([*NLPKIT, "lm", "export", "-m", str(model), "-o", str(arpa)], check=True, env=ENV)
        quant = bench_size(model, arpa, tmp)
        kenlm_model = tmp / "kenlm.probing" if (tmp / "kenlm.probing").exists() else arpa
        bench_cold(model, kenlm_model, args.cold)
        bench_throughput(model, kenlm_model, Path(test), args.rounds, args.threads)
        bench_agreement(model, arpa, quant, Path(test), args.sentences)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
