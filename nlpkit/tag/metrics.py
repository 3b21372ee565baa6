"""Entity (chunk) precision, recall and F1 per type and overall, counted as CoNLL's ``conlleval`` does.

conlleval reads chunks from the gold and the predicted tags of each sentence (``schemes.to_spans``:
its start/end rules, so broken sequences such as ``I-X`` after ``O`` count as chunks, as they do
there); a predicted chunk is correct when a gold chunk has the same start, end and type. Then

    precision = correct / predicted chunks, recall = correct / gold chunks, F1 = 2PR / (P + R)

per type and over all types (micro), 0 where a denominator is 0. Token accuracy is the share of
tokens whose predicted tag string equals the gold one (``O`` tokens included), which is conlleval's
"accuracy" and the usual measure for part-of-speech tags. Sentences never share a chunk.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from nlpkit.tag.schemes import to_spans


def _prf(correct: int, predicted: int, gold: int) -> dict[str, Any]:
    p = correct / predicted if predicted else 0.0
    r = correct / gold if gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "predicted": predicted, "gold": gold, "correct": correct}


def chunk_scores(gold: Iterable[Sequence[str]], predicted: Iterable[Sequence[str]], chunks: bool = True) -> dict[str, Any]:
    """Scores of predicted against gold tag sequences (one per sentence, same lengths).

    Returns ``{"tokens", "sentences", "accuracy", "overall": {precision, recall, f1, predicted, gold,
    correct}, "per_type": {TYPE: {...}}}``; without ``chunks`` (POS-style tags) only the accuracy and counts.
    """
    n_gold: Counter[str] = Counter()
    n_pred: Counter[str] = Counter()
    n_ok: Counter[str] = Counter()
    tokens = right = sentences = 0
    for g, p in zip(gold, predicted, strict=True):
        if len(g) != len(p):
            raise ValueError(f"gold and predicted tags differ in length ({len(g)} != {len(p)})")
        sentences += 1
        tokens += len(g)
        right += sum(a == b for a, b in zip(g, p))
        if chunks:
            gs, ps = set(to_spans(g)), set(to_spans(p))
            n_gold.update(s.type for s in gs)
            n_pred.update(s.type for s in ps)
            n_ok.update(s.type for s in gs & ps)
    report: dict[str, Any] = {"sentences": sentences, "tokens": tokens, "accuracy": right / tokens if tokens else 0.0}
    if chunks:
        report["overall"] = _prf(sum(n_ok.values()), sum(n_pred.values()), sum(n_gold.values()))
        report["per_type"] = {t: _prf(n_ok[t], n_pred[t], n_gold[t]) for t in sorted(n_gold.keys() | n_pred.keys())}
    return report
