"""From lines of text to training batches of (centre word, context words), numpy only.

One input line is one sentence (as in word2vec and gensim); windows never cross a line, and very
long lines are cut every ``MAX_SENTENCE`` words. Out-of-vocabulary words are dropped before
windows are taken, then frequent words are subsampled, then each centre word gets a window of
1..window words drawn uniformly (word2vec's "reduced window").

A ``Batch`` groups pairs by centre: skip-gram predicts each context word from the centre, CBOW
predicts the centre from the mean of its context. Both use the same arrays.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, islice, repeat
from typing import Any

import numpy as np

MAX_SENTENCE = 10_000
BLOCK_LINES = 256  # lines encoded together


@dataclass
class Chunk:
    """Encoded text: in-vocabulary ids, the sentence each belongs to, and bookkeeping."""

    ids: np.ndarray  # (n,) int64
    sentence: np.ndarray  # (n,) int64, non-decreasing
    words: int  # in-vocabulary words before subsampling (drives the learning-rate schedule)
    lines: int  # input lines consumed


@dataclass
class Batch:
    """Centre words and their (centre, context) pairs, grouped by centre."""

    centres: np.ndarray  # (B,) word ids
    local: np.ndarray  # (P,) index into centres for each pair
    contexts: np.ndarray  # (P,) word ids
    counts: np.ndarray  # (B,) float32, pairs per centre
    words: int  # share of the chunk's words this batch accounts for


def encode_chunks(
    lines: Iterable[str], index: dict[str, int], *, lowercase: bool = False, chunk_words: int = 200_000
) -> Iterator[Chunk]:
    """Group lines into chunks of about ``chunk_words`` in-vocabulary words (whole lines).

    Lines are encoded ``BLOCK_LINES`` at a time with C-level loops (split, map, fromiter): the
    per-token Python work is what limits a compiled trainer. A chunk ends after the line whose
    words reach ``chunk_words``; the rest of that block is encoded again for the next chunk.
    """
    get = index.get
    lines = iter(lines)
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    words = n_lines = n_sent = 0
    pending: list[str] = []
    while True:
        block = pending + list(islice(lines, BLOCK_LINES - len(pending)))
        if not block:
            break
        ids, line, per_line = _encode_block(block, get, lowercase)
        full = np.flatnonzero(words + np.cumsum(per_line) >= chunk_words)
        cut = int(full[0]) + 1 if len(full) else len(block)
        inside = line < cut
        sent = _sentences(line[inside], per_line[:cut], n_sent)
        parts.append((ids[inside], sent))
        n_sent += int((-(-per_line[:cut] // MAX_SENTENCE)).sum())
        words, n_lines, pending = words + int(per_line[:cut].sum()), n_lines + cut, block[cut:]
        if len(full):
            yield _chunk(parts, words, n_lines)
            parts, words, n_lines = [], 0, 0
    if words or n_lines:
        yield _chunk(parts, words, n_lines)


def _encode_block(block: list[str], get: Any, lowercase: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """In-vocabulary ids, the block line of each, and in-vocabulary words per line."""
    toks = [line.split() for line in (map(str.lower, block) if lowercase else block)]
    lens = np.fromiter(map(len, toks), np.int64, len(toks))
    flat = np.fromiter(map(get, chain.from_iterable(toks), repeat(-1)), np.int64, int(lens.sum()))
    line = np.repeat(np.arange(len(block)), lens)
    keep = flat >= 0
    return flat[keep], line[keep], np.bincount(line[keep], minlength=len(block))


def _sentences(line: np.ndarray, per_line: np.ndarray, first: int) -> np.ndarray:
    """Sentence number of each word: lines are cut every ``MAX_SENTENCE`` words, empty lines skipped."""
    pieces = -(-per_line // MAX_SENTENCE)  # (lines,)
    line_first = first + np.cumsum(pieces) - pieces
    starts = np.cumsum(per_line) - per_line
    rank = np.arange(len(line)) - starts[line]
    return line_first[line] + rank // MAX_SENTENCE


def _chunk(parts: list[tuple[np.ndarray, np.ndarray]], words: int, n_lines: int) -> Chunk:
    if not parts:
        return Chunk(np.zeros(0, np.int64), np.zeros(0, np.int64), words, n_lines)
    return Chunk(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), words, n_lines)


def subsample(chunk: Chunk, keep_prob: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Drop frequent words with word2vec's probabilities; returns (ids, sentence)."""
    keep = rng.random(len(chunk.ids)) < keep_prob[chunk.ids]
    return chunk.ids[keep], chunk.sentence[keep]


def context_matrix(ids: np.ndarray, sentence: np.ndarray, window: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 2*window) context ids for each position, -1 where outside the reduced window or line.

    Column k holds offset k - window for k < window and k - window + 1 otherwise.
    """
    n = len(ids)
    ctx = np.full((n, 2 * window), -1, dtype=np.int64)
    reduced = rng.integers(1, window + 1, size=n)  # effective window per centre, as word2vec
    for d in range(1, window + 1):
        if d >= n:
            break
        # right context: centre i, context i+d
        ok = (reduced[:-d] >= d) & (sentence[:-d] == sentence[d:])
        ctx[:-d, window + d - 1] = np.where(ok, ids[d:], -1)
        # left context: centre i+d, context i
        ok = (reduced[d:] >= d) & (sentence[:-d] == sentence[d:])
        ctx[d:, window - d] = np.where(ok, ids[:-d], -1)
    return ctx


def make_batches(ids: np.ndarray, ctx: np.ndarray, batch_size: int, words: int) -> Iterator[Batch]:
    """Cut centres (with at least one context) into batches of ``batch_size`` centre words."""
    valid = ctx >= 0  # (n, 2W)
    counts = valid.sum(1)
    has = counts > 0
    ids, ctx, valid, counts = ids[has], ctx[has], valid[has], counts[has]
    n = len(ids)
    if n == 0:
        return
    for start in range(0, n, batch_size):
        stop = min(n, start + batch_size)
        v = valid[start:stop]
        local, col = np.nonzero(v)  # row-major: pairs come grouped by centre
        yield Batch(
            centres=ids[start:stop],
            local=local.astype(np.int64),
            contexts=ctx[start:stop][local, col],
            counts=counts[start:stop].astype(np.float32),
            words=round(words * stop / n) - round(words * start / n),
        )
