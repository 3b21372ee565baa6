"""word2vec on CPU with a compiled (numba) kernel, one (centre, context) pair at a time.

This is word2vec.c's and gensim's inner loop: each pair updates the rows it touches at once, so
a frequent word's many updates see each other (no per-row step-size clipping is needed here, unlike
the batched torch path in ``w2v_steps``). Per text position:

- frequent-word subsampling with word2vec's keep probabilities;
- a reduced window of 1..window words drawn uniformly, never crossing a line;
- skip-gram: each context word's input vector predicts the centre word; CBOW: the mean of the
  context input vectors predicts it and the error is added to every context row (gensim's
  cbow_mean=1);
- negative sampling (``negative`` draws per pair from the unigram^0.75 distribution through an
  alias table, a draw equal to the target skipped) or hierarchical softmax along the target's
  Huffman path; a pair whose score is saturated (|x.y| >= 6, where word2vec's sigmoid table ends) is
  skipped, as gensim does;
- with ``--subwords``, a word's input is the mean of its own row and its character n-gram rows
  (fastText), and each of those rows takes the whole gradient;
- the learning rate decays linearly with the words (before subsampling) trained so far.

Threads: a chunk of text is cut at line boundaries into a few spans per thread, which the threads
take as they come free (so a thread slowed by the chunk reader does not hold the others at the end
of the chunk) and run in parallel (the kernel releases the GIL), updating the shared weights without
locks ("Hogwild", as word2vec's threads). Random numbers come from word2vec's linear congruential
generator, seeded per (seed, epoch, chunk, span): one thread gives the same result on every run.

The loss is estimated on every 8th centre position, from a table of -log sigmoid (gensim's LOG_TABLE).
The kernel is compiled on first use and cached on disk (``cache=True``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from nlpkit.embeddings.subwords import compose, parse_range, subword_table
from nlpkit.embeddings.vocab import huffman_tree, keep_probabilities, noise_distribution
from nlpkit.embeddings.w2v_sampling import alias_draw, alias_table, lcg_next, uniform
from nlpkit.embeddings.word2vec import Word2VecTrainer

_LOSS_EVERY = 8  # centre positions per loss sample
_SPANS_PER_THREAD = 4  # spans handed out to free threads, so that no thread waits long at a chunk's end
_MAX_EXP = 6.0  # word2vec.c: sigmoid read from a table on [-6, 6]; outside it the pair is skipped (gensim)
_EXP_SIZE = 1000
_GRID = np.arange(_EXP_SIZE) / _EXP_SIZE * 2 - 1  # table slot -> x / _MAX_EXP
_SIGMOID = (1.0 / (1.0 + np.exp(-_GRID * _MAX_EXP))).astype(np.float32)
_NEG_LOG_SIGMOID = np.logaddexp(0.0, -_GRID * _MAX_EXP).astype(np.float32)  # -log sigmoid(x), as gensim's LOG_TABLE


@njit(cache=True, nogil=True, inline="always")
def _slot(f):
    """Table slot of ``f`` in (-_MAX_EXP, _MAX_EXP)."""
    return int((f + _MAX_EXP) * (_EXP_SIZE / _MAX_EXP / 2))


@njit(cache=True, nogil=True, fastmath=True)
def _pair_loss(f, label):
    """-log sigmoid(+-f) from the table; exact outside it (rare)."""
    x = f if label > 0.5 else -f
    if x >= _MAX_EXP:
        return np.log1p(np.exp(-min(x, 30.0)))
    if x <= -_MAX_EXP:
        return -x + np.log1p(np.exp(max(x, -30.0)))
    return _NEG_LOG_SIGMOID[_slot(x)]


# numba pairs every array a compiled function binds (argument, view, inlined helper's parameter)
# with two atomic reference-count updates, and prunes them only in simple leaf functions. So the
# hot path passes (matrix, row number) pairs, never row views, and train_span calls only leaves
# (functions that hand no array on): no reference counting per pair, only per span (checked on
# the LLVM IR: NRT_incref appears in train_span's entry block only).
_HOT = dict(cache=True, nogil=True, fastmath=True, inline="always")
_LEAF = dict(cache=True, nogil=True, fastmath=True)


@njit(**_HOT)
def _dot(h, ih, w, iw):
    """h[ih] . w[iw] for rows of two (., D) matrices."""
    f = np.float32(0.0)  # float32 throughout lets the loops vectorise
    for i in range(h.shape[1]):
        f += h[ih, i] * w[iw, i]
    return f


@njit(**_HOT)
def _update(w_out, target, h, ih, neu1e, f, label, lr):
    """One logistic step on (h[ih], w_out[target]): d(h) into ``neu1e`` (D,), the output row in place.

    A saturated score (|f| >= _MAX_EXP) is skipped, as gensim does for both losses and word2vec.c
    for hierarchical softmax: on the right side its gradient is under 0.25% of the learning rate;
    a pair saturated on the wrong side (rare) is skipped too, where word2vec.c's negative
    sampling would push it by the whole learning rate.
    """
    if f <= -_MAX_EXP or f >= _MAX_EXP:
        return
    g = np.float32((label - _SIGMOID[_slot(f)]) * lr)
    for i in range(h.shape[1]):
        neu1e[i] += g * w_out[target, i]
        w_out[target, i] += g * h[ih, i]


@njit(**_LEAF)
def _ns(w_out, h, ih, neu1e, word, prob, alias, negative, lr, r, track):
    """Negative sampling for input h[ih]: ``word`` with label 1, then ``negative`` draws from the
    alias table with label 0 (a draw equal to ``word`` skipped); d(h) into ``neu1e`` (D,)."""
    for i in range(neu1e.shape[0]):
        neu1e[i] = 0.0
    loss = 0.0
    for t in range(negative + 1):
        if t == 0:
            target, label = word, 1.0
        else:
            r = lcg_next(r)
            target = alias_draw(prob, alias, r)
            if target == word:
                continue
            label = 0.0
        f = _dot(h, ih, w_out, target)
        _update(w_out, target, h, ih, neu1e, f, label, lr)
        if track:
            loss += _pair_loss(f, label)
    return loss, r


@njit(**_LEAF)
def _hs(w_out, h, ih, neu1e, word, points, codes, lengths, lr, track):
    """Hierarchical softmax along ``word``'s Huffman path (label = 1 - code, as word2vec); d(h) into ``neu1e``."""
    for i in range(neu1e.shape[0]):
        neu1e[i] = 0.0
    loss = 0.0
    for t in range(lengths[word]):
        node = points[word, t]
        f = _dot(h, ih, w_out, node)
        label = 1.0 - codes[word, t]
        _update(w_out, node, h, ih, neu1e, f, label, lr)
        if track:
            loss += _pair_loss(f, label)
    return loss


@njit(cache=True, nogil=True)
def _subsample(ids, keep, r):
    """Positions kept by word2vec's subsampling; returns (positions, generator state)."""
    kept = np.empty(ids.shape[0], np.int64)
    m = 0
    for i in range(ids.shape[0]):
        p = keep[ids[i]]
        if p < 1.0:
            r = lcg_next(r)
            if p < uniform(r):
                continue
        kept[m] = i
        m += 1
    return kept[:m], r


@njit(**_LEAF)
def _fill_window(ids, sent, kept, j, reduced, window_ids):
    """window_ids[:n] = the words at kept positions j-reduced..j+reduced (-1 across a line end); returns (n, centre)."""
    lo, hi = max(0, j - reduced), min(kept.shape[0], j + reduced + 1)
    line = sent[kept[j]]
    for k in range(lo, hi):
        window_ids[k - lo] = ids[kept[k]] if sent[kept[k]] == line else -1
    return hi - lo, j - lo


@njit(**_LEAF)
def _mean_input(w_in, words, lo, hi, skip, sub_ptr, sub_idx, acc):
    """acc[0] = the mean of every input row of ``words[lo:hi]`` but position ``skip`` and -1 entries.

    A word's rows are its own and its n-grams' (CSR ``sub_ptr``/``sub_idx``). Returns how many rows
    were averaged (0 leaves acc[0] zero).
    """
    for i in range(acc.shape[1]):
        acc[0, i] = 0.0
    count = 0
    for k in range(lo, hi):
        if k == skip or words[k] < 0:
            continue
        for t in range(sub_ptr[words[k]], sub_ptr[words[k] + 1]):
            row = sub_idx[t]
            for i in range(acc.shape[1]):
                acc[0, i] += w_in[row, i]
            count += 1
    if count > 0:
        scale = np.float32(1.0) / np.float32(count)
        for i in range(acc.shape[1]):
            acc[0, i] *= scale
    return count


@njit(**_LEAF)
def _add_error(w_in, words, lo, hi, skip, sub_ptr, sub_idx, grad):
    """Every input row of ``words[lo:hi]`` but position ``skip`` and -1 entries += ``grad`` (D,), unscaled."""
    for k in range(lo, hi):
        if k == skip or words[k] < 0:
            continue
        for t in range(sub_ptr[words[k]], sub_ptr[words[k] + 1]):
            row = sub_idx[t]
            for i in range(grad.shape[0]):
                w_in[row, i] += grad[i]


@njit(cache=True, nogil=True, fastmath=True)
def train_span(w_in, w_out, ids, sent, keep, table, points, codes, lengths, sub_ptr, sub_idx, use_sub, sg, hs, negative, window,
               lr0, min_lr, done0, total, seed):
    """Train on one span of text: ``ids`` (n,) word ids, ``sent`` (n,) line numbers.

    ``done0`` words were trained before this span, of ``total`` in the run (for the learning rate).
    ``sub_ptr``/``sub_idx``: each word's input rows (CSR; just its own row without subwords).
    Skip-gram: each context word's input (its row; with subwords the mean of its rows, all of which
    take the gradient, as fastText) predicts the centre. CBOW: the mean of the context's rows does,
    and each of those rows takes the whole error (gensim's cbow_mean=1).
    Returns (summed sampled loss, number of loss terms).
    """
    prob, alias = table
    neu1 = np.zeros((1, w_in.shape[1]), np.float32)  # (1, D): a hidden input, as a one-row matrix
    neu1e = np.zeros(w_in.shape[1], np.float32)
    window_ids = np.empty(2 * window + 1, np.int64)
    kept, r = _subsample(ids, keep, np.uint64(seed))
    loss, terms, part = 0.0, 0, 0.0
    for j in range(kept.shape[0]):
        word = ids[kept[j]]
        lr = max(min_lr, lr0 - (lr0 - min_lr) * (done0 + kept[j]) / total)
        r = lcg_next(r)
        n, centre = _fill_window(ids, sent, kept, j, window - np.int64((r >> np.uint64(32)) % np.uint64(window)), window_ids)
        track = j % _LOSS_EVERY == 0
        # one prediction per context word (skip-gram) or one for the whole context (CBOW); the
        # ns/hs branches are spelled out here because a helper taking the arrays costs refcounts
        for k in range(n if sg else 1):
            lo, hi, skip = (k, k + 1, -1) if sg else (0, n, centre)
            if sg and (k == centre or window_ids[k] < 0):
                continue
            if sg and not use_sub:  # the context word's own row is the input
                if hs:
                    part = _hs(w_out, w_in, window_ids[k], neu1e, word, points, codes, lengths, lr, track)
                else:
                    part, r = _ns(w_out, w_in, window_ids[k], neu1e, word, prob, alias, negative, lr, r, track)
            elif _mean_input(w_in, window_ids, lo, hi, skip, sub_ptr, sub_idx, neu1) == 0:
                continue
            elif hs:
                part = _hs(w_out, neu1, 0, neu1e, word, points, codes, lengths, lr, track)
            else:
                part, r = _ns(w_out, neu1, 0, neu1e, word, prob, alias, negative, lr, r, track)
            _add_error(w_in, window_ids, lo, hi, skip, sub_ptr, sub_idx, neu1e)
            loss, terms = loss + part, terms + track
    return loss, terms


def split_spans(sentence: np.ndarray, parts: int) -> list[tuple[int, int]]:
    """Cut positions 0..n into at most ``parts`` spans of about equal size, at line starts."""
    n = len(sentence)
    cuts = [0]
    for p in range(1, parts):
        at = int(np.searchsorted(sentence, sentence[min(n - 1, n * p // parts)], "left")) if n else 0
        if at > cuts[-1]:
            cuts.append(at)
    cuts.append(n)
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


class _Cpu:
    """Stands in for ``torch.device("cpu")`` where the run needs no torch."""

    type = "cpu"

    def __str__(self) -> str:
        return "cpu"


CPU = _Cpu()


class NumbaTrainer(Word2VecTrainer):
    """``Word2VecTrainer`` with the per-pair compiled kernel in place of batched torch steps.

    The weights are numpy arrays (torch is imported only to write or read a checkpoint); the loop,
    checkpoints and resume are the torch trainer's.
    """

    def __init__(self, cfg: Any, vocab: Any, device: Any, state: dict[str, Any] | None = None) -> None:
        self.cfg, self.vocab, self.device = cfg, vocab, device
        v, d = len(vocab), cfg.dim
        rng = np.random.default_rng(cfg.seed)
        self.w_in = ((rng.random((self._input_rows(), d), dtype=np.float32) - 0.5) / d).astype(np.float32)  # (V [+ buckets], D)
        self.w_out = np.zeros((v if cfg.loss == "ns" else max(1, v - 1), d), np.float32)  # (V, D) or (V-1, D)
        self.keep = keep_probabilities(vocab.counts, cfg.sample)
        self.table = self._noise_table() if cfg.loss == "ns" else alias_table(np.ones(1))  # placeholder keeps the signature
        self.tree = self._tree() if cfg.loss == "hs" else (np.zeros((v, 1), np.int64), np.zeros((v, 1), np.int8), np.zeros(v, np.int64))
        self.epoch = self.chunk = self.lines_done = self.words_done = 0
        self.seconds = 0.0
        if state:
            self.w_in[:] = state["w_in"].numpy()
            self.w_out[:] = state["w_out"].numpy()
            self.epoch, self.chunk = int(state["epoch"]), int(state["chunk"])
            self.lines_done, self.words_done = int(state["lines_done"]), int(state["words_done"])
            self.seconds = float(state["seconds"])
        self.epoch_loss: dict[int, list[float]] = {}
        minn, maxn = parse_range(cfg.subwords)
        if maxn:
            self.sub_ptr, self.sub_idx = subword_table(vocab.words, minn, maxn, cfg.buckets)
        else:
            self.sub_ptr, self.sub_idx = np.arange(v + 1, dtype=np.int64), np.arange(v, dtype=np.int64)

    def _weights(self) -> tuple[Any, Any]:
        import torch

        return torch.from_numpy(self.w_in), torch.from_numpy(self.w_out)

    def _noise_table(self) -> tuple[np.ndarray, np.ndarray]:
        return alias_table(noise_distribution(self.vocab.counts, self.cfg.ns_exponent))

    def _input_rows(self) -> int:
        return len(self.vocab) + (self.cfg.buckets if self.cfg.subwords else 0)

    def vectors(self) -> np.ndarray:
        """(V, D) word vectors: with subwords, the mean of each word's row and its n-gram rows."""
        return compose(self.w_in, self.sub_ptr, self.sub_idx) if self.cfg.subwords else self.w_in

    def subword_vectors(self) -> np.ndarray | None:
        """(buckets, D) n-gram rows, or None without subwords."""
        return self.w_in[len(self.vocab) :] if self.cfg.subwords else None

    def _tree(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tree = huffman_tree(self.vocab.counts)
        return tree.points, tree.codes, tree.lengths

    def _prepare(self, item: tuple[int, Any]) -> tuple[Any, int, int]:
        k, chunk = item
        return (k, chunk), chunk.words, chunk.lines

    def _train_chunk(self, batches: Any, words: int, pool: Any, threads: int, total: int) -> None:
        k, chunk = batches
        cfg = self.cfg
        spans = split_spans(chunk.sentence, threads * _SPANS_PER_THREAD if threads > 1 else 1)
        seeds = np.random.default_rng([cfg.seed, self.epoch, k]).integers(1, 2**62, size=max(1, len(spans)))
        w_in, w_out = self.w_in, self.w_out
        points, codes, lengths = self.tree
        done = self.words_done

        def run(i: int) -> tuple[float, int]:
            a, b = spans[i]
            return train_span(
                w_in, w_out, chunk.ids[a:b], chunk.sentence[a:b], self.keep, self.table, points, codes, lengths,
                self.sub_ptr, self.sub_idx, bool(cfg.subwords), cfg.algo == "sg", cfg.loss == "hs", cfg.negative, cfg.window, cfg.lr, cfg.min_lr,
                float(done + round(words * a / max(1, len(chunk.ids)))), float(max(total, 1)), int(seeds[i]),
            )

        results = [run(0)] if len(spans) == 1 else list(pool.map(run, range(len(spans))))
        self.words_done += words
        acc = self.epoch_loss.setdefault(self.epoch, [0.0, 0])
        for loss, terms in results:
            acc[0] += loss
            acc[1] += terms

    def _loss(self) -> float | None:
        if not self.epoch_loss:
            return None
        total, terms = self.epoch_loss[max(self.epoch_loss)]
        return round(total / max(terms, 1), 6)

    def epoch_losses(self) -> list[float]:
        """Mean sampled loss per (centre, context) term, per epoch trained in this process."""
        return [round(s / max(n, 1), 6) for _, (s, n) in sorted(self.epoch_loss.items())]
