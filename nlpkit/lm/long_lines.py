"""Scoring one very long line with an n-gram model in bounded memory.

``NgramModel.score_lines`` splits whole batches at once: for a 50 MB line that is ten million
Python strings and several arrays per token. Here the line is read in windows cut at whitespace
(a word is never split), and each window is scored with the ``order - 1`` ids before it as
context, so the totals equal those of scoring the line whole.
"""

from __future__ import annotations

from itertools import repeat
from typing import TYPE_CHECKING

import numpy as np

from nlpkit.corpus import windows

if TYPE_CHECKING:
    from nlpkit.lm.ngram_model import NgramModel

WINDOW = 1 << 18  # characters scored at once


def score_long_line(model: NgramModel, line: str, window: int = WINDOW) -> tuple[float, int, int, float]:
    """(log10 p, tokens, OOV tokens, log10 p of the OOV tokens) of ``<s> line </s>``, as ``score_lines`` counts them."""
    keep = max(model.order - 1, 1)
    context = np.array([model.bos_id], np.int64)
    logp = oov_logp = 0.0
    tokens = oov = 0
    pieces = windows(line, window, split_words=False)
    done = False
    while not done:
        piece = next(pieces, None)
        words = piece[1].split() if piece is not None else []
        ids = np.fromiter(map(model._get, words, repeat(model.unk_id)), np.int64, len(words))  # noqa: SLF001
        if piece is None:
            ids, done = np.array([model.eos_id], np.int64), True
        seq = np.concatenate([context, ids])  # (C + W,)
        # Positions count from the start of ``seq``: the context holds the whole history the
        # model can use (its first id is <s> while the line is shorter than the order).
        lp, _ = model._score_positions(seq, np.arange(len(seq)))  # noqa: SLF001
        lp = lp[len(context) :]
        unk = ids == model.unk_id
        logp += float(lp.sum())
        oov_logp += float(lp[unk].sum())
        tokens += len(ids)
        oov += int(unk.sum())
        context = seq[-keep:]
    return logp, tokens, oov, oov_logp
