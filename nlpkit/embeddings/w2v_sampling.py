"""Random numbers for the compiled word2vec kernel: word2vec.c's generator and an alias table.

The generator is word2vec.c's 64-bit linear congruential one (one multiply-add per number, state
carried through the kernel by value). Its low bits have short periods (bit k repeats every 2^(k+1)
numbers), so draws read bit 16 and up. Negative words come from a Walker/Vose alias table in O(1) per draw.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_MUL = np.uint64(25214903917)  # word2vec.c's LCG
_ADD = np.uint64(11)


@njit(cache=True, nogil=True, inline="always")
def lcg_next(r):
    return r * _MUL + _ADD


@njit(cache=True, nogil=True, inline="always")
def uniform(r):
    """A float in [0, 1) from the top 32 bits of the LCG state (its low bits have short periods)."""
    return np.float64(r >> np.uint64(32)) * (1.0 / 4294967296.0)


@njit(cache=True)
def alias_table(p):
    """Walker/Vose alias table for drawing from ``p`` (V,) in O(1) with two lookups.

    Replaces word2vec's 10^8-slot unigram table: the (V,) arrays stay in cache, the big table
    does not, and a cache miss per negative draw costs more than the rest of the update.
    """
    v = p.shape[0]
    prob = np.zeros(v, np.float32)
    alias = np.arange(v).astype(np.int32)
    scaled = p * v
    small, large = np.empty(v, np.int64), np.empty(v, np.int64)
    ns = nl = 0
    for i in range(v):
        if scaled[i] < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl] = i
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        l = large[nl - 1]
        prob[s], alias[s] = scaled[s], l
        scaled[l] = scaled[l] + scaled[s] - 1.0
        if scaled[l] < 1.0:
            nl -= 1
            small[ns] = l
            ns += 1
    for i in range(nl):
        prob[large[i]] = 1.0
    for i in range(ns):
        prob[small[i]] = 1.0  # rounding leftovers
    return prob, alias


@njit(cache=True, nogil=True, inline="always")
def alias_draw(prob, alias, r):
    """One draw from the alias table: bits 16..47 of the LCG state pick a slot, 48..63 the coin."""
    slot = (((r >> np.uint64(16)) & np.uint64(0xFFFFFFFF)) * np.uint64(prob.shape[0])) >> np.uint64(32)
    coin = np.float32(r >> np.uint64(48)) * np.float32(1.0 / 65536.0)
    return np.int64(slot) if coin < prob[slot] else np.int64(alias[slot])
