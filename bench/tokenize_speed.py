"""Benchmark: `nlpkit tokenize` end to end versus the raw `tokenizers` library.

(Not named tokenize.py: a script of that name would shadow the standard library's tokenize module.)

    python bench/tokenize_speed.py [--input FILE] [--min-mb 40] [--rounds 2]

Input: >= 40 MB of real English, by default the IMDB unlabelled reviews from ../shared/data
(decompressed once into bench/out/). Tokenizer: the bert-base-uncased vocab.txt, lowercased.

Measured, alternating the contenders in each round (best of the rounds is reported):
- limit: `Tokenizer.encode_batch` alone on the lines already in memory (and `encode_batch_fast`);
- nlpkit: `nlpkit tokenize -m vocab.txt FILE > out` as a new process: start-up, reading,
  encoding, writing (tokens and ids formats);
- naive: a one-thread read -> encode_batch -> write loop in this process (what nlpkit overlaps);
- reference: the pure-Python BERT tokenizer (transformers.BertTokenizer) on a 2 MB slice.
Prints MB/s for each and the ratios the issue asks for.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VOCAB = ROOT / "corpora" / "bert_vocab" / "vocab.txt"
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "imdb" / "imdb_unsup.txt.gz"


def prepare_input(path: Path | None, min_mb: float) -> Path:
    if path is not None:
        return path
    out = ROOT / "bench" / "out" / "imdb_unsup.txt"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(DEFAULT_SOURCE, "rb") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    size_mb = out.stat().st_size / 1e6
    if size_mb < min_mb:
        sys.exit(f"{out} has {size_mb:.1f} MB, less than {min_mb} MB")
    return out


def time_limit(lines: list[str], fast: bool) -> float:
    from nlpkit.tokenize.wordpiece import load_tokenizer

    tok = load_tokenizer(VOCAB)
    encode = tok.encode_batch_fast if fast else tok.encode_batch
    start = time.perf_counter()
    for i in range(0, len(lines), 4096):
        encode(lines[i : i + 4096], add_special_tokens=False)
    return time.perf_counter() - start


def time_nlpkit(path: Path, fmt: str, out: Path) -> float:
    cmd = [sys.executable, "-m", "nlpkit_cli", "tokenize", "-m", str(VOCAB), "-f", fmt, str(path)]
    start = time.perf_counter()
    with open(out, "wb") as f:
        subprocess.run(cmd, stdout=f, check=True)
    return time.perf_counter() - start


def time_naive(path: Path, out: Path) -> float:
    from nlpkit.tokenize.wordpiece import load_tokenizer, vocab_lines

    start = time.perf_counter()
    tok = load_tokenizer(VOCAB)
    pieces = vocab_lines(tok)
    with open(path, encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
        batch: list[str] = []
        for line in src:
            batch.append(line.rstrip("\n"))
            if len(batch) == 4096:
                _write(dst, tok.encode_batch_fast(batch, add_special_tokens=False), pieces)
                batch = []
        _write(dst, tok.encode_batch_fast(batch, add_special_tokens=False), pieces)
    return time.perf_counter() - start


def _write(dst, encodings, pieces) -> None:
    dst.write("".join(" ".join(pieces[i] for i in e.ids) + "\n" for e in encodings))


def reference_mb_per_s(lines: list[str], budget_bytes: int = 2_000_000) -> float | None:
    try:
        from transformers import BertTokenizer
    except ImportError:
        return None
    ref = BertTokenizer(str(VOCAB), do_lower_case=True)
    chunk, size = [], 0
    for line in lines:
        chunk.append(line)
        size += len(line.encode()) + 1
        if size >= budget_bytes:
            break
    start = time.perf_counter()
    for line in chunk:
        ref.tokenize(line)
    return size / 1e6 / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path)
    parser.add_argument("--min-mb", type=float, default=40.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    path = prepare_input(args.input, args.min_mb)
    mb = path.stat().st_size / 1e6
    lines = path.read_text(encoding="utf-8").split("\n")
    out = ROOT / "bench" / "out" / "tokens.out"
    best: dict[str, float] = {}
    for round_ in range(args.rounds):
        for name, fn in [
            ("limit encode_batch", lambda: time_limit(lines, fast=False)),
            ("nlpkit tokens", lambda: time_nlpkit(path, "tokens", out)),
            ("limit encode_batch_fast", lambda: time_limit(lines, fast=True)),
            ("nlpkit ids", lambda: time_nlpkit(path, "ids", out)),
            ("naive loop", lambda: time_naive(path, out)),
        ]:
            seconds = fn()
            best[name] = min(best.get(name, float("inf")), seconds)
            print(f"round {round_ + 1}: {name:26s} {seconds:7.2f} s  {mb / seconds:6.1f} MB/s", file=sys.stderr)
    ref = reference_mb_per_s(lines)
    print(f"\ninput: {path} ({mb:.1f} MB, {len(lines):,} lines); best of {args.rounds} rounds")
    for name, seconds in best.items():
        print(f"{name:26s} {mb / seconds:7.1f} MB/s")
    limit = best["limit encode_batch"]
    print(f"\nnlpkit tokens / encode_batch limit:      {limit / best['nlpkit tokens']:.2f}  (goal >= 0.80)")
    print(f"nlpkit ids    / encode_batch limit:      {limit / best['nlpkit ids']:.2f}")
    print(f"nlpkit tokens / encode_batch_fast limit: {best['limit encode_batch_fast'] / best['nlpkit tokens']:.2f}")
    print(f"naive loop    / encode_batch limit:      {limit / best['naive loop']:.2f}")
    if ref is not None:
        print(f"pure-Python reference (transformers.BertTokenizer): {ref:.2f} MB/s; "
              f"nlpkit tokens is {mb / best['nlpkit tokens'] / ref:.1f}x faster")


if __name__ == "__main__":
    main()
