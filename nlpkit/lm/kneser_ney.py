"""Interpolated modified Kneser-Ney estimation (Chen and Goodman 1998), as KenLM's lmplz does it.

For an n-gram ``h w`` of order k with adjusted count ``a``:

    u(w | h)   = (a(h w) - D_k(a)) / sum_x a(h x)
    gamma(h)   = (D_k1 N1(h .) + D_k2 N2(h .) + D_k3+ N3+(h .)) / sum_x a(h x)
    p(w | h)   = u(w | h) + gamma(h) p(w | h')          (h' = h without its first word)
    p(w)       = u(w) + gamma() / |V|                     (|V| counts <unk> and </s>, not <s>)

Adjusted counts: the raw count for the highest order and for n-grams starting with ``<s>``
(nothing can precede them); otherwise the number of distinct words seen before the n-gram.
Discounts per order from the count-of-counts t1..t4 of the adjusted counts:
``Y = t1 / (t1 + 2 t2)``, ``D_j = j - (j + 1) Y t_{j+1} / t_j``. **Fallback:** when some t_j (j <= 3)
is zero or a D_j falls outside [0, j] (tiny or artificial data), the order uses KenLM's
``--discount_fallback`` values D = (0.5, 1.0, 1.5) and a warning is logged.

Pruning (``prune[k-1]`` per order, never for unigrams): an n-gram whose adjusted count is <= the
threshold is dropped unless a kept higher-order n-gram needs it as prefix or suffix; its u mass goes
to gamma(h), so every context still sums to one. The ARPA backoff of a context is gamma(h), and
``<s>`` gets probability 0 (log10 -99).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from nlpkit.errors import ConfigError
from nlpkit.lm.ngram_count import NgramCounts, lookup_rows, row_ids

log = logging.getLogger("nlpkit")

FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)
LOG_ZERO = -99.0  # ARPA's "probability zero", used for <s>


@dataclass
class NgramTables:
    """An estimated back-off model: per order, rows of word ids with log10 prob and log10 backoff."""

    words: list[str]
    rows: list[np.ndarray]  # (n_k, k) uint32, lexicographically sorted
    logp: list[np.ndarray]  # (n_k,) float64 log10 p(w | h)
    backoff: list[np.ndarray]  # (n_k,) float64 log10 backoff (zeros for the highest order)
    discounts: list[list[float]] = field(default_factory=list)
    # optional: per order, the row of each n-gram's suffix one order down (None for unigrams); the
    # streamed estimator has it, and the binary writer then needs no lookup of its own
    suffix: list | None = None
    unk_id: int = 0
    bos_id: int = 1
    eos_id: int = 2

    @property
    def order(self) -> int:
        return len(self.rows)


def check_prune(prune: list[int] | None, order: int) -> list[int]:
    """KenLM's rule: one threshold per order (the last repeats), unigrams unpruned, non-decreasing."""
    if not prune:
        return [0] * order
    if any(t < 0 for t in prune):
        raise ConfigError("--prune thresholds must be >= 0", "e.g. --prune 0,0,1")
    full = (list(prune) + [prune[-1]] * order)[:order]
    if full[0] != 0:
        raise ConfigError("unigrams cannot be pruned: the first --prune threshold must be 0", "e.g. --prune 0,0,1")
    if any(b < a for a, b in zip(full, full[1:])):
        raise ConfigError("--prune thresholds must not decrease with the order", "e.g. --prune 0,1,1,2")
    return full


def discounts_for(adjusted: np.ndarray, order: int) -> list[float]:
    """Chen and Goodman's D1, D2, D3+ from the count-of-counts, or the documented fallback."""
    return discounts_from([int(np.count_nonzero(adjusted == j)) for j in range(1, 5)], order)


def discounts_from(t: list[int], order: int) -> list[float]:
    """``discounts_for`` given the count-of-counts t1..t4 (a streaming pass can collect them)."""
    if min(t[:3]) > 0:
        y = t[0] / (t[0] + 2 * t[1])
        d = [j - (j + 1) * y * t[j] / t[j - 1] for j in range(1, 4)]
        if all(0.0 <= dj <= j for j, dj in enumerate(d, start=1)):
            return d
    log.warning(
        "warning: too few %d-grams to estimate Kneser-Ney discounts (count-of-counts %s); using %s",
        order, t, FALLBACK_DISCOUNTS,
    )
    return list(FALLBACK_DISCOUNTS)


def _adjusted_counts(counts: NgramCounts, unigram_raw: np.ndarray) -> list[np.ndarray]:
    """Raw counts at the top order and after <s>; distinct left neighbours elsewhere."""
    n = counts.order
    adjusted = [None] * n
    adjusted[n - 1] = unigram_raw if n == 1 else counts.counts[n - 1].copy()
    rows = counts.rows
    for k in range(n - 1, 0, -1):  # k = order - 1 ... 1 (0-based index k-1)
        suffix = lookup_rows(rows[k - 1], rows[k][:, 1:])
        cont = np.bincount(suffix, minlength=len(rows[k - 1])).astype(np.int64)
        raw = unigram_raw if k == 1 else counts.counts[k - 1]
        adjusted[k - 1] = np.where(rows[k - 1][:, 0] == 1, raw, cont)  # id 1 is <s>
    return adjusted


def _prune_masks(rows: list[np.ndarray], adjusted: list[np.ndarray], thresholds: list[int]) -> list[np.ndarray]:
    """Kept n-grams, top order first: above threshold, or a prefix/suffix of a kept longer n-gram."""
    n = len(rows)
    keep = [np.ones(len(r), bool) for r in rows]
    for k in range(n - 1, 0, -1):  # 0-based order index; unigrams (0) always kept
        keep[k] = adjusted[k] > thresholds[k]
        if k + 1 < n:
            longer = rows[k + 1][keep[k + 1]]
            for part in (longer[:, :-1], longer[:, 1:]):
                idx = lookup_rows(rows[k], part)
                keep[k][idx[idx >= 0]] = True
    return keep


def _discount_of(a: np.ndarray, d: list[float]) -> np.ndarray:
    return np.select([a == 0, a == 1, a == 2], [0.0, d[0], d[1]], default=d[2])


def _groups(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Context id of each row (rows sharing all but the last word) and a row of each context."""
    if rows.shape[1] == 1:
        return np.zeros(len(rows), np.int64), np.zeros(1, np.int64)
    first, inverse = row_ids(rows[:, :-1])
    return inverse, first


def _backoffs(rows: list[np.ndarray], gammas: list[np.ndarray], group_ids: list[np.ndarray]) -> list[np.ndarray]:
    """log10 backoff of each n-gram: gamma of it as a context one order up; 0 where it is none."""
    out = []
    for k in range(len(rows)):
        bo = np.zeros(len(rows[k]))
        if k + 1 < len(rows):
            ctx_rows = rows[k + 1][group_ids[k + 1], :-1]  # (contexts of order k+2, k+1)
            where = lookup_rows(rows[k], ctx_rows)
            bo[where] = np.log10(np.maximum(gammas[k + 1], 1e-99))
        out.append(bo)
    return out


def estimate(counts: NgramCounts, prune: list[int] | None = None) -> NgramTables:
    """Interpolated modified Kneser-Ney tables from raw counts (see the module docstring)."""
    n = counts.order
    thresholds = check_prune(prune, n)
    vocab = len(counts.words)
    unigram_raw = np.zeros(vocab, np.int64)
    unigram_raw[counts.rows[0][:, 0].astype(np.int64)] = counts.counts[0]
    rows = [np.arange(vocab, dtype=np.uint32).reshape(-1, 1), *counts.rows[1:]]
    adjusted = _adjusted_counts(NgramCounts(n, counts.words, rows, [unigram_raw, *counts.counts[1:]]), unigram_raw)
    adjusted[0][1] = 0  # <s> is never predicted: out of the unigram distribution
    keep = _prune_masks(rows, adjusted, thresholds)
    logp, discounts, gammas, group_ids = [], [], [], []
    prob_lower = None
    for k in range(n):
        a = adjusted[k]
        d = discounts_for(a[a > 0], k + 1)
        grp, first = _groups(rows[k])
        total = np.bincount(grp, weights=a, minlength=len(first))
        u = (a - _discount_of(a, d)) / total[grp]
        mass = sum(d[j] * np.bincount(grp, weights=sel, minlength=len(first))
                   for j, sel in enumerate([a == 1, a == 2, a >= 3]))
        pruned = np.bincount(grp, weights=np.where(keep[k], 0.0, u), minlength=len(first))
        gamma = mass / total + pruned  # (contexts,)
        if k == 0:
            prob = u + gamma[0] / (vocab - 1)  # uniform over the vocabulary without <s>
        else:
            suffix = lookup_rows(rows[k - 1], rows[k][:, 1:])
            prob = u + gamma[grp] * prob_lower[suffix]
        with np.errstate(divide="ignore"):
            lp = np.log10(prob)
        if k == 0:
            lp[1] = LOG_ZERO
        logp.append(lp)
        discounts.append([float(x) for x in d])
        gammas.append(gamma)
        group_ids.append(first)
        prob_lower = prob
    backoff = _backoffs(rows, gammas, group_ids)
    return NgramTables(
        words=list(counts.words),
        rows=[r[m] for r, m in zip(rows, keep)],
        logp=[lp[m] for lp, m in zip(logp, keep)],
        backoff=[b[m] for b, m in zip(backoff, keep)],
        discounts=discounts,
    )
