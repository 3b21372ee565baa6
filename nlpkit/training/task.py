"""What a model family gives the engine: its batches, its step and its evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from torch import nn


class Task(Protocol):
    metric: str  # the evaluate() key that picks the best weights and drives early stopping ("" for none)
    higher_is_better: bool  # the direction of ``metric`` (accuracy: True; perplexity or loss: False)
    # Optional: ``find_unused_parameters = True`` when some parameters get no gradient from the loss
    # (a pre-training head kept in a fine-tuned model); DDP then looks for them every step.

    def batches(self, epoch: int) -> Sequence[Any]:
        """Every batch of ``epoch`` (0-based), in order: a pure function of (seed, epoch).

        Cheap descriptions (lists of example indices) are best; ``step`` turns them into tensors.
        The engine skips the ones a resumed job already did and, under torchrun, gives rank r
        every world_size-th batch starting at r.
        """
        ...

    def step(self, model: nn.Module, batch: Any) -> dict[str, Any]:
        """The losses of one (micro-)batch: ``"loss"``, a scalar tensor to minimise, plus any other
        numbers to average into the metrics (``n_X`` entries are counts, reported as ``X_per_s``).

        ``model`` may be wrapped in DistributedDataParallel: call it, but reach attributes through
        ``nlpkit.training.unwrap(model)``. Runs under the engine's autocast.
        """
        ...

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        """Validation metrics (``{}`` without validation data); runs on rank 0 in eval mode, no grad."""
        ...
