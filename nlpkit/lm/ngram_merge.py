"""Linear passes over sorted n-gram rows, compiled with numba: merging count runs, finding rows.

Runs are (n, k) uint32 matrices of distinct rows in lexicographic order with int64 counts beside
them. Sorting their concatenation again costs O(n log n) plus a dozen full-size temporaries; a
merge of two sorted runs is one pass that adds the counts of rows found in both. Several runs
merge pairwise, smallest first, as a Huffman tree: each row is copied O(log runs) times.

``find_sorted_rows`` finds each of many sorted rows in a sorted table (the row of each n-gram's
context, one order down) by walking both at once: one pass instead of a binary search per row and
per column.

The kernels are compiled on first use and cached on disk (``cache=True``).
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _compare(a: np.ndarray, i: int, b: np.ndarray, j: int) -> int:
    for c in range(a.shape[1]):
        if a[i, c] != b[j, c]:
            return -1 if a[i, c] < b[j, c] else 1
    return 0


@njit(cache=True, nogil=True)
def _merge_into(ar, ac, br, bc, out_r, out_c) -> int:  # noqa: ANN001 - numba arrays
    """Merge run a and run b into out (room for both); returns the rows written."""
    i = j = o = 0
    na, nb = ar.shape[0], br.shape[0]
    while i < na and j < nb:
        order = _compare(ar, i, br, j)
        if order <= 0:
            out_r[o] = ar[i]
            out_c[o] = ac[i] + (bc[j] if order == 0 else 0)
            j += order == 0
            i += 1
        else:
            out_r[o] = br[j]
            out_c[o] = bc[j]
            j += 1
        o += 1
    for i in range(i, na):
        out_r[o] = ar[i]
        out_c[o] = ac[i]
        o += 1
    for j in range(j, nb):
        out_r[o] = br[j]
        out_c[o] = bc[j]
        o += 1
    return o


def merge_two(ar: np.ndarray, ac: np.ndarray, br: np.ndarray, bc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct rows of runs a and b with summed counts."""
    out_r = np.empty((len(ar) + len(br), ar.shape[1]), np.uint32)  # (na + nb, k): the most it can take
    out_c = np.empty(len(ar) + len(br), np.int64)
    n = _merge_into(np.ascontiguousarray(ar, np.uint32), np.ascontiguousarray(ac, np.int64),
                    np.ascontiguousarray(br, np.uint32), np.ascontiguousarray(bc, np.int64), out_r, out_c)
    return out_r[:n], out_c[:n]


def merge_sorted_runs(rows: list[np.ndarray], counts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """One sorted run from several, the two smallest merged first."""
    heap = [(len(r), i, r, c) for i, (r, c) in enumerate(zip(rows, counts))]
    heapq.heapify(heap)
    tick = len(heap)
    while len(heap) > 1:
        _, _, ar, ac = heapq.heappop(heap)
        _, _, br, bc = heapq.heappop(heap)
        r, c = merge_two(ar, ac, br, bc)
        heapq.heappush(heap, (len(r), tick, r, c))
        tick += 1
    _, _, r, c = heap[0]
    return np.ascontiguousarray(r, np.uint32), np.asarray(c, np.int64)


@njit(cache=True, nogil=True)
def _lower_bound(table, q, i) -> int:  # noqa: ANN001 - numba arrays
    lo, hi = 0, table.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if _compare(table, mid, q, i) < 0:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def _find_into(queries, table, out) -> int:  # noqa: ANN001 - numba arrays
    """out[i] = row of queries[i] in table; returns -1, or the first query that is missing."""
    if queries.shape[0] == 0:
        return -1
    t, n = _lower_bound(table, queries, 0), table.shape[0]
    for i in range(queries.shape[0]):
        while t < n and _compare(table, t, queries, i) < 0:
            t += 1
        if t == n or _compare(table, t, queries, i) != 0:
            return i
        out[i] = t
    return -1


def find_sorted_rows(queries: np.ndarray, table: np.ndarray) -> tuple[np.ndarray, int]:
    """(row of each query in ``table``, -1 or the index of the first query not there).

    ``queries`` (q, k) in non-decreasing lexicographic order, ``table`` (n, k) sorted and distinct.
    """
    out = np.empty(len(queries), np.int64)
    missing = _find_into(np.ascontiguousarray(queries, np.uint32), np.asarray(table), out)
    return out, missing
