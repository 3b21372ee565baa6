"""The neural LM family on the training engine: sentence-level training, the way ``lm score`` scores.

Every non-empty line is a sentence, trained from the model's initial state: the input is
``</s> w1 ... wn`` and the targets ``w1 ... wn </s>`` (``</s>`` also starts a sentence, as in
``neural_score.score_batch``), so the training loss of a sentence is exactly what ``lm score``
reports for it (in nats instead of log10). Sentences are batched by length (shuffled, sorted by
length inside buckets, batches shuffled): a pure function of (seed, epoch). Right padding is
ignored by the loss and cannot change a sentence's loss, since every architecture is causal.
The loss is the mean over the batch's tokens; evaluation is the perplexity per token over the
--valid sentences (lower is better).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nlpkit.errors import ConfigError
from nlpkit.training import unwrap
from nlpkit.training.config import TrainConfig as EngineConfig
from nlpkit.training.config import fixed, flag

BUCKET = 50  # batches per length-sorted bucket: little padding, batches still varied
IGNORE = -100  # target id of padding (cross_entropy's ignore_index)


@dataclass
class TrainConfig(EngineConfig):
    """``lm train`` settings for the neural architectures (the engine's and the data's)."""

    batch_size: int = fixed(20)  # sentences per batch
    min_count: int = fixed(1)  # rarer words become <unk> (word vocabulary)
    max_vocab: int | None = fixed(None)  # vocabulary size, specials included (word vocabulary)
    tokenizer: str | None = fixed(None)  # a WordPiece tokenizer dir instead of words
    lr: float | None = 1e-3
    optimizer: str = "adam"
    clip: float = 0.25  # against exploding gradients
    schedule: str = "plateau"  # multiply the lr by --lr-decay after an evaluation without progress
    min_lr: float = 1e-6
    precision: str | None = None  # None: bf16 on CUDA, fp32 elsewhere

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.batch_size < 1 or self.min_count < 1:
            raise ConfigError(f"{flag('batch_size')} and {flag('min_count')} must be at least 1")


def encode_sentences(lines: Sequence[str], vocab: Any) -> list[list[int]]:
    """The ids of every non-empty line (one sentence each), without boundaries."""
    return [vocab.encode(line) for line in lines if line.strip()]


def sentence_batches(lengths: Sequence[int], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Sentence indices of each batch: shuffled, sorted by length inside buckets, batches shuffled."""
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches = []
    span = batch_size * BUCKET
    for start in range(0, len(order), span):
        bucket = sorted(order[start : start + span], key=lambda i: lengths[i])
        batches += [bucket[i : i + batch_size] for i in range(0, len(bucket), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(seqs: Sequence[Sequence[int]], eos_id: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Sentences -> (inputs (B, T): </s> then the ids, padded with </s>; targets (B, T): the ids then
    </s>, padded with IGNORE); T is the longest sentence + 1."""
    B, T = len(seqs), max(len(s) for s in seqs) + 1
    inp = torch.full((B, T), eos_id, dtype=torch.long)
    tgt = torch.full((B, T), IGNORE, dtype=torch.long)
    for b, s in enumerate(seqs):
        ids = torch.as_tensor(list(s), dtype=torch.long)
        inp[b, 1 : len(s) + 1] = ids
        tgt[b, : len(s)] = ids
        tgt[b, len(s)] = eos_id
    return inp.to(device), tgt.to(device)


def sentence_loss(model: nn.Module, seqs: Sequence[Sequence[int]], eos_id: int, device: torch.device,
                  reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy (nats) of the sentences' tokens and </s>, each sentence from the initial state."""
    inp, tgt = collate(seqs, eos_id, device)  # (B, T), (B, T)
    logits, _ = model(inp, unwrap(model).init_state(inp.shape[0], device))  # (B, T, V)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), tgt.reshape(-1), ignore_index=IGNORE, reduction=reduction)


class LmTask:
    metric, higher_is_better = "valid_ppl", False

    def __init__(self, train: list[list[int]], valid: list[list[int]], eos_id: int, cfg: TrainConfig, device: torch.device) -> None:
        self.train, self.valid, self.eos_id, self.cfg, self.device = train, valid, eos_id, cfg, device
        self.lengths = [len(s) for s in train]

    def batches(self, epoch: int) -> list[list[int]]:
        return sentence_batches(self.lengths, self.cfg.batch_size, self.cfg.seed, epoch)

    def step(self, model: nn.Module, idx: list[int]) -> dict[str, Any]:
        seqs = [self.train[i] for i in idx]
        return {"loss": sentence_loss(model, seqs, self.eos_id, self.device), "n_tokens": sum(len(s) + 1 for s in seqs)}

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        if not self.valid:
            return {}
        return {"valid_ppl": math.exp(min(50.0, corpus_nll(model, self.valid, self.eos_id, self.device, self.cfg.batch_size)))}


@torch.no_grad()
def corpus_nll(model: nn.Module, seqs: list[list[int]], eos_id: int, device: torch.device, batch_size: int) -> float:
    """Mean negative log-likelihood per token (nats, </s> included) of sentences, batched by length."""
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    total, count = 0.0, 0
    for start in range(0, len(order), batch_size):
        batch = [seqs[i] for i in order[start : start + batch_size]]
        total += float(sentence_loss(model, batch, eos_id, device, reduction="sum"))
        count += sum(len(s) + 1 for s in batch)
    return total / max(count, 1)
