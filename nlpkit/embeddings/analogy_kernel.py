"""The inner loop of ``embed eval``'s analogies, compiled with numba: best candidate per question.

For a block of candidates, each question's scores are one row operation on rows of the block's
cosines (3CosAdd: ``diff[pair] + cos[c]``; 3CosMul: ``cos[b] * cos[c] / (cos[a] + eps)``). numpy
needs a gather, an add, a masked write and an argmax pass per question, each over the block in
memory; here the scores go to one row buffer that stays in L1, their maximum is taken with vector
instructions, and only a question whose maximum beats its best so far is scanned again for the
position (with its own three words excluded, which can only lower the maximum). The maximum is
taken over the scores' bits mapped to integers in the same order, which vectorises. Most blocks of
most questions are skipped after one pass.

Arithmetic is float32 in numpy's order, so the answers are those of the numpy formulation,
ties included (the first best candidate wins). Compiled on first use, cached on disk.
"""

from __future__ import annotations

import sys

import numpy as np
from numba import njit


def _numpy_support_without_scipy() -> None:
    """Load numba's numpy support with its BLAS check failing: 0.17 s less for `embed eval`.

    On its first compilation (or first load from the cache) numba imports its numpy support, which
    checks once for a BLAS by importing ``scipy.linalg`` when SciPy is installed (0.16 s here,
    ``numpy.f2py`` included). These kernels call no BLAS from compiled code, so ``scipy.linalg``
    is hidden while that module loads; numba then uses its own loop for ``np.dot`` of two vectors
    in compiled code of this process, which nothing in nlpkit uses. SciPy stays importable.
    """
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return
    sys.modules["scipy.linalg"] = None  # type: ignore[assignment] - makes its import fail
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        if "scipy.linalg" in sys.modules and sys.modules["scipy.linalg"] is None:
            del sys.modules["scipy.linalg"]


_numpy_support_without_scipy()


@njit(cache=True, nogil=True)
def _add(d: np.ndarray, c: np.ndarray, out: np.ndarray) -> None:
    for x in range(out.shape[0]):
        out[x] = d[x] + c[x]


@njit(cache=True, nogil=True)
def _mul(a: np.ndarray, b: np.ndarray, c: np.ndarray, eps: np.float32, out: np.ndarray) -> None:
    for x in range(out.shape[0]):
        out[x] = b[x] * c[x] / (a[x] + eps)


@njit(cache=True, nogil=True)
def _key(bits: np.int32) -> np.int32:
    # float32 bits -> an int32 in the same order (negative floats' magnitude bits flipped)
    return bits ^ ((bits >> 31) & 0x7FFFFFFF)


@njit(cache=True, nogil=True)
def _max_key(v: np.ndarray) -> np.int32:
    # an integer maximum runs on vector instructions where a float one (NaN rules) does not
    bits = v.view(np.int32)
    m = _key(bits[0])
    for x in range(1, bits.shape[0]):
        k = _key(bits[x])
        if k > m:
            m = k
    return m


@njit(cache=True, nogil=True)
def block_best(cos, diff, pos, pair_of, words, start, mul, eps, value, at) -> None:  # noqa: ANN001 - numba arrays
    """Update each question's best (``value``, ``at``) with candidates ``start .. start + B``.

    cos (W, B) float32 cosines of the question words with the block (3CosMul: already (1 + cos) / 2);
    diff (P, B) float32 cos[b] - cos[a] per distinct (a, b) (3CosAdd); pos (Q, 3) rows of a, b, c in
    ``cos``; pair_of (Q,) rows in ``diff``; words (Q, 3) the question words' candidate numbers.
    A later block replaces a question's best only with a strictly higher score.
    """
    n = cos.shape[1]
    buf = np.empty(n, np.float32)
    for q in range(pos.shape[0]):
        if mul:
            _mul(cos[pos[q, 0]], cos[pos[q, 1]], cos[pos[q, 2]], eps, buf)
        else:
            _add(diff[pair_of[q]], cos[pos[q, 2]], buf)
        if _max_key(buf) <= _key(value[q:q + 1].view(np.int32)[0]):
            continue  # nothing in the block beats the best so far
        for j in range(3):
            w = words[q, j] - start
            if 0 <= w < n:
                buf[w] = -np.inf
        best, best_at = buf[0], 0
        for x in range(1, n):
            if buf[x] > best:
                best, best_at = buf[x], x
        if best > value[q]:
            value[q], at[q] = best, start + best_at
