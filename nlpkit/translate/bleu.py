"""BLEU through sacreBLEU (Post 2018): detokenised hypotheses against raw references.

sacreBLEU applies its own standard tokenisation (13a), so scores are comparable across systems,
and its signature records every setting. ``bleu_by_length`` splits a test set by source length
in words, which shows how a model copes with long sentences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nlpkit.errors import ConfigError

LENGTH_BUCKETS = ((1, 5), (6, 10), (11, 15), (16, 20), (21, None))


@dataclass
class BleuScore:
    score: float
    signature: str
    bp: float  # brevity penalty
    sys_len: int
    ref_len: int
    precisions: list[float]


def _bleu():
    try:
        from sacrebleu.metrics import BLEU
    except ImportError:  # pragma: no cover - a declared dependency
        raise ConfigError("BLEU needs the sacrebleu package", "pip install sacrebleu") from None
    return BLEU()


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str]) -> BleuScore:
    if len(hypotheses) != len(references):
        raise ConfigError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    metric = _bleu()
    result = metric.corpus_score(list(hypotheses), [list(references)])
    return BleuScore(
        score=round(result.score, 2),
        signature=str(metric.get_signature()),
        bp=round(result.bp, 4),
        sys_len=result.sys_len,
        ref_len=result.ref_len,
        precisions=[round(p, 2) for p in result.precisions],
    )


def bucket_name(low: int, high: int | None) -> str:
    return f"{low}-{high}" if high is not None else f"{low}+"


def bleu_by_length(
    sources: Sequence[str], hypotheses: Sequence[str], references: Sequence[str], buckets=LENGTH_BUCKETS
) -> list[dict[str, object]]:
    """One row per source-length bucket (words, split on whitespace): bucket, sentences, bleu."""
    rows = []
    for low, high in buckets:
        idx = [i for i, s in enumerate(sources) if low <= len(s.split()) and (high is None or len(s.split()) <= high)]
        if not idx:
            continue
        score = corpus_bleu([hypotheses[i] for i in idx], [references[i] for i in idx])
        rows.append({"bucket": bucket_name(low, high), "sentences": len(idx), "bleu": score.score})
    return rows
