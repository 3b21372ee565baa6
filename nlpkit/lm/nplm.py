"""Bengio et al. (2003) feed-forward neural probabilistic language model.

    x = [C(w_{t-n+1}); ...; C(w_{t-1})]            (n-1 = ``context`` embeddings, concatenated)
    y = b + W x + U tanh(d + H x)                  (W: optional direct connections)

With ``tie_weights`` the hidden layer is projected to ``d_model`` and scored against the input
embeddings. The "state" is the last ``context`` token ids, so the model streams like an RNN:
the first sentence starts from a history of ``</s>`` boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from nlpkit.errors import ConfigError
from nlpkit.training.config import flag, flags


@dataclass
class NplmConfig:
    vocab_size: int = 0  # set from the vocabulary
    context: int = 4  # words of history (n - 1)
    d_model: int = 128  # word embedding size
    d_hidden: int = 512  # tanh hidden layer
    dropout: float = 0.2
    direct: bool = False  # Bengio's direct input -> output connections (W)
    tie_weights: bool = True
    eos_id: int = 1

    def __post_init__(self) -> None:
        if self.context < 1:
            raise ConfigError(f"{flag('context')} must be at least 1")
        if self.d_model < 1 or self.d_hidden < 1:
            raise ConfigError(f"{flags(['d_model', 'd_hidden'])} must be positive")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"{flag('dropout')} must be in [0, 1)")


class NPLM(nn.Module):
    def __init__(self, config: NplmConfig) -> None:
        super().__init__()
        self.config = c = config
        self.embed = nn.Embedding(c.vocab_size, c.d_model)
        self.hidden = nn.Linear(c.context * c.d_model, c.d_hidden)
        self.drop = nn.Dropout(c.dropout)
        self.direct = nn.Linear(c.context * c.d_model, c.vocab_size, bias=False) if c.direct else None
        if c.tie_weights:
            self.proj = nn.Linear(c.d_hidden, c.d_model)
            self.out = nn.Linear(c.d_model, c.vocab_size)
            self.out.weight = self.embed.weight
        else:
            self.proj = None
            self.out = nn.Linear(c.d_hidden, c.vocab_size)

    def init_state(self, batch: int, device: torch.device) -> torch.Tensor:
        return torch.full((batch, self.config.context), self.config.eos_id, dtype=torch.long, device=device)

    def forward(self, idx: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """idx: (B, T) ids, state: (B, n) previous ids -> logits (B, T, V), new state (B, n)."""
        n = self.config.context
        B, T = idx.shape
        seq = torch.cat([state, idx], dim=1)  # (B, n + T)
        windows = seq.unfold(1, n, 1)[:, :T]  # (B, T, n): the n ids before each position
        x = self.drop(self.embed(windows).reshape(B, T, -1))  # (B, T, n * C)
        h = self.drop(torch.tanh(self.hidden(x)))  # (B, T, H)
        if self.proj is not None:
            h = self.proj(h)  # (B, T, C)
        logits = self.out(h)  # (B, T, V)
        if self.direct is not None:
            logits = logits + self.direct(x)
        return logits, seq[:, -n:]
