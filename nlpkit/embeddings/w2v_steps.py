"""One SGD step of word2vec on a batch, as plain torch tensor code with sparse row updates.

No autograd: the gradients of the word2vec losses are simple enough to write out, and writing
them out lets each step touch only the rows it uses (``index_add_``), as word2vec's C code does.
Steps run without locks from several threads at once ("Hogwild"), like word2vec and gensim.

Negative sampling draws a *pool* of N noise words from the unigram^0.75 distribution for each
group of ``POOL_GROUP`` consecutive centres. Every centre is scored against its group's whole pool
with one batched matrix product, each pooled word weighted by (pairs x negative / N): in
expectation the same gradient as word2vec's ``negative`` independent draws per pair, with less
variance per centre and far fewer row lookups. Small groups keep any one noise word's summed
update small (a pooled word stands for about POOL_GROUP x pairs x negative / N draws).
A pooled word equal to a centre's target is not excluded (probability about N/V per pair).

Shapes: B centres, P (centre, context) pairs, N pooled negatives, D dimensions, L code length.
"""

from __future__ import annotations

import torch


def _neg_pool_update(w_out: torch.Tensor, pool: torch.Tensor, h: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Negative-sampling term for inputs ``h`` (B, D) against per-group pools; returns d(input) (B, D).

    ``pool`` (G, N): centres [g*S, (g+1)*S) share pool row g, S = ceil(B / G).
    ``weight`` (B,) already includes the learning rate and the negative / N scaling.
    """
    n_groups, n = pool.shape
    b, d = h.shape
    size = -(-b // n_groups)
    pad = n_groups * size - b
    if pad:  # zero rows with zero weight fill the last group
        h = torch.cat([h, h.new_zeros(pad, d)])
        weight = torch.cat([weight, weight.new_zeros(pad)])
    hg = h.view(n_groups, size, d)  # (G, S, D)
    u = w_out.index_select(0, pool.reshape(-1)).view(n_groups, n, d)  # (G, N, D)
    g = -torch.sigmoid(torch.bmm(hg, u.transpose(1, 2))) * weight.view(n_groups, size, 1)  # (G, S, N)
    w_out.index_add_(0, pool.reshape(-1), torch.bmm(g.transpose(1, 2), hg).view(-1, d))  # (G*N, D)
    return torch.bmm(g, u).view(-1, d)[:b]  # (B, D)


def sg_ns_step(w_in, w_out, centres, local, contexts, counts, pool, lr: float, negative: int) -> None:
    """Skip-gram: the centre's input vector predicts each context word's output vector."""
    v = w_in.index_select(0, centres)  # (B, D)
    vp = v.index_select(0, local)  # (P, D)
    u = w_out.index_select(0, contexts)  # (P, D)
    g = (1.0 - torch.sigmoid(torch.linalg.vecdot(u, vp))) * lr  # (P,)
    grad_v = torch.zeros_like(v).index_add_(0, local, g.unsqueeze(1) * u)  # (B, D)
    w_out.index_add_(0, contexts, g.unsqueeze(1) * vp)
    if negative > 0:
        weight = counts * (lr * negative / pool.shape[1])  # (B,)
        grad_v += _neg_pool_update(w_out, pool, v, weight)
    w_in.index_add_(0, centres, grad_v)


def _cbow_hidden(w_in, centres, local, contexts, counts) -> torch.Tensor:
    h = torch.zeros(len(centres), w_in.shape[1], dtype=w_in.dtype, device=w_in.device)
    h.index_add_(0, local, w_in.index_select(0, contexts))  # (B, D) sum of context vectors
    return h / counts.unsqueeze(1)  # (B, D) mean, as gensim's cbow_mean=1


def cbow_ns_step(w_in, w_out, centres, local, contexts, counts, pool, lr: float, negative: int) -> None:
    """CBOW: the mean of the context input vectors predicts the centre's output vector."""
    h = _cbow_hidden(w_in, centres, local, contexts, counts)  # (B, D)
    u = w_out.index_select(0, centres)  # (B, D)
    g = (1.0 - torch.sigmoid(torch.linalg.vecdot(h, u))) * lr  # (B,)
    grad_h = g.unsqueeze(1) * u  # (B, D)
    w_out.index_add_(0, centres, g.unsqueeze(1) * h)
    if negative > 0:
        weight = torch.full_like(counts, lr * negative / pool.shape[1])  # (B,)
        grad_h += _neg_pool_update(w_out, pool, h, weight)
    # word2vec and gensim (cbow_mean=1) add the full error to every context word
    w_in.index_add_(0, contexts, grad_h.index_select(0, local))


def _hs_update(w_hs, h, points, codes, mask, lr: float) -> torch.Tensor:
    """Hierarchical softmax along Huffman paths; returns d(input) for ``h`` (R, D).

    ``points``/``codes``/``mask``: (R, L) inner nodes, branch bits and valid-step mask per row.
    """
    u = w_hs[points]  # (R, L, D)
    f = torch.bmm(u, h.unsqueeze(2)).squeeze(2)  # (R, L)
    g = (1.0 - codes - torch.sigmoid(f)) * mask * lr  # (R, L) word2vec: label = 1 - code
    grad_h = torch.bmm(g.unsqueeze(1), u).squeeze(1)  # (R, D)
    w_hs.index_add_(0, points.reshape(-1), (g.unsqueeze(2) * h.unsqueeze(1)).reshape(-1, h.shape[1]))
    return grad_h


def sg_hs_step(w_in, w_hs, centres, local, contexts, counts, tree, lr: float) -> None:
    """Skip-gram with hierarchical softmax: the centre walks each context word's Huffman path."""
    points, codes, mask = tree
    v = w_in[centres]  # (B, D)
    grad = _hs_update(w_hs, v[local], points[contexts], codes[contexts], mask[contexts], lr)  # (P, D)
    w_in.index_add_(0, centres[local], grad)


def cbow_hs_step(w_in, w_hs, centres, local, contexts, counts, tree, lr: float) -> None:
    """CBOW with hierarchical softmax: the context mean walks the centre's Huffman path."""
    points, codes, mask = tree
    h = _cbow_hidden(w_in, centres, local, contexts, counts)  # (B, D)
    grad_h = _hs_update(w_hs, h, points[centres], codes[centres], mask[centres], lr)  # (B, D)
    w_in.index_add_(0, contexts, grad_h.index_select(0, local))
