"""``bert``: an encoder from ``nlpkit bert pretrain`` with a classifier on [CLS], fine-tuned whole.

As in Devlin et al. (2019): the final hidden state of [CLS] goes through the pre-trained pooler
(tanh(Linear)), dropout and a new Linear(C, K). Every parameter (embeddings, all layers, pooler,
head) is updated. Texts are WordPiece-encoded with the encoder's own tokenizer as
``[CLS] text [SEP]``, truncated to ``max_len`` pieces.

The pre-training heads (MLM, NSP) stay in the module, untouched by the classification loss, so the
artefact's weights load into the same ``Bert`` class; they are a small share of the model.

Dimensions: B batch, T pieces, C hidden, K classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from nlpkit.bert.model import Bert, BertConfig
from nlpkit.errors import ConfigError


@dataclass
class BertClassifierConfig:
    bert: str = ""  # --bert DIR: the pre-trained encoder (recorded; the artefact holds its weights)
    num_classes: int = 2  # from the training labels
    dropout: float = 0.1  # on the pooled [CLS] vector, before the output layer
    max_len: int = 256  # WordPiece tokens per text, [CLS] and [SEP] included

    def __post_init__(self) -> None:
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError("--dropout must be in [0, 1)")
        if self.max_len < 3:
            raise ConfigError("--max-len must be at least 3 for --arch bert ([CLS] text [SEP])")


class BertClassifier(nn.Module):
    def __init__(self, cfg: BertClassifierConfig, encoder_cfg: BertConfig) -> None:
        super().__init__()
        if cfg.max_len > encoder_cfg.max_position:
            raise ConfigError(
                f"--max-len {cfg.max_len} is longer than the encoder's {encoder_cfg.max_position} positions",
                f"use --max-len {encoder_cfg.max_position} or less",
            )
        self.cfg = cfg
        self.bert = Bert(encoder_cfg)
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(encoder_cfg.hidden, cfg.num_classes)
        nn.init.normal_(self.out.weight, std=encoder_cfg.init_range)
        nn.init.zeros_(self.out.bias)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        B, T = ids.shape
        mask = torch.arange(T, device=ids.device).unsqueeze(0) < lengths.unsqueeze(1)  # (B, T), True = real piece
        hidden = self.bert.encode(ids, attention_mask=mask)[-1]  # (B, T, C)
        return self.out(self.drop(self.bert.pooled(hidden)))  # (B, K)
