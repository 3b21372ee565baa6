"""Kneser-Ney estimation from files, order by order and in row chunks: memory bounded by the chunk.

The same model as ``kneser_ney.estimate``, value for value (the float64 arithmetic is done in the
same order), for counts too large to estimate in RAM. Every per-n-gram array lives in a ``.npy``
file in a work directory and is read or written in chunks of ``chunk`` rows; chunks end at a
context boundary, so each context's sums are formed in one piece, as in memory.

Index: rows of order m are sorted lexicographically, so each m-gram has a strictly increasing key

    key_m = ctx_m * V + w_m        ctx_m = row of its context (first m-1 words) at order m-1

and any m-gram is found by one binary search once its context's row is known (a trie, like
KenLM's). The row of its suffix ``w2 .. wm`` is one search too: ``suf_{m-1}[ctx_m] * V + w_m``.

Passes:

1. index, bottom up: ctx_m, key_m, suf_m; continuation counts of order m-1 = how often each row
   is some m-gram's suffix (number of distinct left extensions);
2. adjusted counts and their count-of-counts t1..t4, hence the discounts;
3. prune masks, top down (as ``kneser_ney._prune_masks``);
4. probabilities, bottom up: u, gamma per context, p = u + gamma p_lower[suf]; the gammas of order
   m+1 are the backoffs of the rows of order m that are contexts.

Where lmplz joins an order with the one below by sorting both in suffix order, this reaches the
suffix by binary search in the trie keys (random reads of the order below's ``key``, ``suf`` and
``prob`` files, served by the page cache), so no second sort order is written.

What is not bounded by the chunk: the continuation counts of the order below (4 bytes per n-gram
of that order) while pass 1 runs over an order, and with pruning the new row numbers of the order
below (8 bytes per n-gram) at the end. Memory-mapped files are read and written through maps whose
pages are released after every chunk (``ngram_spill.release``): they stay in the page cache, which
the kernel can drop, not in the process.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nlpkit.errors import ArtifactError
from nlpkit.lm.kneser_ney import LOG_ZERO, NgramTables, _discount_of, check_prune, discounts_from
from nlpkit.lm.ngram_count import NgramCounts
from nlpkit.lm.ngram_merge import find_sorted_rows
from nlpkit.lm.ngram_spill import release

BOS_ID = 1
STREAM_ROW_BYTES = 256  # working bytes per row of a chunk (a dozen int64/float64 temporaries, with slack)


def chunks(n: int, size: int, ctx: np.ndarray | None = None, mapped=()):  # noqa: ANN001, ANN201 - yields (start, end)
    """Row ranges of about ``size`` rows; with ``ctx`` (sorted), none splits a context.

    After each range the pages of the ``mapped`` arrays are released.
    """
    start = 0
    while start < n:
        end = min(start + size, n)
        if ctx is not None and end < n:
            end = int(np.searchsorted(ctx, ctx[end - 1], side="right"))
        yield start, end
        release(mapped() if callable(mapped) else mapped)
        start = end


def add_counts(total: np.ndarray, idx: np.ndarray) -> None:
    """``total[i] += (idx == i).sum()`` for every i: a bincount when ``total`` is not much longer
    than ``idx`` (linear), else a sort of ``idx`` (no array as long as ``total``)."""
    if len(total) <= 8 * len(idx):
        total += np.bincount(idx, minlength=len(total)).astype(total.dtype)
    else:
        uniq, times = np.unique(idx, return_counts=True)
        total[uniq] += times.astype(total.dtype)


class _Work:
    """Named per-order arrays in ``.npy`` files of the work directory, memory-mapped."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.arrays: dict[tuple[str, int], np.ndarray] = {}

    def new(self, name: str, m: int, shape: tuple, dtype, fill=None) -> np.ndarray:  # noqa: ANN001
        if int(np.prod(shape)) == 0:  # an empty file cannot be mapped
            a = np.zeros(shape, dtype)
        else:
            a = np.lib.format.open_memmap(self.root / f"{name}{m}.npy", mode="w+", dtype=dtype, shape=shape)
            if fill is not None:
                a[:] = fill
        self.arrays[name, m] = a
        return a

    def seal(self, name: str, m: int) -> np.ndarray:
        """Flush a written array and map it again read-only (its dirty pages leave the process)."""
        a = self.arrays[name, m]
        if isinstance(a, np.memmap):
            a.flush()
            del a
            a = self.arrays[name, m] = np.load(self.root / f"{name}{m}.npy", mmap_mode="r")
        return a

    def drop(self, name: str, m: int) -> None:
        """Forget an array and delete its file (disk space comes back once it is unmapped)."""
        self.arrays.pop((name, m), None)
        (self.root / f"{name}{m}.npy").unlink(missing_ok=True)

    def __getitem__(self, key: tuple[str, int]) -> np.ndarray:
        return self.arrays[key]


class StreamEstimator:
    """Interpolated modified Kneser-Ney tables, computed from (possibly memory-mapped) counts."""

    def __init__(self, counts: NgramCounts, work_dir: str | Path, chunk: int = 1 << 22) -> None:
        self.n, self.words, self.chunk = counts.order, counts.words, max(1, chunk)
        self.vocab = len(counts.words)
        self.w = _Work(Path(work_dir))
        raw1 = np.zeros(self.vocab, np.int64)
        raw1[np.asarray(counts.rows[0][:, 0], np.int64)] = counts.counts[0]
        self.rows = [np.arange(self.vocab, dtype=np.uint32).reshape(-1, 1), *counts.rows[1:]]
        self.raw = [raw1, *counts.counts[1:]]

    def _chunks(self, n: int, size: int, ctx: np.ndarray | None = None):  # noqa: ANN202
        return chunks(n, size, ctx, lambda: [*self.w.arrays.values(), *self.rows, *self.raw])

    # -- pass 1: the index ----------------------------------------------------------------------
    def _search(self, m: int, query: np.ndarray) -> np.ndarray:
        """Rows of order m with the given keys (all present: the counts are prefix- and suffix-closed)."""
        if m == 1:
            return query
        keys = self.w["key", m]
        if len(query) > 1 and not bool((query[1:] >= query[:-1]).all()):
            # sorted needles: each search starts where the last ended, in pages already read
            order = np.argsort(query)
            at = np.empty(len(query), np.int64)
            at[order] = np.searchsorted(keys, query[order])
        else:
            at = np.searchsorted(keys, query)
        if len(at) and (at.max() >= len(keys) or not np.array_equal(keys[at], query)):
            raise ArtifactError(f"an n-gram's context or suffix is missing from the {m}-gram counts",
                                "the counts are not closed under prefixes and suffixes: this is a bug, report it")
        return at

    def _find_prefixes(self, prefixes: np.ndarray) -> np.ndarray:
        """Row of each (sorted) prefix at its order: one walk along that order's sorted rows."""
        k = prefixes.shape[1]
        if k == 1:
            return prefixes[:, 0].astype(np.int64)  # unigram rows are word ids
        at, missing = find_sorted_rows(prefixes, self.rows[k - 1])
        if missing >= 0:
            raise ArtifactError(f"an n-gram's context is missing from the {k}-gram counts",
                                "the counts are not closed under prefixes: this is a bug, report it")
        return at

    def _index(self, m: int) -> np.ndarray:
        """ctx_m, key_m, suf_m of order m >= 2; returns the continuation counts of order m-1."""
        rows, n = self.rows[m - 1], len(self.rows[m - 1])
        ctx, key, suf = (self.w.new(name, m, (n,), np.int64) for name in ("ctx", "key", "suf"))
        cont = np.zeros(len(self.rows[m - 2]), np.int32)  # distinct left extensions < V < 2**31
        for a, b in self._chunks(n, self.chunk):
            r = np.asarray(rows[a:b])
            last = r[:, -1].astype(np.int64)
            c = self._find_prefixes(r[:, :-1])
            s = r[:, 1].astype(np.int64) if m == 2 else self._search(m - 1, self.w["suf", m - 1][c] * self.vocab + last)
            ctx[a:b], key[a:b], suf[a:b] = c, c * self.vocab + last, s
            add_counts(cont, s)
        for name in ("ctx", "key", "suf"):
            self.w.seal(name, m)
        return cont

    # -- pass 2: adjusted counts and discounts ---------------------------------------------------
    def _adjusted(self, m: int, cont: np.ndarray | None) -> list[float]:
        """Write adj_m; returns the order's discounts."""
        rows, raw, n = self.rows[m - 1], self.raw[m - 1], len(self.rows[m - 1])
        adj = self.w.new("adj", m, (n,), np.int64)
        coc = np.zeros(4, np.int64)
        for a, b in self._chunks(n, self.chunk):
            r = np.asarray(raw[a:b])
            x = r if cont is None else np.where(np.asarray(rows[a:b, 0]) == BOS_ID, r, cont[a:b])
            if m == 1 and a <= BOS_ID < b:
                x = x.copy()
                x[BOS_ID - a] = 0  # <s> is never predicted: out of the unigram distribution
            adj[a:b] = x
            coc += [np.count_nonzero(x == j) for j in range(1, 5)]
        self.w.seal("adj", m)
        return discounts_from([int(t) for t in coc], m)

    # -- pass 3: pruning --------------------------------------------------------------------------
    def _keep(self, thresholds: list[int]) -> None:
        """keep_m, top order first: above threshold, or a context/suffix of a kept longer n-gram."""
        for m in range(self.n, 0, -1):
            n = len(self.rows[m - 1])
            keep = self.w.new("keep", m, (n,), bool, fill=True if m == 1 else None)
            if m > 1:
                for a, b in self._chunks(n, self.chunk):
                    keep[a:b] = np.asarray(self.w["adj", m][a:b]) > thresholds[m - 1]
            if 1 < m < self.n:
                above = self.w["keep", m + 1]
                for a, b in self._chunks(len(above), self.chunk):
                    kept = np.asarray(above[a:b])
                    for name in ("ctx", "suf"):
                        keep[np.asarray(self.w[name, m + 1][a:b])[kept]] = True
            self.w.seal("keep", m)

    # -- pass 4: probabilities and backoffs -------------------------------------------------------
    def _probabilities(self, m: int, d: list[float]) -> None:
        """prob_m and logp_m; the gammas of order m's contexts become backoff_{m-1}."""
        n = len(self.rows[m - 1])
        prob, logp = self.w.new("prob", m, (n,), np.float64), self.w.new("logp", m, (n,), np.float64)
        self.w.new("backoff", m, (n,), np.float64, fill=0.0 if n else None)
        ctx = self.w["ctx", m] if m > 1 else None
        for a, b in self._chunks(n, self.chunk if m > 1 else max(n, 1), ctx):
            if m == 1:
                grp, firsts = np.zeros(b - a, np.int64), None
            else:
                c = np.asarray(ctx[a:b])
                new = np.ones(len(c), bool)
                new[1:] = c[1:] != c[:-1]
                grp, firsts = np.cumsum(new) - 1, c[new]
            p, gamma = self._chunk_probs(m, a, b, grp, d)
            prob[a:b] = p
            with np.errstate(divide="ignore"):
                lp = np.log10(p)
            if m == 1:
                lp[BOS_ID] = LOG_ZERO
            logp[a:b] = lp
            if firsts is not None:
                self.w["backoff", m - 1][firsts] = np.log10(np.maximum(gamma, 1e-99))
        for name in ("prob", "logp"):
            self.w.seal(name, m)
        if m > 1:
            self.w.seal("backoff", m - 1)

    def _chunk_probs(self, m: int, a: int, b: int, grp: np.ndarray, d: list[float]) -> tuple[np.ndarray, np.ndarray]:
        """Interpolated p of rows a:b and gamma of their contexts (same expressions as ``estimate``)."""
        adj = np.asarray(self.w["adj", m][a:b])
        keep = np.asarray(self.w["keep", m][a:b])
        contexts = int(grp[-1]) + 1 if len(grp) else 0
        total = np.bincount(grp, weights=adj, minlength=contexts)
        u = (adj - _discount_of(adj, d)) / total[grp]
        mass = sum(d[j] * np.bincount(grp, weights=sel, minlength=contexts)
                   for j, sel in enumerate([adj == 1, adj == 2, adj >= 3]))
        pruned = np.bincount(grp, weights=np.where(keep, 0.0, u), minlength=contexts)
        gamma = mass / total + pruned  # (contexts,)
        if m == 1:
            return u + gamma[0] / (self.vocab - 1), gamma
        lower = self.w["prob", m - 1][np.asarray(self.w["suf", m][a:b])]
        return u + gamma[grp] * lower, gamma

    # -- the result -------------------------------------------------------------------------------
    def _kept(self, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """rows, logp, backoff of the kept m-grams, and the kept row of each one's suffix."""
        keep = self.w["keep", m]
        arrays = [self.rows[m - 1], self.w["logp", m], self.w["backoff", m]]
        suf = self.w["suf", m] if m > 1 else None
        everything = bool(np.all(keep))
        release([keep])
        if everything:
            return (*arrays, suf)
        lower_slot = None
        if m > 1:
            lower_slot = np.cumsum(np.asarray(self.w["keep", m - 1]), dtype=np.int64) - 1
        kept_n = int(np.count_nonzero(keep))
        out = [self.w.new(f"kept{i}_", m, (kept_n, *x.shape[1:]), x.dtype) for i, x in enumerate(arrays)]
        out_suf = self.w.new("kept_suf", m, (kept_n,), np.int64) if m > 1 else None
        at = 0
        for a, b in self._chunks(len(keep), self.chunk):
            k = np.asarray(keep[a:b])
            took = int(np.count_nonzero(k))
            for src, dst in zip(arrays, out):
                dst[at : at + took] = np.asarray(src[a:b])[k]
            if out_suf is not None:
                out_suf[at : at + took] = lower_slot[np.asarray(suf[a:b])[k]]
            at += took
        return (*out, out_suf)

    def run(self, prune: list[int] | None = None) -> NgramTables:
        thresholds = check_prune(prune, self.n)
        discounts = []
        for m in range(2, self.n + 1):  # one order's continuation counts at a time
            discounts.append(self._adjusted(m - 1, self._index(m)))
        discounts.append(self._adjusted(self.n, None))
        for m in range(2, self.n + 1):
            self.w.drop("key", m)  # keys serve the searches of pass 1 only
        self._keep(thresholds)
        for m in range(1, self.n + 1):
            self._probabilities(m, discounts[m - 1])
            self.w.drop("adj", m)
            self.w.drop("ctx", m)
            if m > 1:
                self.w.drop("prob", m - 1)
        parts = [self._kept(m) for m in range(1, self.n + 1)]
        tables = NgramTables(list(self.words), [p[0] for p in parts], [p[1] for p in parts], [p[2] for p in parts],
                             discounts=[[float(x) for x in d] for d in discounts])
        tables.suffix = [p[3] for p in parts]
        return tables


def estimate_streamed(counts: NgramCounts, work_dir: str | Path, prune: list[int] | None = None,
                      chunk: int = 1 << 22) -> NgramTables:
    """``kneser_ney.estimate`` in bounded memory; the tables' arrays are mapped from ``work_dir``."""
    return StreamEstimator(counts, work_dir, chunk).run(prune)
