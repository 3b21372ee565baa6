"""`lm score`: one record per input line, the same schema for every architecture.

A line's ``log10_prob`` sums log10 p of its tokens and of ``</s>``, each sentence starting after
``<s>`` (KenLM's ``score(line, bos=True, eos=True)``); ``n_tokens`` = words + 1; ``n_oov`` = tokens
scored as the unknown word (a literal ``<unk>`` included); ``ppl = 10 ** (-log10_prob / n_tokens)``.
For a model over WordPiece pieces (n-gram or neural) the sum runs over pieces, while ``n_tokens``
still counts words, so the perplexity is per word and comparable across vocabularies.

Per token: ``(token, scored_as, log10 p, n-gram length or None, oov)``. ``token`` is what the line
holds (a word, or a piece), ``scored_as`` the vocabulary entry that was scored (``<unk>`` for an
OOV word, the lowercased word for a ``--lowercase`` model). A line holding a literal ``<s>`` or
``</s>`` is a bad line: its record carries ``error`` instead of scores (the markers are added here).

A BERT model directory is scored by pseudo-log-likelihood (``pll``), a mix of models by ``interpolate``.
This module imports no torch: neural models are loaded by ``neural_score`` only when needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

import numpy as np

from nlpkit.artifacts import read_config
from nlpkit.corpus import LONG_LINE
from nlpkit.lm.long_lines import long_line_error, score_long_line
from nlpkit.lm.records import MARKERS, LineScore, Summary, TokenScore, bad_line
from nlpkit.numpy_pages import no_huge_pages

__all__ = ["MARKERS", "LineScore", "Summary", "TokenScore", "bad_line", "ngram_scores", "score_lines"]

NGRAM_BATCH = 8192  # lines per vectorised n-gram batch
AUTO_THREADS = 4  # threads=0 means one per core, up to this (tokens are looked up under the GIL: more do not pay)


def ngram_threads(threads: int) -> int:
    """``--threads``: N, or for 0 one per core this process may use, at most ``AUTO_THREADS``."""
    if threads > 0:
        return threads
    from nlpkit.device import usable_cores

    return max(1, min(AUTO_THREADS, usable_cores()))


def _batches(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    it = iter(lines)
    while batch := list(islice(it, size)):
        yield batch


def _token_details(model, tokens: list[list[str]], s, starts: list[int]) -> list[list[TokenScore]]:  # noqa: ANN001
    vocab = model.words
    lp, length, oov = s.logp.tolist(), s.length.tolist(), s.oov.tolist()
    ids = s.ids.tolist()
    out = []
    for i, toks in enumerate(tokens):
        a, b = starts[i], starts[i + 1]
        out.append(list(zip([*toks, "</s>"], [vocab[j] for j in ids[a:b]], lp[a:b], length[a:b], oov[a:b])))
    return out


def _score_batch(model, batch: list[str], per_token: bool, scorer=None) -> tuple[list[LineScore], list[float]]:  # noqa: ANN001
    """The records of one batch of lines and the log10 p of each line's OOV tokens.

    ``scorer``: scores prepared token lines (default ``model.score_tokens``); document mode passes
    a stateful ``ngram_context.DocumentScorer``.
    """
    errors = [bad_line(line) for line in batch] if "s>" in "".join(batch) else [None] * len(batch)
    good = [line if e is None else "" for line, e in zip(batch, errors)]
    tokens = model.prepare(good)
    s = (scorer or model.score_tokens)(tokens)
    n = len(batch)
    logp = np.bincount(s.line, weights=s.logp, minlength=n).tolist()
    n_oov = np.bincount(s.line, weights=s.oov, minlength=n).astype(np.int64).tolist()
    n_tokens = model.count_words(good, s)
    oov_logp = np.bincount(s.line, weights=np.where(s.oov, s.logp, 0.0), minlength=n).tolist()
    detail = [None] * n
    if per_token:
        starts = np.concatenate([[0], np.cumsum(np.bincount(s.line, minlength=n))]).tolist()
        shown = tokens if model.tokenizer is not None else good  # pieces, or the words as written
        detail = _token_details(model, [t.split() for t in shown], s, starts)
    if not per_token and not any(errors):  # the usual batch: one C-level map, no test per line
        return list(map(LineScore, batch, logp, n_tokens, n_oov)), oov_logp
    records = [LineScore(text, lp, nt, no, d) if e is None else LineScore(text, error=e)
               for text, lp, nt, no, d, e in zip(batch, logp, n_tokens, n_oov, detail, errors)]
    return records, oov_logp


def _ordered_map(fn, items: Iterable, threads: int) -> Iterator:  # noqa: ANN001
    """``map(fn, items)`` on ``threads`` threads, in order, with a bounded read-ahead."""
    if threads <= 1:
        yield from map(fn, items)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _long_line_record(model, line: str) -> tuple[list[LineScore], list[float]]:  # noqa: ANN001
    error = long_line_error(line)
    if error is not None:
        return [LineScore(line, error=error)], [0.0]
    logp, tokens, oov, oov_logp = score_long_line(model, line)
    return [LineScore(line, logp, tokens, oov)], [oov_logp]


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
                 batch_lines: int = NGRAM_BATCH, threads: int = 1, context: bool = False) -> Iterator[LineScore]:
    """Records in input order; batches are scored on ``threads`` threads (numpy releases the GIL).

    ``context``: document mode, each line after the last words of the previous ones
    (``ngram_context``); batches then run in order on one thread, since each needs the one before.
    """
    scorer = None
    if context:
        from nlpkit.lm.ngram_context import DocumentScorer

        scorer, threads = DocumentScorer(model), 1

    def score(batch: list[str]) -> tuple[list[LineScore], list[float]]:
        if len(batch) == 1 and len(batch[0]) > LONG_LINE and not per_token and scorer is None:
            return _long_line_record(model, batch[0])  # bounded memory, in windows
        return _score_batch(model, batch, per_token, scorer)

    with no_huge_pages():  # each batch's fresh arrays would stall in page compaction (~3% of a large file)
        for records, oov_logp in _ordered_map(score, _alone_if_long(_batches(lines, batch_lines)), threads):
            if summary is not None:
                for r, o in zip(records, oov_logp):
                    if r.error is None:
                        summary.add(r, o)
                    else:
                        summary.bad_lines += 1
            yield from records


def score_lines(model_dir: str | Path, lines: Iterable[str], *, per_token: bool = False, device: str = "auto",
                batch_size: int = 64, summary: Summary | None = None, interactive: bool = False,
                threads: int = 0, context: bool = False) -> Iterator[LineScore]:
    """Score each line with the model in ``model_dir`` (n-gram or neural).

    ``interactive``: answer each line as soon as it is read (no read-ahead batching), for a terminal.
    ``threads``: n-gram batches scored in parallel (output order unchanged); 0: ``ngram_threads``.
    ``context``: document mode, the lines are one running text (see ``ngram_context`` and
    ``neural_score`` for what each kind of model carries from line to line).
    """
    config = read_config(model_dir, {"ngram_lm": 2, "neural_lm": 1, "lm_mix": 1, "bert": 1})
    if config["kind"] == "bert":
        from nlpkit.lm.pll import pll_scores

        return pll_scores(model_dir, lines, per_token=per_token, device=device, batch_size=batch_size, summary=summary,
                          window=1 if interactive else 256)
    if config["kind"] == "lm_mix":
        from nlpkit.lm.interpolate import mix_scores

        return mix_scores(config, lines, per_token=per_token, summary=summary, device=device, batch_size=batch_size,
                          interactive=interactive)
    if config["kind"] == "ngram_lm":
        from nlpkit.lm.ngram_model import load_ngram

        model = load_ngram(model_dir, config)
        return ngram_scores(model, lines, per_token, summary, 1 if interactive else NGRAM_BATCH,
                            1 if interactive else ngram_threads(threads), context)
    from nlpkit.lm.neural_score import neural_scores

    return neural_scores(model_dir, lines, per_token=per_token, device=device, batch_size=batch_size, summary=summary,
                         window=1 if interactive else batch_size * 32, context=context)
