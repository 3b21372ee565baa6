"""Recurrent language models: Elman RNN, GRU or LSTM (Zaremba et al. 2014 style).

Embedding -> dropout -> n_layers of the cell (dropout between layers) -> dropout -> the output
layer: a linear layer to the vocabulary, optionally tied to the embedding (Press and Wolf 2017; a
projection is added when the hidden size differs from the embedding size), or an adaptive softmax
(Grave et al. 2017, ``nn.AdaptiveLogSoftmaxWithLoss``) for large vocabularies. On a CPU the full
softmax over 10k words costs about three times the two recurrent layers; the adaptive one gives
the most frequent fifth of the vocabulary (ids are in frequency order) a full-size head and the
rarer words two smaller clusters, so training reads about three times more tokens per second.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nlpkit.errors import ConfigError
from nlpkit.training.config import flag, flags

CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
ADAPTIVE_MIN_VOCAB = 2000  # smaller vocabularies keep the full (tied) softmax


def adaptive_cutoffs(vocab_size: int) -> list[int]:
    """Cluster boundaries: a head of the most frequent fifth, then up to 3/5, then the rest."""
    first = max(1, vocab_size // 5)
    return [first, max(first + 1, 3 * vocab_size // 5)]


@dataclass
class RnnConfig:
    cell: str = "lstm"  # rnn, gru or lstm (the --arch)
    vocab_size: int = 0
    d_model: int = 200  # embedding size
    d_hidden: int = 200  # hidden units per layer
    n_layers: int = 2
    dropout: float = 0.2
    tie_weights: bool | None = None  # None: tied with a full softmax
    adaptive_softmax: bool | None = None  # None: adaptive from ADAPTIVE_MIN_VOCAB words on, unless --tie-weights

    def __post_init__(self) -> None:
        if self.adaptive_softmax is None and self.vocab_size:
            self.adaptive_softmax = self.vocab_size >= ADAPTIVE_MIN_VOCAB and not self.tie_weights
        if self.tie_weights is None and self.adaptive_softmax is not None:
            self.tie_weights = not self.adaptive_softmax
        if self.adaptive_softmax and self.tie_weights:
            raise ConfigError(f"{flag('tie_weights')} needs a full softmax", "add --no-adaptive-softmax, or leave out --tie-weights")
        if self.adaptive_softmax and 0 < self.vocab_size < 4:
            raise ConfigError(f"{flag('adaptive_softmax')} needs a vocabulary of 4 words or more", "add --no-adaptive-softmax")
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
        self.adaptive = None
        if c.adaptive_softmax:
            self.adaptive = nn.AdaptiveLogSoftmaxWithLoss(c.d_hidden, c.vocab_size, adaptive_cutoffs(c.vocab_size), div_value=4.0)
        else:
            self.out = nn.Linear(c.d_model if c.tie_weights else c.d_hidden, c.vocab_size)
            if c.tie_weights:
                self.out.weight = self.embed.weight
        self._init()

    def _init(self) -> None:
        nn.init.uniform_(self.embed.weight, -0.1, 0.1)
        if self.adaptive is None:
            nn.init.zeros_(self.out.bias)

    def init_state(self, batch: int, device: torch.device) -> State:
        c = self.config
        h = torch.zeros(c.n_layers, batch, c.d_hidden, device=device)  # (L, B, H)
        return (h, h.clone()) if c.cell == "lstm" else h

    def forward(self, idx: torch.Tensor, state: State, targets: torch.Tensor | None = None) -> tuple[torch.Tensor, State]:
        """idx: (B, T) ids, state (L, B, H) [or a pair for LSTM] -> logits (B, T, V) (log-probabilities
        with an adaptive softmax), new state. With ``targets`` (B, T) (ignore_index -100 for padding):
        the summed negative log-likelihood of the real targets instead of the logits, without the
        (B, T, V) scores an adaptive softmax would otherwise have to build."""
        x = self.drop(self.embed(idx))  # (B, T, C)
        y, state = self.rnn(x, state)  # (B, T, H)
        y = self.drop(y)
        if self.proj is not None:
            y = self.proj(y)  # (B, T, C)
        if self.adaptive is None:
            logits = self.out(y)  # (B, T, V)
            if targets is None:
                return logits, state
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), reduction="sum"), state
        flat = y.reshape(-1, y.shape[-1])  # (B*T, H)
        if targets is None:
            return self.adaptive.log_prob(flat).reshape(*idx.shape, -1), state  # (B, T, V)
        real = targets.reshape(-1) >= 0  # (B*T,)
        return -self.adaptive(flat[real], targets.reshape(-1)[real]).output.float().sum(), state
