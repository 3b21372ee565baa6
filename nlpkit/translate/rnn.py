"""Recurrent encoder-decoder: ``rnn-attn`` (Bahdanau et al. 2015) and ``rnn`` (Cho et al. 2014).

Encoder: a bidirectional GRU or LSTM over source embeddings; each source position is described
by its forward and backward states (2H). Decoder: a GRU/LSTM whose input at step t is the previous
target token's embedding and a context vector c_t; the output layer reads [decoder state; c_t;
previous embedding].

- ``rnn-attn``: c_t is the additive-attention average of all encoder states, with weights from
  v^T tanh(W_q s_{t-1} + W_k h_j), so the decoder can look back at any source word.
- ``rnn``: c_t is the same fixed summary (the last forward and first backward states) at every
  step: the whole sentence squeezed into one vector, kept to show what attention buys.

Left out: maxout readout, coverage, input feeding (Luong), tied embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nlpkit.errors import ConfigError

ARCHS = ("rnn", "rnn-attn")
CELLS = ("gru", "lstm")


@dataclass
class Seq2SeqConfig:
    arch: str = "rnn-attn"  # rnn-attn (additive attention) or rnn (no attention)
    cell: str = "gru"  # gru or lstm, for encoder and decoder
    src_vocab_size: int = 8000  # set from the trained vocabulary
    tgt_vocab_size: int = 8000
    d_embed: int = 256  # embedding size, both sides
    d_hidden: int = 256  # hidden size per direction (the encoder states are 2x this)
    n_layers: int = 1  # recurrent layers in encoder and decoder
    d_attn: int = 256  # size of the additive attention's hidden layer
    dropout: float = 0.2
    pad_id: int = 0
    bos_id: int = 2
    eos_id: int = 3

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ConfigError(f"unknown --arch {self.arch!r} for a recurrent model", "use rnn or rnn-attn")
        if self.cell not in CELLS:
            raise ConfigError(f"unknown --cell {self.cell!r}", "use gru or lstm")
        for name in ("d_embed", "d_hidden", "n_layers", "d_attn", "src_vocab_size", "tgt_vocab_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        if not 0 <= self.dropout < 1:
            raise ConfigError("--dropout must be in [0, 1)")


class AdditiveAttention(nn.Module):
    """Bahdanau attention: score(s, h_j) = v^T tanh(W_q s + W_k h_j)."""

    def __init__(self, d_query: int, d_key: int, d_attn: int) -> None:
        super().__init__()
        self.w_q = nn.Linear(d_query, d_attn, bias=False)
        self.w_k = nn.Linear(d_key, d_attn)
        self.v = nn.Linear(d_attn, 1, bias=False)

    def forward(self, query: torch.Tensor, keys: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor):
        """query (B, Dq), keys (B, S, A) = w_k(memory) precomputed, memory (B, S, Dk), mask (B, S)."""
        energy = self.v(torch.tanh(keys + self.w_q(query).unsqueeze(1))).squeeze(2)  # (B, S)
        energy = energy.masked_fill(~mask, float("-inf"))
        weights = energy.softmax(dim=1)  # (B, S)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)  # (B, Dk)
        return context, weights


class RNNSeq2Seq(nn.Module):
    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = c = config
        rnn = nn.GRU if c.cell == "gru" else nn.LSTM
        inner_dropout = c.dropout if c.n_layers > 1 else 0.0
        self.src_embed = nn.Embedding(c.src_vocab_size, c.d_embed, padding_idx=c.pad_id)
        self.tgt_embed = nn.Embedding(c.tgt_vocab_size, c.d_embed, padding_idx=c.pad_id)
        self.encoder = rnn(c.d_embed, c.d_hidden, c.n_layers, batch_first=True, bidirectional=True, dropout=inner_dropout)
        self.bridge = nn.Linear(2 * c.d_hidden, c.d_hidden)  # encoder summary -> decoder initial state
        self.attention = AdditiveAttention(c.d_hidden, 2 * c.d_hidden, c.d_attn) if c.arch == "rnn-attn" else None
        self.decoder = rnn(c.d_embed + 2 * c.d_hidden, c.d_hidden, c.n_layers, batch_first=True, dropout=inner_dropout)
        self.readout = nn.Linear(c.d_hidden + 2 * c.d_hidden + c.d_embed, c.d_embed)
        self.out = nn.Linear(c.d_embed, c.tgt_vocab_size)
        self.drop = nn.Dropout(c.dropout)

    # -- encoder -------------------------------------------------------------------------------
    def start(self, src: torch.Tensor, src_mask: torch.Tensor) -> dict[str, Any]:
        """Encode ``src`` (B, S); returns the decoder state that ``step`` and ``reorder`` use."""
        lengths = src_mask.sum(1).clamp(min=1).cpu()
        x = self.drop(self.src_embed(src))  # (B, S, E)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, final = self.encoder(packed)
        memory, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=src.size(1))  # (B, S, 2H)
        h_n = final[0] if isinstance(final, tuple) else final  # (2L, B, H)
        layers = h_n.view(self.config.n_layers, 2, src.size(0), -1)  # (L, 2, B, H)
        per_layer = torch.cat([layers[:, 0], layers[:, 1]], dim=2)  # (L, B, 2H): last fwd + first bwd
        hidden = torch.tanh(self.bridge(per_layer))  # (L, B, H)
        if self.config.cell == "lstm":
            hidden = (hidden, torch.zeros_like(hidden))
        rows = torch.arange(src.size(0), device=src.device)  # the sentence of each decoder row
        state = {"hidden": hidden, "memory": memory, "mask": src_mask, "summary": per_layer[-1], "row": rows}
        if self.attention is not None:
            state["keys"] = self.attention.w_k(memory)  # (B, S, A), computed once per sentence
        return state

    # -- decoder -------------------------------------------------------------------------------
    def _context(self, state: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.attention is None:
            return state["summary"], None  # (B, 2H): the same vector at every step
        hidden = state["hidden"][0] if isinstance(state["hidden"], tuple) else state["hidden"]
        return self.attention(hidden[-1], state["keys"], state["memory"], state["mask"])

    def _decode(self, prev: torch.Tensor, state: dict[str, Any]):
        """One step: prev (B,) ids -> logits (B, V), attention (B, S) or None; updates state."""
        emb = self.drop(self.tgt_embed(prev))  # (B, E)
        context, weights = self._context(state)  # (B, 2H), (B, S)
        out, state["hidden"] = self.decoder(torch.cat([emb, context], dim=1).unsqueeze(1), state["hidden"])
        features = torch.cat([out.squeeze(1), context, emb], dim=1)  # (B, H + 2H + E)
        logits = self.out(self.drop(torch.tanh(self.readout(features))))  # (B, V)
        return logits, weights

    def step(self, state: dict[str, Any], tokens: torch.Tensor):
        """Beam-search step: tokens (N, t) prefixes -> log-probs (N, V) of the next token."""
        state = dict(state)
        logits, weights = self._decode(tokens[:, -1], state)
        return F.log_softmax(logits.float(), dim=-1), weights, state

    def reorder(self, state: dict[str, Any], index: torch.Tensor) -> dict[str, Any]:
        """Keep/duplicate/reorder decoder rows (index (N',)). The per-sentence tensors (memory,
        keys, mask, summary) are copied only when rows change sentence, not when a beam is
        shuffled inside one sentence, since all its rows hold the same values."""
        rows = state["row"].index_select(0, index)
        if rows.shape == state["row"].shape and torch.equal(rows, state["row"]):
            new = dict(state)
        else:
            new = {k: v.index_select(0, index) for k, v in state.items() if k != "hidden"}
        h = state["hidden"]
        new["hidden"] = tuple(x.index_select(1, index) for x in h) if isinstance(h, tuple) else h.index_select(1, index)
        return new

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor, tgt_in: torch.Tensor, gold_prob: float = 1.0):
        """Logits (B, T, V) for ``tgt_in`` (B, T). With ``gold_prob`` < 1 each input after the first
        is, with probability 1 - gold_prob, a token sampled from the model's previous prediction
        (scheduled sampling, Bengio et al. 2015) instead of the reference token."""
        state = self.start(src, src_mask)
        steps = []
        prev = tgt_in[:, 0]
        for t in range(tgt_in.size(1)):
            logits, _ = self._decode(prev, state)
            steps.append(logits)
            if t + 1 < tgt_in.size(1):
                prev = tgt_in[:, t + 1]
                if gold_prob < 1.0:
                    prev = mix_inputs(prev, logits, gold_prob)
        return torch.stack(steps, dim=1)  # (B, T, V)


def mix_inputs(gold: torch.Tensor, logits: torch.Tensor, gold_prob: float) -> torch.Tensor:
    """Replace each gold id (B,) by a sample from ``logits`` (B, V) with probability 1 - gold_prob.

    Padding positions keep the gold id (their loss is ignored anyway). Only the positions that take
    the model's token are sampled: a softmax and a draw over the whole (B, V) cost more than the
    decoder pass at high teacher-forcing rates."""
    with torch.no_grad():
        use_model = (torch.rand(gold.shape, device=gold.device) >= gold_prob) & gold.ne(0)  # (B,)
        rows = use_model.nonzero().squeeze(1)  # (R,)
        if rows.numel() == 0:
            return gold
        sampled = torch.multinomial(logits[rows].float().softmax(-1), 1).squeeze(1)  # (R,)
        return gold.index_put((rows,), sampled)
