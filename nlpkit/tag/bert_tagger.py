"""``--arch bert``: an encoder from ``nlpkit bert pretrain``/``bert import`` fine-tuned whole, with a
Linear(C, K) on the first WordPiece of each word (Devlin et al. 2019, section 5.3) and the same CRF
or softmax head as the word-level taggers. The later pieces of a word get no label and no loss.

The pre-training heads stay in the module, untouched by the tagging loss, so the weights load into
the same ``Bert`` class (as ``classify``'s BERT head does).

Dimensions: B sentences, P pieces, T words, C hidden, K tags.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from nlpkit.bert.model import Bert, BertConfig
from nlpkit.errors import ConfigError
from nlpkit.tag.config import TagConfig
from nlpkit.tag.model import TaggerBase


class BertTagger(TaggerBase):
    def __init__(self, cfg: TagConfig, encoder_cfg: BertConfig, tags: Sequence[str], scheme: str) -> None:
        super().__init__(cfg, tags, scheme)
        if cfg.max_len > encoder_cfg.max_position:
            raise ConfigError(f"--max-len {cfg.max_len} is longer than the encoder's {encoder_cfg.max_position} positions",
                              f"use --max-len {encoder_cfg.max_position} or less")
        self.bert = Bert(encoder_cfg)
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(encoder_cfg.hidden, len(tags))
        nn.init.normal_(self.out.weight, std=encoder_cfg.init_range)
        nn.init.zeros_(self.out.bias)

    def emissions(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        pieces, first = batch["pieces"], batch["first"]  # (B, P), (B, T)
        hidden = self.bert.encode(pieces, attention_mask=batch["attend"])[-1]  # (B, P, C)
        words = hidden.gather(1, first.unsqueeze(2).expand(-1, -1, hidden.shape[2]))  # (B, T, C)
        return self.out(self.drop(words))  # (B, T, K)
