"""Text -> ids for every architecture, and padded batches.

``WordEncoder`` (avg, bilstm) splits words with ``vocab.word_tokens``; ``PieceEncoder`` (bert) runs
the encoder's WordPiece tokenizer and adds [CLS] ... [SEP]. Both truncate to the model's
``max_len`` (0: no limit) and return plain lists of ids, so batches are built the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from nlpkit.classify.vocab import PAD_ID, WordVocab

if TYPE_CHECKING:
    import torch
    from tokenizers import Tokenizer


class Encoder(Protocol):
    pad_id: int

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]: ...


class WordEncoder:
    def __init__(self, vocab: WordVocab, max_len: int = 0) -> None:
        self.vocab = vocab
        self.max_len = max_len
        self.pad_id = PAD_ID

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.vocab.encode(t, self.max_len) for t in texts]


class PieceEncoder:
    def __init__(self, tok: Tokenizer, max_len: int, pad_id: int) -> None:
        from tokenizers import Tokenizer

        # A private copy: truncation is a setting of the tokenizer object.
        self.tok = Tokenizer.from_str(tok.to_str())
        self.tok.no_padding()
        self.tok.enable_truncation(max_len)
        self.pad_id = pad_id

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tok.encode_batch(list(texts), add_special_tokens=True)]


def collate(seqs: Sequence[Sequence[int]], pad_id: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Id lists -> (ids (B, T) padded with ``pad_id``, lengths (B,)); T is at least 1."""
    import torch

    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)  # (B,)
    T = max(1, int(lengths.max())) if len(seqs) else 1
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)  # (B, T)
    for i, s in enumerate(seqs):
        if s:
            ids[i, : len(s)] = torch.as_tensor(s, dtype=torch.long)
    return ids.to(device), lengths.to(device)
