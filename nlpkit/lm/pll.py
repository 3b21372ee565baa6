"""`lm score -m BERT_DIR`: pseudo-log-likelihood of a sentence under a masked LM (Salazar et al. 2020).

    PLL(W) = sum_i log p(w_i | W with w_i replaced by [MASK])

over the sentence's WordPiece pieces ([CLS] and [SEP] are context, not scored). **Cost: one forward
pass per piece**: a sentence of n pieces becomes n copies, each masked at one position; the copies
of a window of lines are run ``batch_size`` at a time, so the work is batched across sentences.

Records have the usual schema: ``log10_prob`` is the PLL in log10, ``n_tokens`` the words of the line
(there is no ``</s>`` to score), ``ppl = 10 ** (-PLL / n_tokens)`` the pseudo-perplexity per word,
``n_oov`` the ``[UNK]`` pieces; per token: ``(piece, piece, log10 p, None, piece is [UNK])``. An empty
line, or one longer than the model's positions, gets an error record.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

import torch

from nlpkit.bert.artifact import load_bert, special_ids
from nlpkit.device import resolve_device
from nlpkit.lm.records import LineScore, Summary, bad_line

LOG10_E = 1.0 / math.log(10.0)


@torch.no_grad()
def masked_logps(model, seqs: list[list[int]], positions: list[int], ids, device) -> torch.Tensor:  # noqa: ANN001
    """log10 p of the original piece at ``positions[j]`` of ``seqs[j]`` (with specials) when masked there."""
    T = max(len(s) for s in seqs)
    inp = torch.full((len(seqs), T), ids.pad, dtype=torch.long)
    for b, (s, p) in enumerate(zip(seqs, positions)):
        inp[b, : len(s)] = torch.tensor(s)
        inp[b, p] = ids.mask
    target = torch.tensor([s[p] for s, p in zip(seqs, positions)])  # (N,)
    flat = torch.tensor([b * T + p for b, p in enumerate(positions)], device=device)  # (N,)
    attention = (torch.arange(T) < torch.tensor([len(s) for s in seqs])[:, None]).long()  # (N, T)
    logits, _ = model(inp.to(device), None, attention.to(device), flat)  # (N, V)
    logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, target.to(device)[:, None]).squeeze(-1)  # (N,)
    return (logp * LOG10_E).double().cpu()


def _check(line: str, pieces: list[int], max_position: int) -> str | None:
    if not pieces:
        return "empty line: a masked LM has nothing to score"
    if len(pieces) + 2 > max_position:
        return f"the line has {len(pieces)} pieces, more than the model's {max_position - 2} positions"
    return bad_line(line)


def pll_scores(model_dir: str | Path, lines: Iterable[str], *, per_token: bool = False, device: str = "auto",
               batch_size: int = 64, summary: Summary | None = None, window: int = 256) -> Iterator[LineScore]:
    dev = resolve_device(device)
    model, tok, _ = load_bert(model_dir, dev)
    ids = special_ids(tok, "the model's tokenizer")
    it = iter(lines)
    while chunk := list(islice(it, window)):
        pieces = [e.ids for e in tok.encode_batch(chunk, add_special_tokens=False)]
        errors = [_check(line, p, model.cfg.max_position) for line, p in zip(chunk, pieces)]
        seqs = [[ids.cls, *p, ids.sep] for p in pieces]
        jobs = [(i, pos) for i, p in enumerate(pieces) if errors[i] is None for pos in range(1, len(p) + 1)]
        scores: list[list[float]] = [[] for _ in chunk]
        for start in range(0, len(jobs), batch_size):
            batch = jobs[start : start + batch_size]
            values = masked_logps(model, [seqs[i] for i, _ in batch], [p for _, p in batch], ids, dev).tolist()
            for (i, _), v in zip(batch, values):
                scores[i].append(v)
        for line, p, lp, error in zip(chunk, pieces, scores, errors):
            yield _record(line, p, lp, error, tok, ids.unk, per_token, summary)


def _record(line: str, pieces: list[int], lp: list[float], error: str | None, tok, unk: int, per_token: bool,  # noqa: ANN001
            summary: Summary | None) -> LineScore:
    if error is not None:
        if summary is not None:
            summary.bad_lines += 1
        return LineScore(line, error=error)
    oov = [i == unk for i in pieces]
    detail = None
    if per_token:
        names = [tok.id_to_token(i) for i in pieces]
        detail = list(zip(names, names, lp, [None] * len(lp), oov))
    record = LineScore(line, float(sum(lp)), len(line.split()), sum(oov), detail)
    if summary is not None:
        summary.add(record, float(sum(v for v, o in zip(lp, oov) if o)))
    return record
