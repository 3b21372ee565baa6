"""The word-level classifiers: ``avg`` (averaged embeddings) and ``bilstm`` (a bidirectional RNN).

Both take padded word ids and lengths and return class logits (softmax is applied by the loss and
by prediction), so the training loop and prediction treat them alike:

    forward(ids (B, T) long, lengths (B,) long) -> logits (B, K)

``avg`` ignores word order by construction: the mean of the word embeddings is the same for any
permutation of the words, so two texts with the same bag of words get the same prediction.

Every config field is a ``nlpkit classify train`` flag (``d_model`` is ``--d-model``), except
``vocab_size`` and ``num_classes``, which come from the training data, and ``vector_rows``.

``vector_rows`` (from ``--vectors``): the last rows of the vocabulary are words the vectors know but
the training vocabulary lacks (unseen in training, or rarer than ``--min-count``). They keep their
pre-trained vectors in a fixed buffer (``vector_embed``) beside the trained table (``embed``):
unseen words would get no gradient anyway, and a table of 50,000 fine-tuned rows would cost the
optimizer far more per step on CPU than the rest of the model.

Dimensions: B batch, T words, C embedding size, H hidden size per direction, K classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from nlpkit.errors import ConfigError

CELLS = ("lstm", "gru")
POOLINGS = ("max", "mean", "last")


@dataclass
class AvgConfig:
    vocab_size: int = 2  # from the training vocabulary
    num_classes: int = 2  # from the training labels
    d_model: int = 64  # C, size of each word embedding
    dropout: float = 0.0  # on the averaged vector, before the output layer
    max_len: int = 0  # words per text (the first ones); 0 keeps every word
    vector_rows: int = 0  # from --vectors: the last vocabulary rows, fixed pre-trained vectors

    def __post_init__(self) -> None:
        _check_common(self.d_model, self.dropout, self.max_len)
        _check_rows(self.vocab_size, self.vector_rows)


@dataclass
class BiLSTMConfig:
    vocab_size: int = 2  # from the training vocabulary
    num_classes: int = 2  # from the training labels
    d_model: int = 128  # C, size of each word embedding (the vectors' size with --vectors)
    d_hidden: int = 128  # H, RNN state size per direction
    n_layers: int = 1  # stacked bidirectional layers
    cell: str = "lstm"  # lstm or gru
    pooling: str = "max"  # how the (B, T, 2H) states become one vector: max, mean, or last (final states)
    dropout: float = 0.3  # on embeddings and on the pooled vector (and between layers)
    max_len: int = 400  # words per text (the first ones); 0 keeps every word
    vector_rows: int = 0  # from --vectors: the last vocabulary rows, fixed pre-trained vectors

    def __post_init__(self) -> None:
        _check_common(self.d_model, self.dropout, self.max_len)
        _check_rows(self.vocab_size, self.vector_rows)
        if self.d_hidden < 1 or self.n_layers < 1:
            raise ConfigError("--d-hidden and --n-layers must be at least 1")
        if self.cell not in CELLS:
            raise ConfigError(f"unknown --cell {self.cell!r}", "use lstm or gru")
        if self.pooling not in POOLINGS:
            raise ConfigError(f"unknown --pooling {self.pooling!r}", "use max, mean or last")


def _check_common(d_model: int, dropout: float, max_len: int) -> None:
    if d_model < 1:
        raise ConfigError("--d-model must be at least 1")
    if not 0.0 <= dropout < 1.0:
        raise ConfigError("--dropout must be in [0, 1)")
    if max_len < 0:
        raise ConfigError("--max-len must be 0 (no limit) or more")


def _check_rows(vocab_size: int, vector_rows: int) -> None:
    if not 0 <= vector_rows <= vocab_size - 2:  # <pad> and <unk> are always trained rows
        raise ConfigError(f"vector_rows {vector_rows} does not fit a vocabulary of {vocab_size}")


class WordEmbedder(nn.Module):
    """ids (B, T) -> (B, T, C): rows below ``vocab_size - vector_rows`` from ``embed`` (trained),
    the rest from the ``vector_embed`` buffer (fixed)."""

    def __init__(self, vocab_size: int, d_model: int, vector_rows: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size - vector_rows, d_model, padding_idx=0)
        # (R, C); None (no tensor in the state) without --vectors, so models saved before still load
        self.register_buffer("vector_embed", torch.zeros(vector_rows, d_model) if vector_rows else None)

    def embed_words(self, ids: torch.Tensor) -> torch.Tensor:
        n = self.embed.num_embeddings
        if self.vector_embed is None:
            return self.embed(ids)  # (B, T, C)
        trained = self.embed(ids.clamp(max=n - 1))  # (B, T, C); the clamped rows are discarded below
        fixed = nn.functional.embedding((ids - n).clamp(min=0), self.vector_embed)  # (B, T, C)
        return torch.where((ids < n).unsqueeze(2), trained, fixed)  # (B, T, C)

    def set_table(self, table: torch.Tensor) -> None:
        """Fill both parts from one (V, C) table, in vocabulary order."""
        n = self.embed.num_embeddings
        with torch.no_grad():
            self.embed.weight.copy_(table[:n])
            if self.vector_embed is not None:
                self.vector_embed.copy_(table[n:])


class AvgClassifier(WordEmbedder):
    """mean of word embeddings -> dropout -> Linear(C, K)."""

    def __init__(self, cfg: AvgConfig) -> None:
        super().__init__(cfg.vocab_size, cfg.d_model, cfg.vector_rows)
        self.cfg = cfg
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(cfg.d_model, cfg.num_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # The <pad> row is zero (padding_idx), so summing over T and dividing by the true length is
        # the mean over the real words; an empty text (length 0) averages to the zero vector.
        total = self.embed_words(ids).sum(dim=1)  # (B, C)
        mean = total / lengths.clamp(min=1).unsqueeze(1).to(total.dtype)  # (B, C)
        return self.out(self.drop(mean))  # (B, K)


class BiRNNClassifier(WordEmbedder):
    """embeddings -> bidirectional LSTM/GRU -> pooling over time -> dropout -> Linear(2H, K)."""

    def __init__(self, cfg: BiLSTMConfig) -> None:
        super().__init__(cfg.vocab_size, cfg.d_model, cfg.vector_rows)
        self.cfg = cfg
        rnn = nn.LSTM if cfg.cell == "lstm" else nn.GRU
        self.rnn = rnn(
            cfg.d_model, cfg.d_hidden, num_layers=cfg.n_layers, bidirectional=True, batch_first=True,
            dropout=cfg.dropout if cfg.n_layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(2 * cfg.d_hidden, cfg.num_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

        B, T = ids.shape
        # Packing makes every sequence stop at its own length, so the backward direction starts at
        # the last real word, not at padding, and a text's output does not depend on its batch.
        lens = lengths.clamp(min=1).cpu()
        x = self.drop(self.embed_words(ids))  # (B, T, C)
        packed = pack_padded_sequence(x, lens, batch_first=True, enforce_sorted=False)
        states, final = self.rnn(packed)
        h, _ = pad_packed_sequence(states, batch_first=True, total_length=T)  # (B, T, 2H), zeros at padding
        return self.out(self.drop(self._pool(h, final, lens.to(ids.device))))  # (B, K)

    def _pool(self, h: torch.Tensor, final: torch.Tensor | tuple[torch.Tensor, torch.Tensor], lens: torch.Tensor) -> torch.Tensor:
        """(B, T, 2H) states -> (B, 2H)."""
        if self.cfg.pooling == "last":
            hn = final[0] if isinstance(final, tuple) else final  # (layers * 2, B, H)
            return torch.cat([hn[-2], hn[-1]], dim=1)  # top layer's forward and backward final states
        mask = torch.arange(h.shape[1], device=h.device).unsqueeze(0) < lens.unsqueeze(1)  # (B, T)
        if self.cfg.pooling == "mean":
            return (h * mask.unsqueeze(2)).sum(dim=1) / lens.unsqueeze(1).to(h.dtype)  # (B, 2H)
        return h.masked_fill(~mask.unsqueeze(2), float("-inf")).amax(dim=1)  # (B, 2H)
