"""Transformer encoder-decoder after Vaswani et al. 2017, on the shared layers of ``nlpkit.layers``.

Scaled dot-product multi-head attention is used three ways: encoder self-attention (padding
masked), masked decoder self-attention (no position sees a later one) and encoder-decoder
attention. Positions are sinusoidal or learned; embeddings are scaled by sqrt(d_model) and the
decoder's input embedding is tied to its output layer. Pre-LN by default (stable on small data),
post-LN as in the paper with ``norm_first=False``.

Decoding is incremental (``nlpkit.translate.incremental``): each step feeds only the newest token
and reuses the cached keys/values of the earlier ones, and the cross-attention keys/values are
computed once per sentence. ``kv_cache = False`` recomputes the decoder over the whole prefix at
every step instead (the old path, kept for tests and benchmarks; same results). Scheduled sampling
uses the two-pass scheme of Mihaylova & Martins (2019), since a Transformer decoder sees all
positions at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nlpkit.errors import ConfigError
from nlpkit.layers import SinusoidalPositionalEncoding, TransformerBlock
from nlpkit.translate.incremental import decoder_step, reorder_cache, start_cache
from nlpkit.translate.rnn import mix_inputs


@dataclass
class TransformerConfig:
    arch: str = "transformer"
    src_vocab_size: int = 8000  # set from the trained vocabulary
    tgt_vocab_size: int = 8000
    # Small on purpose: measured on 2 CPU cores, 4 minutes of Tatoeba de-en give valid BLEU 17.3 at
    # this size against 12.5 at d-model 256 / 3 layers / d-ff 1024 (more steps beat more width).
    d_model: int = 128
    n_heads: int = 4
    n_layers: int = 2  # in the encoder and in the decoder
    d_ff: int = 512
    dropout: float = 0.1
    positions: str = "sinusoidal"  # sinusoidal or learned
    max_len: int = 256  # longest sentence in pieces (learned positions need a table this long)
    norm_first: bool = True  # pre-LN; False: post-LN as in the paper
    share_embeddings: bool = False  # one embedding for source, target and output (joint vocabulary only)
    pad_id: int = 0
    bos_id: int = 2
    eos_id: int = 3

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ConfigError(f"--d-model {self.d_model} is not divisible by --n-heads {self.n_heads}")
        if self.positions not in ("sinusoidal", "learned"):
            raise ConfigError(f"unknown --positions {self.positions!r}", "use sinusoidal or learned")
        for name in ("d_model", "n_heads", "n_layers", "d_ff", "max_len"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        if not 0 <= self.dropout < 1:
            raise ConfigError("--dropout must be in [0, 1)")
        if self.share_embeddings and self.src_vocab_size != self.tgt_vocab_size:
            raise ConfigError("--share-embeddings needs --joint-vocab")


class TransformerSeq2Seq(nn.Module):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = c = config
        self.tgt_embed = nn.Embedding(c.tgt_vocab_size, c.d_model, padding_idx=c.pad_id)
        self.src_embed = self.tgt_embed if c.share_embeddings else nn.Embedding(c.src_vocab_size, c.d_model, padding_idx=c.pad_id)
        if c.positions == "learned":
            self.src_pos = nn.Embedding(c.max_len + 1, c.d_model)
            self.tgt_pos = nn.Embedding(c.max_len + 2, c.d_model)  # + BOS and EOS
        else:
            self.sinusoid = SinusoidalPositionalEncoding(c.d_model, c.max_len + 2)

        def block(cross: bool) -> TransformerBlock:
            return TransformerBlock(c.d_model, c.n_heads, c.d_ff, c.dropout, "relu", c.norm_first, cross_attention=cross)

        self.encoder = nn.ModuleList(block(False) for _ in range(c.n_layers))
        self.decoder = nn.ModuleList(block(True) for _ in range(c.n_layers))
        self.enc_norm = nn.LayerNorm(c.d_model) if c.norm_first else nn.Identity()
        self.dec_norm = nn.LayerNorm(c.d_model) if c.norm_first else nn.Identity()
        self.drop = nn.Dropout(c.dropout)
        nn.init.normal_(self.tgt_embed.weight, std=c.d_model**-0.5)
        if not c.share_embeddings:
            nn.init.normal_(self.src_embed.weight, std=c.d_model**-0.5)

    def _embed(self, ids: torch.Tensor, table: nn.Embedding, pos_table: str, offset: int = 0) -> torch.Tensor:
        """ids (B, T) at positions offset .. offset+T-1 -> (B, T, C)."""
        x = table(ids) * math.sqrt(self.config.d_model)  # (B, T, C)
        if self.config.positions == "learned":
            positions = torch.arange(offset, offset + ids.size(1), device=ids.device)
            x = x + getattr(self, pos_table)(positions.clamp(max=getattr(self, pos_table).num_embeddings - 1))
        else:
            x = self.sinusoid(x, offset)
        return self.drop(x)

    def encode(self, src: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        """src (B, S), src_mask (B, S) True on tokens -> memory (B, S, C)."""
        x = self._embed(src, self.src_embed, "src_pos")
        for layer in self.encoder:
            x = layer(x, key_padding_mask=~src_mask)
        return self.enc_norm(x)

    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        """tgt_in (B, T) -> logits (B, T, V); position t sees inputs <= t only."""
        y = self._embed(tgt_in, self.tgt_embed, "tgt_pos")
        pad = tgt_in.eq(self.config.pad_id)
        for layer in self.decoder:
            y = layer(y, memory, causal=True, key_padding_mask=pad, memory_key_padding_mask=~src_mask)
        return F.linear(self.dec_norm(y), self.tgt_embed.weight)  # (B, T, V), tied output layer

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor, tgt_in: torch.Tensor, gold_prob: float = 1.0):
        memory = self.encode(src, src_mask)
        if gold_prob < 1.0:
            with torch.no_grad():
                first = self.decode(tgt_in, memory, src_mask)  # (B, T, V) with gold inputs
            mixed = mix_inputs(tgt_in[:, 1:].reshape(-1), first[:, :-1].reshape(-1, first.size(-1)), gold_prob)
            tgt_in = torch.cat([tgt_in[:, :1], mixed.view(tgt_in.size(0), -1)], dim=1)
        return self.decode(tgt_in, memory, src_mask)

    # -- beam search interface -----------------------------------------------------------------
    kv_cache: bool = True  # False: recompute the whole prefix at every step (the old, slower path)
    want_attention: bool = False  # set by the caller to get cross-attention weights from ``step``

    def start(self, src: torch.Tensor, src_mask: torch.Tensor) -> dict[str, Any]:
        memory = self.encode(src, src_mask)  # (B, S, C)
        if self.kv_cache:
            return start_cache(self.decoder, memory, src_mask)
        return {"memory": memory, "mask": src_mask}

    def step(self, state: dict[str, Any], tokens: torch.Tensor):
        """tokens (N, t) -> log-probs (N, V) of token t+1, and the last layer's cross-attention
        of the last position averaged over heads (N, S) when ``want_attention`` is set."""
        if not self.kv_cache:
            return self._step_uncached(state, tokens)
        pos = state["len"]  # tokens already in the cache
        if tokens.size(1) != pos + 1:
            raise ValueError(f"the cache holds {pos} tokens; step needs the prefix plus one new token")
        x = self._embed(tokens[:, -1:], self.tgt_embed, "tgt_pos", offset=pos)  # (N, 1, C)
        y, cache, attn = decoder_step(self.decoder, x, state, self.want_attention)  # (N, 1, C)
        logits = F.linear(self.dec_norm(y[:, 0]), self.tgt_embed.weight)  # (N, V), tied output layer
        return F.log_softmax(logits.float(), dim=-1), attn, cache

    def _step_uncached(self, state: dict[str, Any], tokens: torch.Tensor):
        captured: dict[str, torch.Tensor] = {}
        hook = None
        if self.want_attention:
            hook = self.decoder[-1].cross_attn.register_forward_pre_hook(_capture(captured), with_kwargs=True)
        try:
            logits = self.decode(tokens, state["memory"], state["mask"])[:, -1]  # (N, V)
        finally:
            if hook is not None:
                hook.remove()
        attn = self._cross_weights(captured, state["mask"]) if captured else None
        return F.log_softmax(logits.float(), dim=-1), attn, state

    def _cross_weights(self, captured: dict[str, torch.Tensor], src_mask: torch.Tensor) -> torch.Tensor:
        mha = self.decoder[-1].cross_attn
        query, memory = captured["query"][:, -1:], captured["memory"]  # (N, 1, C), (N, S, C)
        q = mha._heads(mha.q_proj(query))  # (N, H, 1, D)
        k = mha._heads(mha.k_proj(memory))  # (N, H, S, D)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.size(-1))  # (N, H, 1, S)
        scores = scores.masked_fill(~src_mask[:, None, None, :], float("-inf"))
        return scores.softmax(-1).mean(1).squeeze(1)  # (N, S)

    def reorder(self, state: dict[str, Any], index: torch.Tensor) -> dict[str, Any]:
        if "len" in state:
            return reorder_cache(state, index)
        return {k: v.index_select(0, index) for k, v in state.items()}


def _capture(store: dict[str, torch.Tensor]):
    def hook(module, args, kwargs):  # noqa: ANN001 - torch hook signature
        store["query"], store["memory"] = args[0], args[1]

    return hook
