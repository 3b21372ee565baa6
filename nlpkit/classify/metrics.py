"""Accuracy, macro-F1 and the confusion matrix (no torch, no numpy needed).

``confusion[i][j]`` counts examples whose gold label is ``labels[i]`` and whose predicted label is
``labels[j]``. Macro-F1 is the unweighted mean of the per-class F1 over ``labels``; a class with no
gold and no predicted examples has F1 0 (it is still counted, as in scikit-learn's default).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def confusion_matrix(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> list[list[int]]:
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, pred, strict=True):
        matrix[index[g]][index[p]] += 1
    return matrix


def per_class(matrix: Sequence[Sequence[int]], labels: Sequence[str]) -> dict[str, dict[str, float]]:
    """label -> precision, recall, f1, support."""
    result = {}
    for i, label in enumerate(labels):
        tp = matrix[i][i]
        predicted = sum(row[i] for row in matrix)
        support = sum(matrix[i])
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        result[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    return result


def classification_report(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """{"examples", "accuracy", "macro_f1", "labels", "per_class", "confusion"}."""
    matrix = confusion_matrix(gold, pred, labels)
    classes = per_class(matrix, labels)
    n = len(gold)
    correct = sum(matrix[i][i] for i in range(len(labels)))
    return {
        "examples": n,
        "accuracy": correct / n if n else 0.0,
        "macro_f1": sum(c["f1"] for c in classes.values()) / len(labels) if labels else 0.0,
        "labels": list(labels),
        "per_class": classes,
        "confusion": matrix,
    }
