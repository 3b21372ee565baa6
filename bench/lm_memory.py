"""Memory scaling of n-gram training under a budget: peak RSS of `lm train --memory` at growing sizes.

    python bench/lm_memory.py [--text FILE] [--words 10000000 30000000] [--order 5] [--memory 1G]

For each size the first N words of --text (repeated when it is shorter) are written to a file and
`nlpkit lm train --arch ngram --order O --memory M --temp-dir TMP` runs on it as a child process.
Printed per size: words, distinct n-grams, wall seconds, peak RSS (the child's ru_maxrss) and the
peak per distinct n-gram, plus the largest temp-dir size seen (sampled every 0.5 s). With a bound,
peak RSS grows far slower than the n-grams; without one it grows with them (~60 bytes each).
The file pages of the memory-mapped work files are released after each chunk, so the RSS shown
is the process's own memory, not the page cache. Smoke test: --words 200000 --memory 8M.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEXT = next((p for p in [ROOT / "data/full/debian_prose/corpus.txt", Path("/work/main/data/full/debian_prose/corpus.txt")]
                     if p.exists()), None)


def write_words(src: Path, words: int, out: Path) -> int:
    """The first ``words`` words of ``src`` (whole lines, the file repeated as needed)."""
    n = 0
    with open(out, "w", encoding="utf-8") as o:
        while n < words:
            before = n
            with open(src, encoding="utf-8", errors="replace") as f:
                for line in f:
                    o.write(line)
                    n += len(line.split())
                    if n >= words:
                        break
            if n == before:
                raise SystemExit(f"{src} has no words")
    return n


def dir_size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


def train_peak(cmd: list[str], temp_dir: Path) -> tuple[float, float, int]:
    """Wall seconds, the child's peak RSS in MiB, and the largest temp-dir size in bytes."""
    largest, done = [0], threading.Event()

    def watch() -> None:
        while not done.wait(0.5):
            largest[0] = max(largest[0], dir_size(temp_dir))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start = time.perf_counter()
    rc = subprocess.run(cmd, env={**os.environ, "PYTHONPATH": str(ROOT)}).returncode
    wall = time.perf_counter() - start
    done.set()
    watcher.join()
    if rc != 0:
        raise SystemExit(f"failed ({rc}): {' '.join(cmd)}")
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, largest[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--text", type=Path, default=DEFAULT_TEXT)
    ap.add_argument("--words", type=int, nargs="+", default=[10_000_000, 30_000_000])
    ap.add_argument("--order", type=int, default=5)
    ap.add_argument("--memory", default="1G")
    ap.add_argument("--temp-dir", type=Path, default=None, help="where the text, spills and model go (default: system tmp)")
    ap.add_argument("--row", action="store_true", help=argparse.SUPPRESS)  # one size, no header (a child run)
    args = ap.parse_args()
    if args.text is None or not args.text.exists():
        raise SystemExit("no --text (make corpora-full writes data/full/debian_prose/corpus.txt)")
    if args.row:
        one_size(args, args.words[0])
        return
    print(f"{'words':>12} {'n-grams':>12} {'wall s':>8} {'peak MiB':>9} {'B/n-gram':>9} {'temp MiB':>9}", flush=True)
    for words in args.words:  # each size in a fresh parent: RUSAGE_CHILDREN is a high-water mark
        subprocess.run([sys.executable, __file__, "--row", "--text", str(args.text), "--words", str(words),
                        "--order", str(args.order), "--memory", args.memory]
                       + (["--temp-dir", str(args.temp_dir)] if args.temp_dir else []), check=True)


def one_size(args: argparse.Namespace, words: int) -> None:
    with tempfile.TemporaryDirectory(prefix="nlpkit-lm-memory-", dir=args.temp_dir) as tmp:
        tmp = Path(tmp)
        n = write_words(args.text, words, tmp / "train.txt")
        spill = tmp / "spill"
        spill.mkdir()
        cmd = [sys.executable, "-m", "nlpkit_cli", "lm", "train", str(tmp / "train.txt"), "-o", str(tmp / "model"),
               "--order", str(args.order), "--memory", args.memory, "--temp-dir", str(spill), "--quiet"]
        wall, mib, temp_bytes = train_peak(cmd, spill)
        ngrams = sum(json.loads((tmp / "model" / "config.json").read_text())["train"]["ngrams"])
        print(f"{n:>12} {ngrams:>12} {wall:>8.1f} {mib:>9.0f} {mib * 2**20 / ngrams:>9.1f} {temp_bytes / 2**20:>9.0f}",
              flush=True)


if __name__ == "__main__":
    main()
