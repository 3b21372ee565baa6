"""Smaller n-gram models: entropy-based pruning (Stolcke 1998) and vocabulary filtering.

**Pruning** (``lm prune --threshold T``, SRILM's ``-prune``): removing the explicit n-gram ``h w``
makes ``p(w | h)`` back off, ``p'(w | h) = a'(h) p(w | h')``, with the context's backoff weight
recomputed over the remaining explicit words. The cost is the relative entropy of the pruned model
from the original, in log10 units::

    D(h w) = -P(h) [ p(w|h) (log p'(w|h) - log p(w|h)) + (1 - sum_E p(v|h)) (log a'(h) - log a(h)) ]
    a'(h)  = (1 - sum_E p(v|h) + p(w|h)) / (1 - sum_E p(v|h') + p(w|h'))

(E: the words explicit after h; P(h) by the chain rule of the model, ``P(<s>) = 1``). As in SRILM, an
n-gram is pruned when the perplexity grows by less than ``T`` relative: ``10 ** D - 1 < T``.
Orders are pruned from the highest down, each n-gram judged alone against the current model;
an n-gram that is the prefix (a context) or the suffix of a kept longer one is kept, so the model
stays suffix-closed. After each order the backoff weights of its contexts are recomputed, so every
context still sums to one.

**Filtering** (``lm filter --vocab FILE``, KenLM's ``filter`` in single mode): keep the n-grams whose
words are all in the vocabulary (and the specials); nothing is renormalised. Words outside the
vocabulary become ``<unk>`` for the filtered model, so use it on text limited to that vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from nlpkit.errors import ConfigError
from nlpkit.lm.kneser_ney import NgramTables
from nlpkit.lm.ngram_count import lookup_rows, row_ids
from nlpkit.lm.ngram_model import NgramModel


def _history_logp(model: NgramModel, contexts: np.ndarray) -> np.ndarray:
    """log10 P(h) of each context row by the chain rule, with P(<s>) = 1 at the start."""
    n, m = contexts.shape
    ids = contexts.reshape(-1).astype(np.int64)
    pos = np.tile(np.arange(m), n)
    lp, _ = model._score_positions(ids, pos)  # noqa: SLF001 - the scorer's core, on raw positions
    lp = lp.reshape(n, m)
    lp[:, 0] = np.where(contexts[:, 0] == model.bos_id, 0.0, lp[:, 0])
    return lp.sum(axis=1)


def _group_sums(grp: np.ndarray, n_groups: int, values: np.ndarray) -> np.ndarray:
    return np.bincount(grp, weights=values, minlength=n_groups)


def _protected(rows: list[np.ndarray], keep: list[np.ndarray], k: int) -> np.ndarray:
    """N-grams of order index k that a kept (k+1)-gram needs as prefix or suffix."""
    need = np.zeros(len(rows[k]), bool)
    if k + 1 < len(rows):
        longer = rows[k + 1][keep[k + 1]]
        for part in (longer[:, :-1], longer[:, 1:]):
            idx = lookup_rows(rows[k], part)
            need[idx[idx >= 0]] = True
    return need


def _order_stats(tables: NgramTables, k: int):  # noqa: ANN202
    """For order index k >= 1: context group of each row, its context's row one order down, and
    p(w|h), p(w|h') of each row (h' = h without its first word)."""
    rows = tables.rows[k]
    first, grp = row_ids(rows[:, :-1])
    ctx_row = lookup_rows(tables.rows[k - 1], rows[first, :-1])  # (contexts,)
    suffix = lookup_rows(tables.rows[k - 1], rows[:, 1:])
    return grp, first, ctx_row, 10.0 ** tables.logp[k], 10.0 ** tables.logp[k - 1][suffix]


def _recompute_backoffs(tables: NgramTables, k: int) -> None:
    """Backoff weights of the contexts of order index k, from their remaining explicit words."""
    grp, first, ctx_row, p, p_lower = _order_stats(tables, k)
    s = _group_sums(grp, len(first), p)
    s_lower = _group_sums(grp, len(first), p_lower)
    alpha = np.maximum(1.0 - s, 1e-12) / np.maximum(1.0 - s_lower, 1e-12)
    bo = np.zeros(len(tables.rows[k - 1]))
    bo[ctx_row] = np.log10(alpha)
    tables.backoff[k - 1] = bo


def _delta(tables: NgramTables, model: NgramModel, k: int) -> np.ndarray:
    """Stolcke's relative entropy D of removing each n-gram of order index k alone (log10 units)."""
    grp, first, ctx_row, p, p_lower = _order_stats(tables, k)
    s = _group_sums(grp, len(first), p)[grp]
    s_lower = _group_sums(grp, len(first), p_lower)[grp]
    log_alpha = tables.backoff[k - 1][ctx_row][grp]
    alpha_new = np.maximum(1.0 - s + p, 1e-12) / np.maximum(1.0 - s_lower + p_lower, 1e-12)
    log_alpha_new = np.log10(alpha_new)
    log_p_new = log_alpha_new + np.log10(p_lower)
    p_hist = 10.0 ** _history_logp(model, tables.rows[k][first, :-1])[grp]
    return -p_hist * (p * (log_p_new - np.log10(p)) + np.maximum(1.0 - s, 0.0) * (log_alpha_new - log_alpha))


def entropy_prune(tables: NgramTables, threshold: float) -> tuple[NgramTables, list[int]]:
    """Prune ``tables`` in place order by order; returns them and the n-grams removed per order."""
    if threshold < 0:
        raise ConfigError("--threshold must be >= 0", "e.g. --threshold 1e-8 (SRILM's -prune)")
    n = tables.order
    removed = [0] * n
    keep = [np.ones(len(r), bool) for r in tables.rows]
    for k in range(n - 1, 0, -1):
        model = NgramModel.from_tables(tables)
        delta = _delta(tables, model, k)
        keep[k] = (10.0 ** delta - 1.0 >= threshold) | _protected(tables.rows, keep, k)
        removed[k] = int((~keep[k]).sum())
        tables.rows[k], tables.logp[k], tables.backoff[k] = (a[keep[k]] for a in (tables.rows[k], tables.logp[k], tables.backoff[k]))
        keep[k] = np.ones(len(tables.rows[k]), bool)
        _recompute_backoffs(tables, k)
    return tables, removed


def filter_vocab(tables: NgramTables, vocab: Iterable[str]) -> NgramTables:
    """Keep the n-grams whose words are all in ``vocab`` (specials always); ids renumbered in order."""
    wanted = set(vocab) | {tables.words[i] for i in (tables.unk_id, tables.bos_id, tables.eos_id)}
    keep_word = np.array([w in wanted for w in tables.words])
    new_id = np.cumsum(keep_word) - 1  # monotone: sorted rows stay sorted
    words = [w for w, k in zip(tables.words, keep_word) if k]
    out = NgramTables(words, [], [], [], tables.discounts)
    for r, lp, bo in zip(tables.rows, tables.logp, tables.backoff):
        m = keep_word[r.astype(np.int64)].all(axis=1)
        out.rows.append(new_id[r[m].astype(np.int64)].astype(np.uint32))
        out.logp.append(lp[m])
        out.backoff.append(bo[m])
    out.unk_id, out.bos_id, out.eos_id = (int(new_id[i]) for i in (tables.unk_id, tables.bos_id, tables.eos_id))
    return out


def perplexity(model: NgramModel, lines: list[str]) -> float:
    """Per-token perplexity of ``lines`` (``</s>`` included, OOVs scored as ``<unk>``)."""
    s = model.score_lines(lines)
    return float(10.0 ** (-s.logp.sum() / max(len(s.logp), 1)))
