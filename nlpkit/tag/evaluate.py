"""``nlpkit tag eval``: tag labelled sentences and score the tags against the gold ones (``metrics``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nlpkit.tag.conll import Columns, read_tagged
from nlpkit.tag.metrics import chunk_scores
from nlpkit.tag.schemes import NONE


def evaluate(model_dir: str | Path, inputs: Sequence[str], *, word_col: int | None = None, tag_col: int | None = None,
             device: str = "auto", batch_size: int = 64, strict_utf8: bool = False) -> dict[str, Any]:
    """Entity P/R/F1 per type and overall (conlleval's counts) and token accuracy; columns default to the model's."""
    from nlpkit.tag.artifact import load_tagger
    from nlpkit.tag.predict import predict, sentence_item

    tagger = load_tagger(model_dir, device)
    model_cfg = tagger.config["model"]
    cols = Columns(model_cfg["word_col"] if word_col is None else word_col, model_cfg["tag_col"] if tag_col is None else tag_col)
    sentences = read_tagged(inputs, cols, strict_utf8=strict_utf8, what="test data")
    tagged = list(predict(tagger, (sentence_item(s) for s in sentences), batch_size=batch_size))
    report = chunk_scores([s.tags or [] for s in sentences], [t.tags for t in tagged], chunks=tagger.input_scheme != NONE)
    return {"model": str(model_dir), "scheme": tagger.input_scheme, **report}
