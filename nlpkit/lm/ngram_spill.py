"""Count runs under a memory budget: sorted runs kept in RAM, spilled to disk beyond it, then merged.

Counting (``ngram_count``) turns each chunk of text into sorted per-order (rows, counts) runs. They
are kept as they come; when the runs held exceed a quarter of the budget (``--memory``: merging runs
needs about three times their bytes again, for keys and sort orders), they are merged into one
sorted run and written to ``--temp-dir`` as ``.npy`` files. At the end the runs are merged order by
order in ranges of the first word id: rows sorted lexicographically have a non-decreasing first
column, so each run's rows for an id range are one contiguous slice (found by binary search on the
memory-mapped run), and a range's merge needs only that range in memory. The merged counts are
exactly those of counting everything in memory, so the model does not depend on the budget.
"""

from __future__ import annotations

import logging
import mmap
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from nlpkit.errors import ConfigError

log = logging.getLogger("nlpkit")

MERGE_FACTOR = 4  # a merge of runs peaks at about this many times their bytes
_UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_size(text: str) -> int:
    """Bytes in ``4G``, ``500M``, ``64K`` or ``1000000`` (binary units, as lmplz's ``-S``)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGTB]?)B?\s*", text.upper())
    if not m:
        raise ConfigError(f"--memory {text!r} is not a size", "use e.g. --memory 4G or --memory 500M")
    size = int(float(m.group(1)) * _UNITS[m.group(2)])
    if size < 1:
        raise ConfigError("--memory must be positive", "use e.g. --memory 4G")
    return size


def release(arrays) -> None:  # noqa: ANN001 - an iterable of arrays
    """Unmap the pages of memory-mapped arrays from this process (the data stays in the file and
    the page cache): reading a file through a map would otherwise keep all of it in our RSS."""
    for a in arrays:
        mm = getattr(a, "_mmap", None)
        if mm is not None and not mm.closed:
            mm.madvise(mmap.MADV_DONTNEED)


def merge_runs(rows: list[np.ndarray], counts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """One sorted run with summed counts from several sorted runs (in memory)."""
    from nlpkit.lm.ngram_merge import merge_sorted_runs

    if len(rows) == 1:
        return rows[0], counts[0]
    return merge_sorted_runs(rows, counts)


class RunStore:
    """Per-order sorted count runs, in memory up to ``budget`` bytes and on disk beyond."""

    def __init__(self, order: int, budget: int | None = None, temp_dir: str | Path | None = None) -> None:
        self.order, self.temp_parent = order, temp_dir
        self.budget = None if budget is None else max(1, budget // MERGE_FACTOR)  # runs held; the merge needs the rest
        self.rows: list[list[np.ndarray]] = [[] for _ in range(order)]
        self.counts: list[list[np.ndarray]] = [[] for _ in range(order)]
        self.held = 0  # bytes in the in-memory runs
        self.spilled = 0  # runs on disk
        self.tmp: Path | None = None

    def add(self, rows: list[np.ndarray], counts: list[np.ndarray]) -> None:
        for k in range(self.order):
            self.rows[k].append(rows[k])
            self.counts[k].append(counts[k])
            self.held += rows[k].nbytes + counts[k].nbytes
        if self.budget is not None and self.held > self.budget:
            self._spill()

    def spill_all(self) -> None:
        """Write what is held as a run, so that ``result`` merges into files (given ``out_dir``)."""
        if self.held or not self.spilled:
            self._spill()

    def _spill(self) -> None:
        if self.tmp is None:
            self.tmp = Path(tempfile.mkdtemp(prefix="nlpkit-counts-", dir=self.temp_parent))
        for k in range(self.order):
            r, c = merge_runs(self.rows[k], self.counts[k])
            np.save(self.tmp / f"run{self.spilled}_rows{k + 1}.npy", r)
            np.save(self.tmp / f"run{self.spilled}_counts{k + 1}.npy", c)
        self.rows = [[] for _ in range(self.order)]
        self.counts = [[] for _ in range(self.order)]
        self.held = 0
        self.spilled += 1
        log.info("spilled count run %d to %s", self.spilled, self.tmp)

    def result(self, vocab: int, out_dir: str | Path | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The merged (rows, counts) of every order; removes the spilled runs.

        With ``out_dir`` and runs on disk, each order is merged into files there and returned
        memory-mapped (``rows{k}.u32``, ``counts{k}.i64``), never held in RAM whole.
        """
        try:
            if not self.spilled:
                rows, counts = [], []
                for k in range(self.order):  # each order's runs are dropped as soon as they are merged
                    r, c = merge_runs(self.rows[k], self.counts[k])
                    self.rows[k], self.counts[k] = [], []
                    rows.append(r)
                    counts.append(c)
                return rows, counts
            if self.held:
                self._spill()
            rows, counts = [], []
            for k in range(1, self.order + 1):
                r, c = self._merge_order(k, vocab, None if out_dir is None else Path(out_dir))
                rows.append(r)
                counts.append(c)
            return rows, counts
        finally:
            if self.tmp is not None:
                shutil.rmtree(self.tmp, ignore_errors=True)
                self.tmp = None

    def _merge_order(self, k: int, vocab: int, out_dir: Path | None) -> tuple[np.ndarray, np.ndarray]:
        runs = [(np.load(self.tmp / f"run{i}_rows{k}.npy", mmap_mode="r"),
                 np.load(self.tmp / f"run{i}_counts{k}.npy", mmap_mode="r")) for i in range(self.spilled)]
        ids = np.arange(vocab + 1)
        bounds = []  # (vocab + 1,) per run: rows by first id
        for r, c in runs:
            bounds.append(np.searchsorted(r[:, 0], ids))
            release([r, c])
        per_id = sum(np.diff(b) for b in bounds)
        row_bytes = 4 * k + 8
        cum = np.cumsum(per_id) * row_bytes
        step = max(self.budget or 0, row_bytes)
        cuts = np.unique(np.searchsorted(cum, np.arange(step, cum[-1] + step, step), side="right").clip(1, vocab))
        edges = np.concatenate([[0], cuts[cuts < vocab], [vocab]])
        sink = _Sink(k, out_dir)
        for a, b in zip(edges[:-1], edges[1:]):
            parts = [(r[lo[a] : lo[b]], c[lo[a] : lo[b]]) for (r, c), lo in zip(runs, bounds)]
            parts = [(np.asarray(r), np.asarray(c)) for r, c in parts if len(r)]
            if parts:
                sink.add(*merge_runs([p[0] for p in parts], [p[1] for p in parts]))
            release(x for run in runs for x in run)
        return sink.result()


class _Sink:
    """Merged ranges of one order, in memory (concatenated at the end) or appended to two files."""

    def __init__(self, k: int, out_dir: Path | None) -> None:
        self.k, self.n = k, 0
        self.parts: list[tuple[np.ndarray, np.ndarray]] = []
        self.paths = None if out_dir is None else (out_dir / f"rows{k}.u32", out_dir / f"counts{k}.i64")

    def add(self, rows: np.ndarray, counts: np.ndarray) -> None:
        self.n += len(rows)
        if self.paths is None:
            self.parts.append((rows, counts))
            return
        from nlpkit.safeio import disk_full_guard

        for path, a, dtype in zip(self.paths, (rows, counts), (np.uint32, np.int64)):
            with disk_full_guard(path, a.nbytes, cleanup=False), open(path, "ab") as f:
                np.ascontiguousarray(a, dtype).tofile(f)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        if self.n == 0:
            return np.zeros((0, self.k), np.uint32), np.zeros(0, np.int64)
        if self.paths is None:
            return np.concatenate([p[0] for p in self.parts]), np.concatenate([p[1] for p in self.parts])
        return (np.memmap(self.paths[0], np.uint32, "r", shape=(self.n, self.k)),
                np.memmap(self.paths[1], np.int64, "r", shape=(self.n,)))
