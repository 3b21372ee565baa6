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

from nlpkit.classify.data import prediction_text
from nlpkit.classify.encode import collate
from nlpkit.errors import CorpusError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from nlpkit.classify.artifact import Classifier


@dataclass(frozen=True)
class Prediction:
    label: str
    scores: dict[str, float]  # label -> probability, in the model's label order

    @property
    def score(self) -> float:
        """The probability of the predicted label (the ``score`` of classify records)."""
        return self.scores[self.label]


@dataclass(frozen=True)
class LineResult:
    """One input line and its prediction, or why it has none."""

    line: str
    prediction: Prediction | None
    error: str | None = None


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


def predict_lines(
    clf: Classifier, lines: Iterable[str], input_format: str, text_col: int, batch_size: int = 64, chunk_size: int = 4096
) -> Iterator[LineResult]:
    """One LineResult per input line, in order. A line without column ``text_col`` (``tsv``) gets
    an ``error`` and no prediction; the lines around it are classified as usual."""
    it = iter(lines)
    while chunk := list(islice(it, chunk_size)):
        texts: list[str | None] = []
        errors: list[str | None] = []
        for line in chunk:
            try:
                texts.append(prediction_text(line, input_format, text_col))
                errors.append(None)
            except CorpusError as exc:
                texts.append(None)
                errors.append(exc.message)
        good = [t for t in texts if t is not None]
        preds = iter(predict(clf, good, batch_size, chunk_size=max(len(good), 1)))
        for line, text, error in zip(chunk, texts, errors):
            yield LineResult(line, next(preds) if text is not None else None, error)
