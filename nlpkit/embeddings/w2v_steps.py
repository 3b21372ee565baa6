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

Hot rows. word2vec applies each pair's update at once, so a frequent word's many updates within
one stretch of text see each other and saturate. A batched step computes them all from the same
stale vectors and adds them up, which for the most frequent rows ("the", ",") overshoots and, over
a long run, diverges. So the summed learning rate any one row takes in a step is capped at
``HOT_ROW_STEP``: a row touched by n pair-equivalents at rate lr has its contributions scaled by
min(1, HOT_ROW_STEP / (n * lr)). Rows of ordinary words are touched about once per step or less
and are unaffected; the cap loosens as the learning rate decays.

Shapes: B centres, P (centre, context) pairs, N pooled negatives, D dimensions, L code length.
"""

from __future__ import annotations

import torch

HOT_ROW_STEP = 0.4  # most summed learning rate one row may take in one step


def hot_row_scale(rows: torch.Tensor, weights: torch.Tensor, lr: float) -> torch.Tensor:
    """Per-contribution factor min(1, HOT_ROW_STEP / (n_r * lr)), n_r the summed ``weights`` of row r."""
    uniq, inverse = torch.unique(rows, return_inverse=True)
    total = torch.zeros(len(uniq), dtype=weights.dtype, device=weights.device).index_add_(0, inverse, weights)
    return torch.clamp(HOT_ROW_STEP / (total * lr), max=1.0)[inverse]


def _groups(h: torch.Tensor, weight: torch.Tensor, n_groups: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad (B, D) inputs and (B,) weights to whole groups: (G, S, D) and (G, S)."""
    b, d = h.shape
    size = -(-b // n_groups)
    pad = n_groups * size - b
    if pad:  # zero rows with zero weight fill the last group
        h = torch.cat([h, h.new_zeros(pad, d)])
        weight = torch.cat([weight, weight.new_zeros(pad)])
    return h.view(n_groups, size, d), weight.view(n_groups, size)


def _out_scales(targets: torch.Tensor, pool: torch.Tensor, draws: torch.Tensor, lr: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Hot-row factors for the positive targets (weight 1 each) and the pooled words.

    ``draws`` (G, S): noise draws each centre stands for (pairs x negative / N) per pooled word.
    """
    n_groups, n = pool.shape
    entry = draws.sum(1).repeat_interleave(n)  # (G*N,) draws one pooled word stands for
    scale = hot_row_scale(torch.cat([targets, pool.reshape(-1)]), torch.cat([torch.ones_like(entry[:1]).expand(len(targets)), entry]), lr)
    return scale[: len(targets)], scale[len(targets) :]


def _neg_pool_update(w_out, pool, hg, draws, lr: float, pool_scale) -> torch.Tensor:
    """Negative sampling of grouped inputs ``hg`` (G, S, D) against ``pool`` (G, N); returns d(input) (G*S, D)."""
    n_groups, n = pool.shape
    d = hg.shape[2]
    u = w_out.index_select(0, pool.reshape(-1)).view(n_groups, n, d)  # (G, N, D)
    g = -torch.sigmoid(torch.bmm(hg, u.transpose(1, 2))) * (draws * lr).unsqueeze(2)  # (G, S, N)
    grad_u = torch.bmm(g.transpose(1, 2), hg).view(-1, d)  # (G*N, D)
    w_out.index_add_(0, pool.reshape(-1), grad_u * pool_scale.unsqueeze(1))
    return torch.bmm(g, u).view(-1, d)  # (G*S, D)


def sg_ns_step(w_in, w_out, centres, local, contexts, counts, pool, lr: float, negative: int) -> None:
    """Skip-gram: the centre's input vector predicts each context word's output vector."""
    b = len(centres)
    v = w_in.index_select(0, centres)  # (B, D)
    vp = v.index_select(0, local)  # (P, D)
    u = w_out.index_select(0, contexts)  # (P, D)
    g = (1.0 - torch.sigmoid(torch.linalg.vecdot(u, vp))) * lr  # (P,)
    grad_v = torch.zeros_like(v).index_add_(0, local, g.unsqueeze(1) * u)  # (B, D)
    vg, draws = _groups(v, counts * (negative / pool.shape[1]), pool.shape[0])  # (G, S, D), (G, S)
    pos_scale, pool_scale = _out_scales(contexts, pool, draws, lr)
    grad_v += _neg_pool_update(w_out, pool, vg, draws, lr, pool_scale)[:b]
    w_out.index_add_(0, contexts, (g * pos_scale).unsqueeze(1) * vp)
    w_in.index_add_(0, centres, grad_v * hot_row_scale(centres, counts, lr).unsqueeze(1))


def _cbow_hidden(w_in, centres, local, contexts, counts) -> torch.Tensor:
    h = torch.zeros(len(centres), w_in.shape[1], dtype=w_in.dtype, device=w_in.device)
    h.index_add_(0, local, w_in.index_select(0, contexts))  # (B, D) sum of context vectors
    return h / counts.unsqueeze(1)  # (B, D) mean, as gensim's cbow_mean=1


def cbow_ns_step(w_in, w_out, centres, local, contexts, counts, pool, lr: float, negative: int) -> None:
    """CBOW: the mean of the context input vectors predicts the centre's output vector."""
    b = len(centres)
    h = _cbow_hidden(w_in, centres, local, contexts, counts)  # (B, D)
    u = w_out.index_select(0, centres)  # (B, D)
    g = (1.0 - torch.sigmoid(torch.linalg.vecdot(h, u))) * lr  # (B,)
    grad_h = g.unsqueeze(1) * u  # (B, D)
    hg, draws = _groups(h, torch.full_like(counts, negative / pool.shape[1]), pool.shape[0])
    pos_scale, pool_scale = _out_scales(centres, pool, draws, lr)
    grad_h += _neg_pool_update(w_out, pool, hg, draws, lr, pool_scale)[:b]
    w_out.index_add_(0, centres, (g * pos_scale).unsqueeze(1) * h)
    # word2vec and gensim (cbow_mean=1) add the full error to every context word
    in_scale = hot_row_scale(contexts, torch.ones_like(contexts, dtype=grad_h.dtype), lr)
    w_in.index_add_(0, contexts, grad_h.index_select(0, local) * in_scale.unsqueeze(1))


def _hs_update(w_hs, h, points, codes, mask, lr: float) -> torch.Tensor:
    """Hierarchical softmax along Huffman paths; returns d(input) for ``h`` (R, D).

    ``points``/``codes``/``mask``: (R, L) inner nodes, branch bits and valid-step mask per row.
    """
    u = w_hs[points]  # (R, L, D)
    f = torch.bmm(u, h.unsqueeze(2)).squeeze(2)  # (R, L)
    g = (1.0 - codes - torch.sigmoid(f)) * mask * lr  # (R, L) word2vec: label = 1 - code
    grad_h = torch.bmm(g.unsqueeze(1), u).squeeze(1)  # (R, D)
    flat = points.reshape(-1)
    scale = hot_row_scale(flat, mask.reshape(-1), lr).view_as(g)  # nodes near the root are on every path
    w_hs.index_add_(0, flat, ((g * scale).unsqueeze(2) * h.unsqueeze(1)).reshape(-1, h.shape[1]))
    return grad_h


def sg_hs_step(w_in, w_hs, centres, local, contexts, counts, tree, lr: float) -> None:
    """Skip-gram with hierarchical softmax: the centre walks each context word's Huffman path."""
    points, codes, mask = tree
    v = w_in.index_select(0, centres)  # (B, D)
    rows = centres.index_select(0, local)  # (P,)
    grad = _hs_update(w_hs, v.index_select(0, local), points[contexts], codes[contexts], mask[contexts], lr)  # (P, D)
    w_in.index_add_(0, rows, grad * hot_row_scale(rows, torch.ones_like(grad[:, 0]), lr).unsqueeze(1))


def cbow_hs_step(w_in, w_hs, centres, local, contexts, counts, tree, lr: float) -> None:
    """CBOW with hierarchical softmax: the context mean walks the centre's Huffman path."""
    points, codes, mask = tree
    h = _cbow_hidden(w_in, centres, local, contexts, counts)  # (B, D)
    grad_h = _hs_update(w_hs, h, points[centres], codes[centres], mask[centres], lr)  # (B, D)
    in_scale = hot_row_scale(contexts, torch.ones_like(contexts, dtype=grad_h.dtype), lr)
    w_in.index_add_(0, contexts, grad_h.index_select(0, local) * in_scale.unsqueeze(1))
