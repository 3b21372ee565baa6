"""`lm score`: one record per input line, the same schema for every architecture.

A line's ``log10_prob`` sums log10 p of its tokens and of ``</s>``, each sentence starting after
``<s>`` (KenLM's ``score(line, bos=True, eos=True)``); ``tokens`` = words + 1; ``oov`` = words not
in the vocabulary (a literal ``<unk>`` included); ``ppl = 10 ** (-log10_prob / tokens)``.
For a WordPiece model the sum runs over pieces, while ``tokens`` still counts words, so the
perplexity is per word and comparable across vocabularies.

This module imports no torch: neural models are loaded by ``neural_score`` only when needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

import numpy as np

from nlpkit.artifacts import read_config
from nlpkit.lm.records import LineScore, Summary

__all__ = ["LineScore", "Summary", "ngram_scores", "score_lines"]

NGRAM_BATCH = 8192  # lines per vectorised n-gram batch


def _batches(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    it = iter(lines)
    while batch := list(islice(it, size)):
        yield batch


def ngram_scores(model, lines: Iterable[str], per_token: bool, summary: Summary | None,  # noqa: ANN001
                 batch_lines: int = NGRAM_BATCH, context: bool = False) -> Iterator[LineScore]:
    """``context``: document mode, each line after the last words of the previous ones (ngram_context)."""
    if context:
        from nlpkit.lm.ngram_context import DocumentScorer

        score = DocumentScorer(model)
    else:
        score = model.score_lines
    for batch in _batches(lines, batch_lines):
        s = score(batch)
        n = len(batch)
        logp = np.bincount(s.line, weights=s.logp, minlength=n).tolist()
        oov = np.bincount(s.line, weights=s.oov, minlength=n).astype(np.int64).tolist()
        tokens = np.bincount(s.line, minlength=n).tolist()
        if summary is not None:
            oov_logp = np.bincount(s.line, weights=np.where(s.oov, s.logp, 0.0), minlength=n).tolist()
        if per_token:
            starts = np.concatenate([[0], np.cumsum(tokens)]).tolist()
            token_lp, token_len = s.logp.tolist(), s.length.tolist()
        for i in range(n):
            detail = None
            if per_token:
                a, b = starts[i], starts[i + 1]
                detail = list(zip(batch[i].split() + ["</s>"], token_lp[a:b], token_len[a:b]))
            record = LineScore(logp[i], tokens[i], oov[i], detail)
            if summary is not None:
                summary.add(record, oov_logp[i])
            yield record


def score_lines(model_dir: str | Path, lines: Iterable[str], *, per_token: bool = False, device: str = "auto",
                batch_size: int = 64, summary: Summary | None = None, interactive: bool = False,
                context: bool = False) -> Iterator[LineScore]:
    """Score each line with the model in ``model_dir`` (n-gram or neural).

    ``interactive``: answer each line as soon as it is read (no read-ahead batching), for a terminal.
    ``context``: document mode, the lines are one running text (see ``ngram_context`` and
    ``neural_score`` for what each kind of model carries from line to line).
    """
    config = read_config(model_dir, {"ngram_lm": 1, "neural_lm": 1})
    if config["kind"] == "ngram_lm":
        from nlpkit.lm.ngram_model import NgramModel

        model = NgramModel.load(model_dir, config["specials"])
        return ngram_scores(model, lines, per_token, summary, 1 if interactive else NGRAM_BATCH, context)
    from nlpkit.lm.neural_score import neural_scores

    return neural_scores(model_dir, lines, per_token=per_token, device=device, batch_size=batch_size, summary=summary,
                         window=1 if interactive else batch_size * 32, context=context)
