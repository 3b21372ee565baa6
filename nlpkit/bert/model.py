"""BERT (Devlin et al. 2019): embeddings, post-LN Transformer encoder, MLM and NSP heads.

The architecture is the original's, so that an nlpkit model and HuggingFace ``transformers``'
``BertForPreTraining`` compute the same function (see ``hf.py`` for the key mapping):

- token + position + segment embeddings, LayerNorm, dropout;
- ``layers`` post-LN blocks: x = LN(x + Attn(x)); x = LN(x + FFN(x)) with exact (erf) GELU;
  attention runs on ``torch.nn.functional.scaled_dot_product_attention``; Q, K and V are one
  fused Linear (``qkv``) because one (C, 3C) matmul is faster than three (C, C) ones;
- pooler: tanh(Linear([CLS])); NSP head: Linear(C, 2) on the pooled output;
- MLM head: Linear + GELU + LN, then the transposed token embeddings (tied) plus a bias.
  As in the original BERT, the vocabulary projection is computed only at the masked positions
  when they are given (``mlm_positions``); for 15% masking that skips ~85% of its cost.

Dimensions: B batch, T sequence length, C hidden, H heads, D = C / H, V vocabulary, N masked tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nlpkit.errors import ConfigError


@dataclass
class BertConfig:
    vocab_size: int = 30522  # set from the tokenizer
    hidden: int = 256  # C, the model width (bert-base: 768)
    layers: int = 4  # Transformer blocks (bert-base: 12)
    heads: int = 4  # attention heads; hidden must divide by it
    intermediate: int = 1024  # feed-forward width (4 * hidden in BERT)
    dropout: float = 0.1  # on embeddings, attention probabilities and every residual branch
    max_position: int = 512  # learned position embeddings; sequences may not be longer
    type_vocab_size: int = 2  # segments A and B
    layer_norm_eps: float = 1e-12  # as the original (and transformers) BERT
    pad_id: int = 0  # [PAD]
    init_range: float = 0.02  # std of the normal initialisation

    def __post_init__(self) -> None:
        for name in ("vocab_size", "hidden", "layers", "heads", "intermediate", "max_position", "type_vocab_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{_flag(name)} must be at least 1")
        if self.hidden % self.heads:
            raise ConfigError(f"--d-model {self.hidden} is not divisible by --n-heads {self.heads}", "pick sizes such as 256 and 4")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError("--dropout must be in [0, 1)")


def _flag(field: str) -> str:
    """The `bert pretrain` flag of a BertConfig field (the model sizes every trainer spells the same way)."""
    names = {"hidden": "d-model", "layers": "n-layers", "heads": "n-heads", "intermediate": "d-ff"}
    return "--" + names.get(field, field.replace("_", "-"))


class Embeddings(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.tokens = nn.Embedding(cfg.vocab_size, cfg.hidden, padding_idx=cfg.pad_id)
        self.positions = nn.Embedding(cfg.max_position, cfg.hidden)
        self.segments = nn.Embedding(cfg.type_vocab_size, cfg.hidden)
        self.norm = nn.LayerNorm(cfg.hidden, eps=cfg.layer_norm_eps)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, input_ids: torch.Tensor, segment_ids: torch.Tensor) -> torch.Tensor:
        """(B, T) ids and segment ids -> (B, T, C)."""
        T = input_ids.shape[1]
        pos = self.positions.weight[:T]  # (T, C), broadcast over the batch
        x = self.tokens(input_ids) + pos + self.segments(segment_ids)  # (B, T, C)
        return self.drop(self.norm(x))


class EncoderLayer(nn.Module):
    """One post-LN block: LN(x + SelfAttn(x)), then LN(x + FFN(x))."""

    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.heads = cfg.heads
        self.attn_dropout = cfg.dropout
        self.qkv = nn.Linear(cfg.hidden, 3 * cfg.hidden)
        self.attn_out = nn.Linear(cfg.hidden, cfg.hidden)
        self.attn_norm = nn.LayerNorm(cfg.hidden, eps=cfg.layer_norm_eps)
        self.ffn_in = nn.Linear(cfg.hidden, cfg.intermediate)
        self.ffn_out = nn.Linear(cfg.intermediate, cfg.hidden)
        self.ffn_norm = nn.LayerNorm(cfg.hidden, eps=cfg.layer_norm_eps)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """x: (B, T, C); mask: (B, 1, 1, T) boolean, True where a key may be attended, or None."""
        B, T, C = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)  # 3 x (B, H, T, D)
        p = self.attn_dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)  # (B, H, T, D)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C)
        x = self.attn_norm(x + self.drop(self.attn_out(y)))
        h = self.ffn_out(F.gelu(self.ffn_in(x)))  # (B, T, C)
        return self.ffn_norm(x + self.drop(h))


class Bert(nn.Module):
    """The encoder with both pre-training heads."""

    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embeddings = Embeddings(cfg)
        self.layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.layers))
        self.pooler = nn.Linear(cfg.hidden, cfg.hidden)
        self.mlm_transform = nn.Linear(cfg.hidden, cfg.hidden)
        self.mlm_norm = nn.LayerNorm(cfg.hidden, eps=cfg.layer_norm_eps)
        self.mlm_bias = nn.Parameter(torch.zeros(cfg.vocab_size))
        self.nsp = nn.Linear(cfg.hidden, 2)
        self.apply(self._init)

    def _init(self, module: nn.Module) -> None:
        # BERT's initialisation: N(0, 0.02) weights, zero biases, LayerNorm (1, 0).
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=self.cfg.init_range)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            with torch.no_grad():
                module.weight[module.padding_idx].zero_()

    def encode(
        self, input_ids: torch.Tensor, segment_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """(B, T) ids, segments, attention mask (1 = real token, 0 = padding) -> hidden states.

        Returns the output of the embeddings and of every layer, each (B, T, C).
        """
        B, T = input_ids.shape
        if T > self.cfg.max_position:
            raise ConfigError(f"a sequence of {T} tokens is longer than the model's {self.cfg.max_position} positions")
        if segment_ids is None:
            segment_ids = torch.zeros_like(input_ids)
        mask = None
        if attention_mask is not None and not bool(attention_mask.all()):
            mask = attention_mask.to(torch.bool).view(B, 1, 1, T)  # (B, 1, 1, T), True = may attend
        x = self.embeddings(input_ids, segment_ids)  # (B, T, C)
        states = [x]
        for layer in self.layers:
            x = layer(x, mask)
            states.append(x)
        return states

    def pooled(self, hidden: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, C): tanh(Linear(h[CLS]))."""
        return torch.tanh(self.pooler(hidden[:, 0]))

    def mlm_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """(..., C) hidden states -> (..., V) logits through the tied output embedding."""
        h = self.mlm_norm(F.gelu(self.mlm_transform(hidden)))
        return F.linear(h, self.embeddings.tokens.weight, self.mlm_bias)

    def forward(
        self,
        input_ids: torch.Tensor,
        segment_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        mlm_positions: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (MLM logits, NSP logits (B, 2)).

        ``mlm_positions``: (N,) flat indices into B * T; the MLM logits are then (N, V), computed only
        there. Without it they are (B, T, V), at every position (as transformers computes them).
        """
        hidden = self.encode(input_ids, segment_ids, attention_mask)[-1]  # (B, T, C)
        nsp = self.nsp(self.pooled(hidden))  # (B, 2)
        if mlm_positions is not None:
            hidden = hidden.reshape(-1, hidden.shape[-1]).index_select(0, mlm_positions)  # (N, C)
        return self.mlm_logits(hidden), nsp


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
