"""``nlpkit classify eval``: predict labelled examples and measure accuracy, macro-F1, confusion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nlpkit.classify.data import read_examples
from nlpkit.classify.metrics import classification_report
from nlpkit.errors import CorpusError


def evaluate(
    model_dir: str | Path, inputs: list[str] | None, *, label_col: int | None = None, text_col: int | None = None,
    device: str = "auto", batch_size: int = 64, strict_utf8: bool = False,
) -> dict[str, Any]:
    """The classification report (see ``metrics.classification_report``) of a model on a test set.

    Columns default to the ones the model was trained with. A gold label the model does not know
    is an error: the model could never predict it, and the figures would silently mislead.
    """
    from nlpkit.classify.artifact import load_classifier
    from nlpkit.classify.predict import predict

    clf = load_classifier(model_dir, device)
    train = clf.config.get("train", {})
    label_col = label_col or train.get("label_col", 1)
    text_col = text_col or train.get("text_col", 2)
    examples = read_examples(inputs, label_col, text_col, strict_utf8=strict_utf8, what="test data")
    known = set(clf.labels)
    for e in examples:
        if e.label not in known:
            raise CorpusError(
                f"test label {e.label!r} is not one of the model's labels ({', '.join(clf.labels)})",
                "check --label-col, or evaluate on data with the training labels",
            )
    pred = [p.label for p in predict(clf, (e.text for e in examples), batch_size)]
    return classification_report([e.label for e in examples], pred, clf.labels)
