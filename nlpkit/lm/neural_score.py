"""Scoring sentences with a neural LM, batched by length.

Lines are read in windows (``batch_size * 32`` lines; one line when interactive), sorted by length, cut into batches of similar
length and right-padded; results are put back in input order. Right padding cannot change a
sentence's score: every architecture is causal (an RNN's state, an NPLM's window and masked
self-attention only look back), so a sentence's score does not depend on its batch (up to float
rounding in batched matrix products).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

import torch

from nlpkit.device import resolve_device
from nlpkit.lm.neural import load_neural
from nlpkit.corpus import LONG_LINE
from nlpkit.lm.long_lines import neural_long_line
from nlpkit.lm.score import LineScore, Summary

LOG10_E = 1.0 / math.log(10.0)


@torch.no_grad()
def score_batch(model: torch.nn.Module, seqs: list[list[int]], eos_id: int, device: torch.device) -> list[torch.Tensor]:
    """log10 p of each token of each sequence (its ids, then </s>), given a </s> start."""
    B, T = len(seqs), max(len(s) for s in seqs) + 1
    inp = torch.full((B, T), eos_id, dtype=torch.long)
    tgt = torch.full((B, T), eos_id, dtype=torch.long)
    for b, s in enumerate(seqs):
        if s:
            inp[b, 1 : len(s) + 1] = torch.tensor(s)
            tgt[b, : len(s)] = torch.tensor(s)
    logits, _ = model(inp.to(device), model.init_state(B, device))  # (B, T, V)
    logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, tgt.to(device).unsqueeze(-1)).squeeze(-1)  # (B, T)
    logp = (logp * LOG10_E).double().cpu()
    return [logp[b, : len(s) + 1] for b, s in enumerate(seqs)]


def neural_scores(model_dir: str | Path, lines: Iterable[str], *, per_token: bool = False, device: str = "auto",
                  batch_size: int = 64, summary: Summary | None = None, window: int = 2048) -> Iterator[LineScore]:
    dev = resolve_device(device)
    model, vocab, _ = load_neural(model_dir, dev)
    it = iter(lines)
    while chunk := list(islice(it, window)):
        # A very long line is scored on its own, step by step (bounded memory); here it is empty.
        long = {i: neural_long_line(model, vocab, line, dev) for i, line in enumerate(chunk) if len(line) > LONG_LINE and not per_token}
        seqs = [[] if i in long else vocab.encode(line) for i, line in enumerate(chunk)]
        order = sorted(range(len(chunk)), key=lambda i: len(seqs[i]))
        results: list[torch.Tensor | None] = [None] * len(chunk)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            for i, lp in zip(idx, score_batch(model, [seqs[i] for i in idx], vocab.eos_id, dev)):
                results[i] = lp
        for i, (line, seq, lp) in enumerate(zip(chunk, seqs, results)):
            yield _long_record(long[i], summary) if i in long else _record(line, seq, lp, vocab, per_token, summary)


def _long_record(scores: tuple[float, int, int, float], summary: Summary | None) -> LineScore:
    record = LineScore(scores[0], scores[1], scores[2], None)
    if summary is not None:
        summary.add(record, scores[3])
    return record


def _record(line: str, seq: list[int], lp: torch.Tensor, vocab, per_token: bool, summary: Summary | None) -> LineScore:  # noqa: ANN001
    unk = [i == vocab.unk_id for i in seq] + [False]
    oov_logp = float(sum(v for v, u in zip(lp.tolist(), unk) if u))
    detail = None
    if per_token:
        pieces = [vocab.pieces[i] for i in seq] + ["</s>"]
        detail = [(p, v, None) for p, v in zip(pieces, lp.tolist())]
    record = LineScore(float(lp.sum()), len(line.split()) + 1, sum(unk), detail)
    if summary is not None:
        summary.add(record, oov_logp)
    return record
