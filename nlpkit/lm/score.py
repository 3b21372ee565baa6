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
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import numpy as np

from nlpkit.artifacts import read_config
from nlpkit.corpus import LONG_LINE
from nlpkit.lm.long_lines import score_long_line

NGRAM_BATCH = 8192  # lines per vectorised n-gram batch


@dataclass
class LineScore:
    log10_prob: float
    tokens: int
    oov: int
    per_token: list[tuple[str, float, int | None]] | None = None  # (token, log10 p, n-gram length)

    @property
    def ppl(self) -> float:
        return float(10.0 ** (-self.log10_prob / self.tokens))


@dataclass
class Summary:
    """Corpus totals; the excluding-OOV figures drop OOV tokens from both sums, as KenLM's query."""

    log10_prob: float = 0.0
    tokens: int = 0
    oov: int = 0
    oov_log10_prob: float = 0.0
    lines: int = 0
    extra: dict = field(default_factory=dict)

    def add(self, s: LineScore, oov_logp: float) -> None:
        self.log10_prob += s.log10_prob
        self.tokens += s.tokens
        self.oov += s.oov
        self.oov_log10_prob += oov_logp
        self.lines += 1

    def ppl(self) -> float:
        return float(10.0 ** (-self.log10_prob / max(self.tokens, 1)))

    def ppl_without_oov(self) -> float:
        n = self.tokens - self.oov
        return float(10.0 ** (-(self.log10_prob - self.oov_log10_prob) / max(n, 1)))


def _batches(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    it = iter(lines)
    while batch := list(islice(it, size)):
        yield batch


def _alone_if_long(batches: Iterable[list[str]]) -> Iterator[list[str]]:
    """Very long lines leave their batch, to be scored in windows."""
    for batch in batches:
        if not any(len(line) > LONG_LINE for line in batch):
            yield batch
            continue
        run: list[str] = []
        for line in batch:
            if len(line) > LONG_LINE:
                if run:
                    yield run
                run = []
                yield [line]
            else:
                run.append(line)
        if run:
            yield run


def ngram_scores(model, lines: Iterable[str], per_token: bool, summary: Summary | None,  # noqa: ANN001
                 batch_lines: int = NGRAM_BATCH) -> Iterator[LineScore]:
    for batch in _alone_if_long(_batches(lines, batch_lines)):
        if len(batch) == 1 and len(batch[0]) > LONG_LINE and not per_token:
            logp1, tokens1, oov1, oov_logp1 = score_long_line(model, batch[0])  # bounded memory
            record = LineScore(logp1, tokens1, oov1, None)
            if summary is not None:
                summary.add(record, oov_logp1)
            yield record
            continue
        s = model.score_lines(batch)
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
                batch_size: int = 64, summary: Summary | None = None, interactive: bool = False) -> Iterator[LineScore]:
    """Score each line with the model in ``model_dir`` (n-gram or neural).

    ``interactive``: answer each line as soon as it is read (no read-ahead batching), for a terminal.
    """
    config = read_config(model_dir, {"ngram_lm": 1, "neural_lm": 1})
    if config["kind"] == "ngram_lm":
        from nlpkit.lm.ngram_model import NgramModel

        model = NgramModel.load(model_dir, config["specials"])
        return ngram_scores(model, lines, per_token, summary, 1 if interactive else NGRAM_BATCH)
    from nlpkit.lm.neural_score import neural_scores

    return neural_scores(model_dir, lines, per_token=per_token, device=device, batch_size=batch_size, summary=summary,
                         window=1 if interactive else batch_size * 32)
