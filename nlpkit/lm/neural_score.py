"""Scoring sentences with a neural LM, batched by length.

Lines are read in windows (``batch_size * 32`` lines; one line when interactive), sorted by length, cut into batches of similar
length and right-padded; results are put back in input order. Right padding cannot change a
sentence's score: every architecture is causal (an RNN's state, an NPLM's window and masked
self-attention only look back), so a sentence's score does not depend on its batch (up to float
rounding in batched matrix products).

With ``context`` (document mode, `lm score --context`) the lines are one running text: the input
stream is ``</s> line1 </s> line2 </s> ...`` and the model's state is carried from line to line
(an RNN's hidden state; the last ``context`` ids for an NPLM; the last ``max_len - 1`` ids for a
Transformer, of which a line sees as many as fit in its ``max_len`` window with it). Each line's
record still scores its own tokens and its ``</s>``, so the records of a document add up to the
score of the whole stream: scoring "a b" then "c" equals scoring the one line "a b </s> c" with a
word vocabulary, where ``</s>`` is the boundary id. Lines are fed in order, one batch row.
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
from nlpkit.lm.long_lines import long_line_error, neural_long_line
from nlpkit.lm.records import LineScore, Summary, bad_line

LOG10_E = 1.0 / math.log(10.0)
PASS_TOKENS = 2048  # document mode: tokens per forward pass of a recurrent model or NPLM


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


@torch.no_grad()
def score_stream(model: torch.nn.Module, seqs: list[list[int]], eos_id: int, state, device: torch.device):  # noqa: ANN001
    """Document mode: log10 p of each token of each sequence (its ids, then </s>) as one running
    text ``</s> seq1 </s> seq2 ...`` after ``state``; returns the per-sequence scores and the state."""
    inp = [t for s in seqs for t in (eos_id, *s)]
    tgt = [t for s in seqs for t in (*s, eos_id)]
    logits, state = model(torch.tensor([inp], device=device), state)  # (1, T, V)
    logp = torch.log_softmax(logits[0].float(), dim=-1).gather(-1, torch.tensor(tgt, device=device).unsqueeze(-1))
    logp = (logp.squeeze(-1) * LOG10_E).double().cpu()  # (T,)
    return list(logp.split([len(s) + 1 for s in seqs])), state


def neural_scores(model_dir: str | Path, lines: Iterable[str], *, per_token: bool = False, device: str = "auto",
                  batch_size: int = 64, summary: Summary | None = None, window: int = 2048,
                  context: bool = False) -> Iterator[LineScore]:
    dev = resolve_device(device)
    model, vocab, config = load_neural(model_dir, dev)
    if context:
        return _context_scores(model, vocab, config["arch"], lines, per_token, summary, window, dev)
    return _sentence_scores(model, vocab, lines, per_token, summary, window, batch_size, dev)


def _context_scores(model, vocab, arch: str, lines: Iterable[str], per_token: bool, summary: Summary | None,  # noqa: ANN001
                    window: int, dev: torch.device) -> Iterator[LineScore]:
    # A recurrent or NPLM state is exact however the stream is cut, so consecutive lines share a
    # forward pass (up to PASS_TOKENS); a Transformer's history depends on the cut: one line a pass.
    budget = 1 if arch == "transformer" else PASS_TOKENS
    state = model.init_state(1, dev)
    it = iter(lines)
    while chunk := list(islice(it, window)):
        seqs = [vocab.encode(line) for line in chunk]
        scores: list[torch.Tensor] = []
        for group in _passes([len(s) + 1 for s in seqs], budget):
            lps, state = score_stream(model, [seqs[i] for i in group], vocab.eos_id, state, dev)
            scores += lps
        for line, seq, lp in zip(chunk, seqs, scores):
            yield _record(line, seq, lp, vocab, per_token, summary)


def _passes(sizes: list[int], budget: int) -> Iterator[range]:
    """Consecutive index ranges whose sizes sum to at most ``budget`` (one item at least)."""
    start, total = 0, 0
    for i, n in enumerate(sizes):
        if i > start and total + n > budget:
            yield range(start, i)
            start, total = i, 0
        total += n
    if start < len(sizes):
        yield range(start, len(sizes))


def _sentence_scores(model, vocab, lines: Iterable[str], per_token: bool, summary: Summary | None,  # noqa: ANN001
                     window: int, batch_size: int, dev: torch.device) -> Iterator[LineScore]:
    it = iter(lines)
    while chunk := list(islice(it, window)):
        # A very long line is scored on its own, step by step (bounded memory); here it is empty.
        long = {i for i, line in enumerate(chunk) if len(line) > LONG_LINE and not per_token}
        errors = [long_line_error(line) if i in long else bad_line(line) for i, line in enumerate(chunk)]
        seqs = [vocab.encode(line) if e is None and i not in long else [] for i, (line, e) in enumerate(zip(chunk, errors))]
        order = sorted(range(len(chunk)), key=lambda i: len(seqs[i]))
        results: list[torch.Tensor | None] = [None] * len(chunk)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            for i, lp in zip(idx, score_batch(model, [seqs[i] for i in idx], vocab.eos_id, dev)):
                results[i] = lp
        for i, (line, seq, lp, error) in enumerate(zip(chunk, seqs, results, errors)):
            if error is not None:
                if summary is not None:
                    summary.bad_lines += 1
                yield LineScore(line, error=error)
            elif i in long:
                yield _long_record(line, neural_long_line(model, vocab, line, dev), summary)
            else:
                yield _record(line, seq, lp, vocab, per_token, summary)


def _long_record(line: str, scores: tuple[float, int, int, float], summary: Summary | None) -> LineScore:
    record = LineScore(line, scores[0], scores[1], scores[2])
    if summary is not None:
        summary.add(record, scores[3])
    return record


def _record(line: str, seq: list[int], lp: torch.Tensor, vocab, per_token: bool, summary: Summary | None) -> LineScore:  # noqa: ANN001
    """The same record as an n-gram model's: per token (token, scored_as, log10 p, None, oov)."""
    unk = [i == vocab.unk_id for i in seq] + [False]
    values = lp.tolist()
    oov_logp = float(sum(v for v, u in zip(values, unk) if u))
    detail = None
    if per_token:
        scored = [vocab.pieces[i] for i in seq] + ["</s>"]
        # word vocabularies: show each word as written and what was scored (<unk> for an OOV)
        tokens = line.split() + ["</s>"] if vocab.kind == "words" else scored
        detail = list(zip(tokens, scored, values, [None] * len(values), unk))
    record = LineScore(line, float(lp.sum()), len(line.split()) + 1, sum(unk), detail)
    if summary is not None:
        summary.add(record, oov_logp)
    return record
