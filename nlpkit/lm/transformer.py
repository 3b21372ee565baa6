"""Decoder-only Transformer language model: masked self-attention, sinusoidal positions.

Token embedding * sqrt(d_model) + sinusoidal positions -> n_layers pre-LN blocks from
``nlpkit.layers`` with a causal mask -> final LayerNorm -> tied output layer. The context is at
most ``max_len`` tokens; there is no recurrent state: the "state" is the last ``max_len - 1`` ids,
so a long stream is scored with a sliding window of history (recomputed, no key/value cache).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from nlpkit.errors import ConfigError
from nlpkit.layers import SinusoidalPositionalEncoding, TransformerBlock
from nlpkit.training.config import flag, flags


@dataclass
class TransformerConfig:
    vocab_size: int = 0
    d_model: int = 256
    n_layers: int = 4
    n_heads: int = 4
    d_ff: int = 1024
    dropout: float = 0.2
    max_len: int = 128  # longest context (a longer sentence is read in windows of history)
    activation: str = "gelu"
    tie_weights: bool = True

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads != 0:
            raise ConfigError(f"{flag('d_model')} ({self.d_model}) must be divisible by {flag('n_heads')} ({self.n_heads})")
        if min(self.n_layers, self.n_heads, self.d_ff, self.max_len) < 1:
            raise ConfigError(f"{flags(['n_layers', 'n_heads', 'd_ff', 'max_len'])} must be positive")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"{flag('dropout')} must be in [0, 1)")


class TransformerLM(nn.Module):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = c = config
        self.embed = nn.Embedding(c.vocab_size, c.d_model)
        self.pos = SinusoidalPositionalEncoding(c.d_model, max_len=c.max_len)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(
            TransformerBlock(c.d_model, c.n_heads, c.d_ff, c.dropout, c.activation, norm_first=True) for _ in range(c.n_layers)
        )
        self.norm = nn.LayerNorm(c.d_model)
        self.out = nn.Linear(c.d_model, c.vocab_size)
        if c.tie_weights:
            self.out.weight = self.embed.weight
        nn.init.normal_(self.embed.weight, std=c.d_model**-0.5)
        nn.init.zeros_(self.out.bias)

    def init_state(self, batch: int, device: torch.device) -> torch.Tensor:
        return torch.zeros(batch, 0, dtype=torch.long, device=device)

    def forward(self, idx: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """idx: (B, T) ids, state: (B, S) earlier ids (S < max_len) -> logits (B, T, V), new state."""
        c = self.config
        B, T = idx.shape
        if T > c.max_len:  # longer than the context: score in windows, each with its own history
            outs, step = [], max(1, c.max_len // 2)
            for start in range(0, T, step):
                logits, state = self.forward(idx[:, start : start + step], state)
                outs.append(logits)
            return torch.cat(outs, dim=1), state
        seq = torch.cat([state, idx], dim=1)[:, -c.max_len :]  # (B, S', ) with S' <= max_len
        S = seq.shape[1] - T  # history positions kept
        x = self.drop(self.pos(self.embed(seq) * math.sqrt(c.d_model)))  # (B, S+T, C)
        for block in self.blocks:
            x = block(x, causal=True)  # (B, S+T, C)
        logits = self.out(self.norm(x[:, S:]))  # (B, T, V)
        return logits, seq[:, -(c.max_len - 1) :] if c.max_len > 1 else seq[:, :0]
