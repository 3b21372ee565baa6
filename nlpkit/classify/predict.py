"""Batched prediction, results in input order.

Lines are read in chunks; within a chunk, texts are sorted by length before batching (so little
padding is computed) and the results are put back in input order. A text's prediction does not
depend on its neighbours: every architecture masks or packs away padding.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING

from nlpkit.classify.encode import collate

if TYPE_CHECKING:
    import torch
    from torch import nn

    from nlpkit.classify.artifact import Classifier


@dataclass(frozen=True)
class Prediction:
    label: str
    scores: dict[str, float]  # label -> probability, in the model's label order


def probabilities(
    model: nn.Module, seqs: Sequence[Sequence[int]], pad_id: int, device: torch.device | str, batch_size: int = 64
) -> torch.Tensor:
    """Id lists -> (N, K) class probabilities on the CPU, rows in the order of ``seqs``."""
    import torch

    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    out = torch.empty(len(seqs), model.out.out_features)  # (N, K)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            ids, lengths = collate([seqs[i] for i in idx], pad_id, device)  # (B, T), (B,)
            out[idx] = torch.softmax(model(ids, lengths).float(), dim=-1).cpu()  # (B, K)
    model.train(was_training)
    return out


def predict(clf: Classifier, texts: Iterable[str], batch_size: int = 64, chunk_size: int = 4096) -> Iterator[Prediction]:
    """One Prediction per text, in order; reads ``chunk_size`` texts at a time."""
    it = iter(texts)
    while chunk := list(islice(it, chunk_size)):
        probs = probabilities(clf.model, clf.encoder.encode_batch(chunk), clf.encoder.pad_id, clf.device, batch_size)
        best = probs.argmax(dim=1).tolist()
        for row, k in zip(probs.tolist(), best):
            yield Prediction(clf.labels[k], dict(zip(clf.labels, row)))
