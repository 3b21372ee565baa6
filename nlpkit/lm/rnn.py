"""Recurrent language models: Elman RNN, GRU or LSTM (Zaremba et al. 2014 style).

Embedding -> dropout -> n_layers of the cell (dropout between layers) -> dropout -> linear to the
vocabulary, optionally tied to the embedding (Press and Wolf 2017; a projection is added when
the hidden size differs from the embedding size). The state is the cell's hidden state, carried
between BPTT segments and detached by the training loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from nlpkit.errors import ConfigError
from nlpkit.training.config import flag, flags

CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


@dataclass
class RnnConfig:
    cell: str = "lstm"  # rnn, gru or lstm (the --arch)
    vocab_size: int = 0
    d_model: int = 200  # embedding size
    d_hidden: int = 200  # hidden units per layer
    n_layers: int = 2
    dropout: float = 0.2
    tie_weights: bool = True

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ConfigError(f"unknown recurrent cell {self.cell!r}", "use rnn, gru or lstm")
        if self.n_layers < 1 or self.d_model < 1 or self.d_hidden < 1:
            raise ConfigError(f"{flags(['n_layers', 'd_model', 'd_hidden'])} must be positive")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"{flag('dropout')} must be in [0, 1)")


State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


class RNNLM(nn.Module):
    def __init__(self, config: RnnConfig) -> None:
        super().__init__()
        self.config = c = config
        self.embed = nn.Embedding(c.vocab_size, c.d_model)
        self.drop = nn.Dropout(c.dropout)
        between = c.dropout if c.n_layers > 1 else 0.0
        self.rnn = CELLS[c.cell](c.d_model, c.d_hidden, c.n_layers, dropout=between, batch_first=True)
        self.proj = nn.Linear(c.d_hidden, c.d_model) if c.tie_weights and c.d_hidden != c.d_model else None
        self.out = nn.Linear(c.d_model if c.tie_weights else c.d_hidden, c.vocab_size)
        if c.tie_weights:
            self.out.weight = self.embed.weight
        self._init()

    def _init(self) -> None:
        nn.init.uniform_(self.embed.weight, -0.1, 0.1)
        nn.init.zeros_(self.out.bias)

    def init_state(self, batch: int, device: torch.device) -> State:
        c = self.config
        h = torch.zeros(c.n_layers, batch, c.d_hidden, device=device)  # (L, B, H)
        return (h, h.clone()) if c.cell == "lstm" else h

    def forward(self, idx: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """idx: (B, T) ids, state (L, B, H) [or a pair for LSTM] -> logits (B, T, V), new state."""
        x = self.drop(self.embed(idx))  # (B, T, C)
        y, state = self.rnn(x, state)  # (B, T, H)
        y = self.drop(y)
        if self.proj is not None:
            y = self.proj(y)  # (B, T, C)
        return self.out(y), state  # (B, T, V)
