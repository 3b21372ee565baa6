"""Scoring one very long line with an n-gram model in bounded memory.

``NgramModel.score_lines`` splits whole batches at once: for a 50 MB line that is ten million
Python strings and several arrays per token. Here the line is read in windows cut at whitespace
(a word is never split), and each window is scored with the ``order - 1`` ids before it as
context, so the totals equal those of scoring the line whole.
"""

from __future__ import annotations

import math
from itertools import repeat
from typing import TYPE_CHECKING

import numpy as np

from nlpkit.corpus import windows
from nlpkit.lm.records import bad_line

if TYPE_CHECKING:
    from nlpkit.lm.ngram_model import NgramModel

WINDOW = 1 << 18  # characters scored at once


def long_line_error(line: str, window: int = WINDOW) -> str | None:
    """``bad_line`` of a very long line, one window at a time (a marker is a whole word: never cut)."""
    if "s>" not in line:
        return None
    return next((e for _, piece in windows(line, window, split_words=False) if (e := bad_line(piece)) is not None), None)


def score_long_line(model: NgramModel, line: str, window: int = WINDOW) -> tuple[float, int, int, float]:
    """(log10 p, tokens, OOV tokens, log10 p of the OOV tokens) of ``<s> line </s>``, as ``score_lines`` counts them.

    A model that lowercases or splits words into pieces gets each window prepared as a line
    (``model.prepare``); ``tokens`` then counts words, as ``model.count_words`` does.
    """
    keep = max(model.order - 1, 1)
    context = np.array([model.bos_id], np.int64)
    logp = oov_logp = 0.0
    tokens = oov = 0
    pieces = windows(line, window, split_words=False)
    done = False
    while not done:
        piece = next(pieces, None)
        words = model.prepare([piece[1]])[0].split() if piece is not None else []
        n_words = len(piece[1].split()) if piece is not None and model.tokenizer is not None else len(words)
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
        tokens += n_words if piece is not None else 1  # </s>
        oov += int(unk.sum())
        context = seq[-keep:]
    return logp, tokens, oov, oov_logp


def neural_long_line(model, vocab, line: str, device, window: int = WINDOW) -> tuple[float, int, int, float]:  # noqa: ANN001
    """The same four numbers for a neural LM: the line is fed in steps with the model's state carried
    over (exact for RNNs and the NPLM; for the transformer the step is the one its own windowing
    uses), so memory holds one step's logits, never the whole line's."""
    max_len = getattr(model.config, "max_len", None)
    step = max(1, max_len // 2) if max_len else 512
    state = model.init_state(1, device)
    totals = [0.0, 0.0, 0]  # log10 p, log10 p of OOV tokens, OOV tokens
    prev, words, buffer = vocab.eos_id, 0, []
    for _, piece in windows(line, window, split_words=False):
        words += len(piece.split())
        buffer.extend(vocab.encode(piece))
        while len(buffer) >= step:
            prev, state = _score_step(model, buffer[:step], prev, state, vocab.unk_id, device, totals)
            del buffer[:step]
    buffer.append(vocab.eos_id)
    for start in range(0, len(buffer), step):
        prev, state = _score_step(model, buffer[start : start + step], prev, state, vocab.unk_id, device, totals)
    return totals[0], words + 1, int(totals[2]), totals[1]


def _score_step(model, targets: list[int], prev: int, state, unk_id: int, device, totals: list) -> tuple[int, object]:  # noqa: ANN001
    import torch

    with torch.no_grad():
        tgt = torch.tensor([targets], dtype=torch.long, device=device)  # (1, T)
        inp = torch.cat([torch.tensor([[prev]], dtype=torch.long, device=device), tgt[:, :-1]], dim=1)  # (1, T)
        logits, state = model(inp, state)  # (1, T, V)
        lp = torch.log_softmax(logits.float(), dim=-1).gather(-1, tgt.unsqueeze(-1)).squeeze(-1)[0].double().cpu()  # (T,)
    lp = lp / math.log(10.0)
    unk = torch.tensor(targets) == unk_id
    totals[0] += float(lp.sum())
    totals[1] += float(lp[unk].sum())
    totals[2] += int(unk.sum())
    return targets[-1], state
