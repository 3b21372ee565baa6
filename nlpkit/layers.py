"""Shared Transformer layers (Vaswani et al. 2017), used by the language models, translation and BERT.

Stable API (other packages import it; change only by adding):

- ``MultiHeadAttention(d_model, n_heads, dropout=0.0, bias=True)``: self- or cross-attention on
  ``torch.nn.functional.scaled_dot_product_attention``, with an optional causal mask and an optional
  key-padding mask.
- ``FeedForward(d_model, d_ff, dropout=0.0, activation="relu"|"gelu")``: the position-wise block.
- ``SinusoidalPositionalEncoding(d_model, max_len=4096)``: fixed sin/cos table, added to embeddings.
- ``TransformerBlock(d_model, n_heads, d_ff, dropout=0.0, activation="relu", norm_first=True,
  cross_attention=False)``: self-attention (+ optional cross-attention) + feed-forward, each with a
  residual connection, pre-LN (``norm_first=True``, as GPT-2) or post-LN (as the original paper/BERT).
- ``causal_mask(T, device)``: the boolean (T, T) mask, True where attention is allowed.

Mask convention: boolean tensors where **True means "may attend"** (what SDPA expects);
``key_padding_mask`` is the opposite, as in ``torch.nn.MultiheadAttention``: (B, S) with **True at
padding positions** to be ignored. Dimensions: B batch, T query length, S key length, C = d_model,
H heads, D = C / H.

Left out: rotary/relative positions, key/value caching for incremental decoding (callers recompute).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


def causal_mask(length: int, device: torch.device | str | None = None) -> torch.Tensor:
    """(T, T) boolean, True on and below the diagonal: position t sees positions <= t."""
    return torch.ones(length, length, dtype=torch.bool, device=device).tril()


def _attention_mask(
    B: int, T: int, S: int, causal: bool, key_padding_mask: torch.Tensor | None, device: torch.device
) -> torch.Tensor | None:
    """Combine the causal and key-padding masks into one (B, 1, T, S) boolean "may attend" mask."""
    mask = None
    if causal:
        # Offset for T != S (queries are the last T of S positions), as in incremental decoding.
        mask = torch.ones(T, S, dtype=torch.bool, device=device).tril(diagonal=S - T)  # (T, S)
        mask = mask.view(1, 1, T, S)
    if key_padding_mask is not None:
        keep = ~key_padding_mask.to(torch.bool).view(B, 1, 1, S)  # (B, 1, 1, S)
        mask = keep if mask is None else mask & keep
    return mask


class MultiHeadAttention(nn.Module):
    """Multi-head scaled dot-product attention; self-attention when ``memory`` is None."""

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        self.d_model = d_model
        self.n_heads = n_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        B, L, _ = x.shape
        return x.view(B, L, self.n_heads, self.d_model // self.n_heads).transpose(1, 2)  # (B, H, L, D)

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor | None = None,
        *,
        causal: bool = False,
        key_padding_mask: torch.Tensor | None = None,
        attn_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """x: (B, T, C) queries; memory: (B, S, C) keys/values (default x); returns (B, T, C).

        ``key_padding_mask``: (B, S) True at padding. ``attn_mask``: extra boolean mask broadcastable
        to (B, H, T, S), True where attention is allowed; combined with the others by AND.
        """
        kv = x if memory is None else memory
        B, T, _ = x.shape
        S = kv.shape[1]
        q = self._heads(self.q_proj(x))  # (B, H, T, D)
        k = self._heads(self.k_proj(kv))  # (B, H, S, D)
        v = self._heads(self.v_proj(kv))  # (B, H, S, D)
        mask = _attention_mask(B, T, S, causal, key_padding_mask, x.device)
        if attn_mask is not None:
            mask = attn_mask.to(torch.bool) if mask is None else mask & attn_mask.to(torch.bool)
        p = self.dropout if self.training else 0.0
        if mask is None and causal is False:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p)  # (B, H, T, D)
        elif mask is not None and key_padding_mask is None and attn_mask is None and T == S:
            # Pure causal: let SDPA use its fused causal kernel.
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        # A query whose keys are all masked gets NaN from softmax; zero it (it is padding anyway).
        y = torch.nan_to_num(y, nan=0.0)
        y = y.transpose(1, 2).reshape(B, T, self.d_model)  # (B, T, C)
        return self.out_proj(y)


class FeedForward(nn.Module):
    """Position-wise feed-forward: Linear(C, d_ff) -> activation -> dropout -> Linear(d_ff, C)."""

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0, activation: str = "relu") -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; use relu or gelu")
        self.activation = ACTIVATIONS[activation]
        self.fc1 = nn.Linear(d_model, d_ff)
        self.fc2 = nn.Linear(d_ff, d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, T, C)."""
        return self.fc2(self.drop(self.activation(self.fc1(x))))


class SinusoidalPositionalEncoding(nn.Module):
    """Fixed sinusoidal positions: PE[t, 2i] = sin(t / 10000^(2i/C)), PE[t, 2i+1] = cos(...).

    A buffer (not a parameter), not saved in state dicts, so artefacts do not depend on ``max_len``.
    """

    def __init__(self, d_model: int, max_len: int = 4096) -> None:
        super().__init__()
        self.register_buffer("pe", self._table(d_model, max_len), persistent=False)

    @staticmethod
    def _table(d_model: int, max_len: int) -> torch.Tensor:
        position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)  # (L, 1)
        div = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div)
        pe[:, 1::2] = torch.cos(position * div[: d_model // 2])
        return pe  # (L, C)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """x: (B, T, C) -> x + PE[offset : offset + T]; grows the table if T is longer than it."""
        T = x.shape[1]
        if offset + T > self.pe.shape[0]:
            self.pe = self._table(x.shape[2], 2 * (offset + T)).to(x.device)
        return x + self.pe[offset : offset + T].to(x.dtype)  # (B, T, C)


class TransformerBlock(nn.Module):
    """Self-attention, optional cross-attention, feed-forward; residuals; pre- or post-LN.

    Pre-LN (``norm_first=True``): x = x + f(LN(x)) (stable without warm-up; needs a final LN after
    the last block, which the caller owns). Post-LN: x = LN(x + f(x)) as in Vaswani et al. and BERT.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        dropout: float = 0.0,
        activation: str = "relu",
        norm_first: bool = True,
        cross_attention: bool = False,
    ) -> None:
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.cross_attn = MultiHeadAttention(d_model, n_heads, dropout) if cross_attention else None
        self.norm_cross = nn.LayerNorm(d_model) if cross_attention else None
        self.ff = FeedForward(d_model, d_ff, dropout, activation)
        self.norm2 = nn.LayerNorm(d_model)
        self.drop = nn.Dropout(dropout)

    def _sublayer(self, x: torch.Tensor, norm: nn.Module, fn) -> torch.Tensor:  # noqa: ANN001
        if self.norm_first:
            return x + self.drop(fn(norm(x)))
        return norm(x + self.drop(fn(x)))

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor | None = None,
        *,
        causal: bool = False,
        key_padding_mask: torch.Tensor | None = None,
        memory_key_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """x: (B, T, C); memory: (B, S, C) for cross-attention; masks (B, T) / (B, S) True at padding."""
        x = self._sublayer(
            x, self.norm1, lambda h: self.self_attn(h, causal=causal, key_padding_mask=key_padding_mask)
        )  # (B, T, C)
        if self.cross_attn is not None:
            if memory is None:
                raise ValueError("this block has cross-attention: pass memory")
            x = self._sublayer(
                x, self.norm_cross, lambda h: self.cross_attn(h, memory, key_padding_mask=memory_key_padding_mask)
            )  # (B, T, C)
        return self._sublayer(x, self.norm2, self.ff)  # (B, T, C)
