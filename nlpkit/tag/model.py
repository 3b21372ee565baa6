"""The word-level taggers: (BiLSTM | left-to-right LSTM) over word, case and character features,
with a CRF or a per-token softmax on top (Huang et al. 2015; Lample et al. 2016).

Per token: the word embedding (``d_model``; from ``--vectors`` if given), a case-class embedding
(``case_dim``) and, with ``char_dim``, a vector built from the token's characters (a character
BiLSTM's two final states, or a width-3 convolution max-pooled over the word; 2 * char_dim either
way). These go through dropout, the LSTM (``bilstm`` reads both ways, ``unidirectional`` only left to
right, so position t sees words 1..t), dropout and a Linear to one score per tag (the CRF's
emissions). ``TaggerBase`` holds what every tagger shares: the loss, decoding and probabilities.

Dimensions: B sentences, T tokens, L characters per token, C features, H d_hidden, K tags.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from nlpkit.tag.config import TagConfig
from nlpkit.tag.crf import CRF
from nlpkit.tag.encode import CASES
from nlpkit.tag.schemes import allowed_transitions


class TaggerBase(nn.Module):
    """A tagger head over ``emissions(batch) -> (B, T, K)``: CRF or independent softmax."""

    def __init__(self, cfg: TagConfig, tags: Sequence[str], scheme: str) -> None:
        super().__init__()
        self.cfg, self.tags, self.scheme = cfg, list(tags), scheme
        self.crf = CRF(len(tags), *allowed_transitions(tags, scheme)) if cfg.crf else None

    def emissions(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The training loss (``forward`` so that DistributedDataParallel sees the call)."""
        return self.loss(batch)

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Negative log-likelihood of the gold tags per token (the CRF's is per sentence, spread)."""
        emit, mask, tags = self.emissions(batch), batch["mask"], batch["tags"]  # (B, T, K), (B, T), (B, T)
        n = mask.sum()
        if self.crf is not None:
            return self.crf.nll(emit.float(), tags, mask).sum() / n
        return nn.functional.cross_entropy(emit.float()[mask], tags[mask], reduction="sum") / n

    @torch.no_grad()
    def decode(self, batch: dict[str, torch.Tensor], probs: bool = False) -> tuple[list[list[int]], list[list[float]] | None]:
        """Best tag ids per sentence and, with ``probs``, each chosen tag's marginal probability."""
        emit, mask = self.emissions(batch).float(), batch["mask"]  # (B, T, K), (B, T)
        lengths = mask.sum(1).tolist()
        if self.crf is not None:
            best = self.crf.viterbi(emit, mask)
            marg = self.crf.marginals(emit, mask) if probs else None  # (B, T, K)
        else:
            ids = emit.argmax(-1).tolist()  # (B, T)
            best = [row[:n] for row, n in zip(ids, lengths)]
            marg = emit.softmax(-1) if probs else None
        if marg is None:
            return best, None
        chosen = [[float(marg[b, t, k]) for t, k in enumerate(row)] for b, row in enumerate(best)]
        return best, chosen


class CharEncoder(nn.Module):
    """(B, T, L) character ids -> (B, T, 2 * char_dim), one vector per token."""

    def __init__(self, n_chars: int, char_dim: int, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.embed = nn.Embedding(n_chars, char_dim, padding_idx=0)
        if kind == "lstm":
            self.rnn = nn.LSTM(char_dim, char_dim, batch_first=True, bidirectional=True)
        else:
            self.conv = nn.Conv1d(char_dim, 2 * char_dim, kernel_size=3, padding=1)

    def forward(self, chars: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Only real tokens (``mask`` (B, T)) are encoded; padding tokens get zeros."""
        B, T, L = chars.shape
        words = chars[mask]  # (N, L) the real tokens
        lengths = (words != 0).sum(1).clamp(min=1)  # (N,)
        x = self.embed(words)  # (N, L, c)
        if self.kind == "lstm":
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            _, (h, _) = self.rnn(packed)  # h: (2, N, c) final forward and backward states
            enc = torch.cat([h[0], h[1]], dim=1)  # (N, 2c)
        else:
            y = self.conv(x.transpose(1, 2))  # (N, 2c, L)
            pad = (torch.arange(L, device=words.device) >= lengths.unsqueeze(1)).unsqueeze(1)  # (N, 1, L)
            enc = y.masked_fill(pad, float("-inf")).max(dim=2).values  # (N, 2c)
        out = enc.new_zeros(B, T, enc.shape[1])  # (B, T, 2c)
        out[mask] = enc
        return out


class WordTagger(TaggerBase):
    def __init__(self, cfg: TagConfig, n_words: int, n_chars: int, tags: Sequence[str], scheme: str) -> None:
        super().__init__(cfg, tags, scheme)
        assert cfg.d_model is not None
        self.word_embed = nn.Embedding(n_words, cfg.d_model, padding_idx=0)
        if cfg.freeze_vectors:
            self.word_embed.weight.requires_grad_(False)
        size = cfg.d_model
        self.case_embed = nn.Embedding(len(CASES), cfg.case_dim, padding_idx=0) if cfg.case_dim else None
        size += cfg.case_dim
        self.chars = CharEncoder(n_chars, cfg.char_dim, cfg.char_encoder) if cfg.char_dim else None
        size += 2 * cfg.char_dim
        bidirectional = cfg.arch == "bilstm"
        self.drop = nn.Dropout(cfg.dropout)
        self.rnn = nn.LSTM(size, cfg.d_hidden, num_layers=cfg.n_layers, batch_first=True, bidirectional=bidirectional,
                           dropout=cfg.dropout if cfg.n_layers > 1 else 0.0)
        self.out = nn.Linear(cfg.d_hidden * (2 if bidirectional else 1), len(tags))

    def features(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, T, C): word, case and character features of each token."""
        parts = [self.word_embed(batch["words"])]  # (B, T, d_model)
        if self.case_embed is not None:
            parts.append(self.case_embed(batch["cases"]))  # (B, T, case_dim)
        if self.chars is not None:
            parts.append(self.chars(batch["chars"], batch["mask"]))  # (B, T, 2 * char_dim)
        return torch.cat(parts, dim=-1)

    def emissions(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x = self.drop(self.features(batch))  # (B, T, C)
        mask = batch["mask"]
        T = x.shape[1]
        packed = pack_padded_sequence(x, mask.sum(1).cpu(), batch_first=True, enforce_sorted=False)
        h, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=T)  # (B, T, H or 2H)
        return self.out(self.drop(h))  # (B, T, K)
