"""GloVe co-occurrence counts in bounded memory (numpy only).

Each pair of words at distance d <= window on the same line adds 1/d to X[i, j] and X[j, i]
(GloVe's symmetric window). Pairs are keyed ``i * V + j`` and summed per chunk. When more than
``max_entries`` distinct entries are held, the buffer is sorted, summed and written to disk as a
run; at the end the runs are merged by key range into buckets of at most about ``max_entries``
entries, each saved as ``bucket-K.keys.npy`` and ``bucket-K.values.npy``. Training then loads one
bucket at a time, so memory is bounded by ``max_entries`` whatever the corpus size.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from nlpkit.embeddings.batches import Chunk


def aggregate(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum ``values`` per distinct key; returns sorted unique keys and their sums."""
    uniq, inverse = np.unique(keys, return_inverse=True)
    return uniq, np.bincount(inverse, weights=values).astype(np.float32)


def chunk_pairs(chunk: Chunk, vocab_size: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j) keys with 1/distance weights in one chunk, both directions."""
    ids, sent = chunk.ids, chunk.sentence
    keys, weights = [], []
    for d in range(1, window + 1):
        if d >= len(ids):
            break
        same = sent[:-d] == sent[d:]
        left, right = ids[:-d][same], ids[d:][same]
        w = np.full(len(left), 1.0 / d, dtype=np.float32)
        keys += [left * vocab_size + right, right * vocab_size + left]
        weights += [w, w]
    if not keys:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    return aggregate(np.concatenate(keys), np.concatenate(weights))


class CooccurrenceCounter:
    """Accumulates chunk counts; spills sorted runs to ``workdir`` past ``max_entries``."""

    def __init__(self, vocab_size: int, window: int, workdir: Path, max_entries: int = 20_000_000) -> None:
        self.vocab_size, self.window = vocab_size, window
        self.workdir = workdir
        self.max_entries = max(1, max_entries)
        self.buffer: list[tuple[np.ndarray, np.ndarray]] = []
        self.buffered = 0
        self.runs: list[Path] = []

    def add_chunks(self, chunks: Iterable[Chunk]) -> None:
        for chunk in chunks:
            keys, values = chunk_pairs(chunk, self.vocab_size, self.window)
            self.buffer.append((keys, values))
            self.buffered += len(keys)
            if self.buffered > self.max_entries:
                self._compact()

    def _merged(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.buffer:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        keys = np.concatenate([k for k, _ in self.buffer])
        values = np.concatenate([v for _, v in self.buffer])
        return aggregate(keys, values)

    def _compact(self) -> None:
        keys, values = self._merged()
        self.buffer, self.buffered = [(keys, values)], len(keys)
        if len(keys) > self.max_entries // 2:  # summing no longer frees enough: spill a run
            path = self.workdir / f"run-{len(self.runs)}"
            _spill(path, keys, values)
            self.runs.append(path)
            self.buffer, self.buffered = [], 0

    def finish(self) -> list[Path]:
        """Write the final buckets (disjoint key ranges, shuffled later); returns their paths."""
        keys, values = self._merged()
        self.buffer = []
        runs = [(np.load(f"{p}.keys.npy", mmap_mode="r"), np.load(f"{p}.values.npy", mmap_mode="r")) for p in self.runs]
        runs.append((keys, values))
        total = sum(len(k) for k, _ in runs)
        n_buckets = max(1, math.ceil(total / self.max_entries))
        bounds = _key_bounds(runs, n_buckets)
        buckets = []
        for b in range(n_buckets):
            lo, hi = bounds[b], bounds[b + 1]
            parts = [(k[np.searchsorted(k, lo) : np.searchsorted(k, hi)], v[np.searchsorted(k, lo) : np.searchsorted(k, hi)]) for k, v in runs]
            bk, bv = aggregate(np.concatenate([k for k, _ in parts]), np.concatenate([v for _, v in parts]))
            path = self.workdir / f"bucket-{b}"
            _spill(path, bk, bv)
            buckets.append(path)
        for p in self.runs:
            Path(f"{p}.keys.npy").unlink()
            Path(f"{p}.values.npy").unlink()
        return buckets


def _spill(path: Path, keys: np.ndarray, values: np.ndarray) -> None:
    """Write one sorted run; a full disk is one clear line and leaves no half-written run."""
    from nlpkit.safeio import disk_full_guard

    for suffix, array in ((".keys.npy", keys), (".values.npy", values)):
        target = Path(f"{path}{suffix}")
        with disk_full_guard(target, keys.nbytes + values.nbytes):
            np.save(target, array)


def _key_bounds(runs: list[tuple[np.ndarray, np.ndarray]], n_buckets: int) -> list[int]:
    """Key boundaries splitting all runs into ``n_buckets`` ranges of similar size."""
    top = max((int(k[-1]) + 1 for k, _ in runs if len(k)), default=1)
    if n_buckets == 1:
        return [0, top]
    sample = np.sort(np.concatenate([np.asarray(k[:: max(1, len(k) // 10_000)]) for k, _ in runs if len(k)]))
    inner = [int(sample[int(len(sample) * q / n_buckets)]) for q in range(1, n_buckets)]
    return [0, *inner, top]


def load_bucket(path: Path, vocab_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows i, columns j, counts x) of one bucket."""
    keys = np.load(f"{path}.keys.npy")
    values = np.load(f"{path}.values.npy")
    return keys // vocab_size, keys % vocab_size, values
