"""Incremental Transformer decoding: each step runs the decoder on the newest token only.

Masked self-attention means the layer outputs at positions < t never change once computed, so
the keys and values of every earlier position are kept (the self-attention cache) and only the
newest position's are computed and appended. Cross-attention keys and values depend only on the
encoder output, so they are computed once per sentence. The result is the same as running the
decoder over the whole prefix (up to float rounding), at O(t) instead of O(t^2) work per step.

The functions drive the blocks of ``nlpkit.layers`` through their own submodules and
``_sublayer`` (so pre-LN and post-LN both work) and never change parameters: models saved before
this module existed decode with it unchanged.

Beam-search state (a dict; N hypotheses, M sentences):

- ``self``: per layer (k, v), each (N, H, capacity, D), of which the first ``len`` positions hold
  the keys/values of the tokens fed so far. The buffers are preallocated (capacity doubles when
  full) and each step writes its position in place, so a step costs O(1) copying instead of
  growing the cache with ``torch.cat`` (O(t)); ``reorder`` copies the filled positions once into
  a buffer with room for the next one.
  Writing in place means a state is used up by ``decoder_step``: step from the returned one;
- ``len``: the number of tokens fed so far;
- ``cross``: per layer (k, v), each (M, H, S, D), one entry per *sentence*, and ``keep``
  (M, 1, 1, S) True on real source tokens;
- ``entry`` (N,): the sentence entry of each hypothesis, and ``group`` g > 0 when it is
  ``arange(M).repeat_interleave(g)``. Beam search keeps a sentence's hypotheses in K
  consecutive rows, so cross-attention runs the K queries of a sentence against one copy of its
  keys/values, and ``reorder`` copies them only when sentences leave. Any other layout
  (``group`` 0) gathers the keys/values of each row at each step instead.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nlpkit.layers import MultiHeadAttention, TransformerBlock

INITIAL_CAPACITY = 32  # decoder positions allocated at the first step; doubled when full


def start_cache(decoder: nn.ModuleList, memory: torch.Tensor, src_mask: torch.Tensor) -> dict[str, Any]:
    """The empty cache for decoding against ``memory`` (B, S, C), ``src_mask`` (B, S) True on tokens."""
    cross = []
    for block in decoder:
        mha = block.cross_attn
        cross.append((mha._heads(mha.k_proj(memory)), mha._heads(mha.v_proj(memory))))  # (B, H, S, D) each
    entry = torch.arange(memory.size(0), device=memory.device)
    keep = src_mask[:, None, None, :]
    return {"self": [None] * len(decoder), "len": 0, "cross": cross, "keep": keep, "entry": entry, "group": 1}


def reorder_cache(cache: dict[str, Any], index: torch.Tensor) -> dict[str, Any]:
    """Keep/duplicate/reorder hypotheses: row i of the result is row ``index[i]`` of ``cache``."""
    n = cache["entry"].numel()
    if index.numel() == n and torch.equal(index, torch.arange(n, device=index.device)):
        return cache  # nothing moved (greedy search while no sentence has finished)
    entry = cache["entry"].index_select(0, index)  # (N',)
    filled = cache["len"]
    out = {"self": [None if kv is None else _select_filled(kv, index, filled) for kv in cache["self"]], "len": filled}
    out["cross"], out["keep"] = cache["cross"], cache["keep"]
    kept, counts = torch.unique_consecutive(entry, return_counts=True)
    if not bool((counts == counts[0]).all()):
        return {**out, "entry": entry, "group": 0}
    group = int(counts[0])  # g consecutive rows per entry: keep one copy per entry
    if not (kept.numel() == cache["keep"].size(0) and torch.equal(kept, torch.arange(kept.numel(), device=kept.device))):
        out["cross"] = [_select(kv, kept) for kv in cache["cross"]]
        out["keep"] = cache["keep"].index_select(0, kept)
    out["entry"] = torch.arange(kept.numel(), device=kept.device).repeat_interleave(group)
    return {**out, "group": group}


def _select(kv: tuple[torch.Tensor, torch.Tensor], index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return kv[0].index_select(0, index), kv[1].index_select(0, index)


def _select_filled(kv: tuple[torch.Tensor, torch.Tensor], index: torch.Tensor, filled: int):
    """Rows ``index`` of self-attention buffers (N, H, capacity, D), positions < ``filled`` only.

    The copy gets room for one more position only: beam search reorders at every step, and memory
    that is allocated but never written is not free on CPU (fresh pages are faulted in and zeroed
    when first touched, and the rows of a wider buffer would touch them all)."""
    out = []
    for buf in kv:
        new = buf.new_empty((index.numel(), buf.size(1), filled + 1, buf.size(3)))  # (N', H, t+1, D)
        torch.index_select(buf[:, :, :filled], 0, index, out=new[:, :, :filled])
        out.append(new)
    return out[0], out[1]


def _append(buf: torch.Tensor | None, new: torch.Tensor, at: int) -> torch.Tensor:
    """Write ``new`` (N, H, 1, D) at position ``at`` of ``buf`` (N, H, capacity, D), allocating or
    doubling the buffer when it is missing or full; returns the buffer written to."""
    if buf is None or at == buf.size(2):
        grown = new.new_empty((*new.shape[:2], max(2 * at, INITIAL_CAPACITY), new.size(3)))
        if buf is not None:
            grown[:, :, :at] = buf[:, :, :at]
        buf = grown
    buf[:, :, at] = new[:, :, 0]
    return buf


def decoder_step(
    decoder: nn.ModuleList, x: torch.Tensor, cache: dict[str, Any], want_attention: bool = False
) -> tuple[torch.Tensor, dict[str, Any], torch.Tensor | None]:
    """Run the decoder blocks on the newest position ``x`` (N, 1, C).

    Returns the last block's output (N, 1, C), the cache with this position appended (written in
    place: ``cache`` is used up), and the last block's cross-attention weights averaged over heads
    (N, S) when ``want_attention``.
    """
    new_self, weights = [], None
    cross, keep, group = cache["cross"], cache["keep"], cache["group"]
    if not group:  # rows out of sentence order: one copy of the cross keys/values per row
        cross = [_select(kv, cache["entry"]) for kv in cross]
        keep, group = keep.index_select(0, cache["entry"]), 1
    last = len(decoder) - 1
    for i, block in enumerate(decoder):
        past = cache["self"][i]
        x, kv, w = block_step(block, x, past, cache["len"], cross[i], keep, group, want_attention and i == last)
        new_self.append(kv)
        weights = w if w is not None else weights
    return x, {**cache, "self": new_self, "len": cache["len"] + 1}, weights


def block_step(
    block: TransformerBlock,
    x: torch.Tensor,
    past: tuple[torch.Tensor, torch.Tensor] | None,
    filled: int,
    cross: tuple[torch.Tensor, torch.Tensor],
    keep: torch.Tensor,
    group: int,
    want_weights: bool = False,
):
    """One block, newest position only: x (N, 1, C) -> (N, 1, C), the (k, v) buffers with position
    ``filled`` written, weights or None.

    ``past``: self-attention buffers (N, H, capacity, D) with ``filled`` positions, or None at the
    first step. ``cross`` (M, H, S, D) and ``keep`` (M, 1, 1, S) hold one entry per ``group`` rows."""
    saved: dict[str, Any] = {}

    def self_attention(h: torch.Tensor) -> torch.Tensor:
        mha = block.self_attn
        k_buf = _append(past[0] if past else None, mha._heads(mha.k_proj(h)), filled)  # (N, H, capacity, D)
        v_buf = _append(past[1] if past else None, mha._heads(mha.v_proj(h)), filled)
        saved["kv"] = (k_buf, v_buf)
        k, v = k_buf[:, :, : filled + 1], v_buf[:, :, : filled + 1]  # (N, H, t+1, D) views
        return attend(mha, h, k, v, None, 1)[0]  # the newest position may see every cached one

    def cross_attention(h: torch.Tensor) -> torch.Tensor:
        out, saved["weights"] = attend(block.cross_attn, h, cross[0], cross[1], keep, group, want_weights)
        return out

    x = block._sublayer(x, block.norm1, self_attention)
    x = block._sublayer(x, block.norm_cross, cross_attention)
    x = block._sublayer(x, block.norm2, block.ff)
    return x, saved["kv"], saved.get("weights")


def attend(
    mha: MultiHeadAttention, h: torch.Tensor, k: torch.Tensor, v: torch.Tensor, keep: torch.Tensor | None,
    group: int, want_weights: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Queries from ``h`` (N, 1, C) against cached k, v (M, H, S, D), N = M * group: the ``group``
    consecutive rows of an entry are its queries. ``keep`` (M, 1, 1, S) or None.

    Returns the attention output (N, 1, C) and, with ``want_weights``, the weights averaged over
    heads (N, S)."""
    n, m = h.size(0), k.size(0)
    q = mha.q_proj(h).view(m, group, mha.n_heads, -1).transpose(1, 2)  # (M, H, g, D)
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)  # (M, H, g, D)
    weights = None
    if want_weights:
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.size(-1))  # (M, H, g, S)
        if keep is not None:
            scores = scores.masked_fill(~keep, float("-inf"))
        weights = scores.softmax(-1).mean(1).reshape(n, -1)  # (N, S)
    return mha.out_proj(y.transpose(1, 2).reshape(n, 1, mha.d_model)), weights
