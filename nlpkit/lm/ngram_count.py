"""Streaming n-gram counting with numpy.

Text is read in chunks of about ``chunk_tokens`` tokens. Each chunk becomes one int32 id stream
``<s> w1 .. wn </s> <s> ...``; every order's windows inside a sentence are counted with a sort into
one sorted run per order (4 bytes per word + 8 per count). Runs are held in RAM up to a memory
budget, spilled to disk beyond it, and merged once at the end (``ngram_spill``), as lmplz sorts on
disk; the final counts need memory for the *distinct* n-grams, not for the corpus.

N-grams are rows of word ids in a (rows, k) uint32 matrix, kept sorted lexicographically, so the
rows sharing a context (the first k-1 words) are contiguous.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np

from nlpkit.errors import ConfigError, CorpusError

log = logging.getLogger("nlpkit")

BOS, EOS, UNK = "<s>", "</s>", "<unk>"


def row_ids(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lexicographic ids of the rows of a (n, k) integer matrix.

    Returns ``(first, inverse)``: ``first[j]`` is the index of a row of the j-th distinct row (in
    sorted order) and ``inverse[i]`` the distinct id of row i. Each pass packs the id of the prefix
    so far and as many further columns as fit into one exact int64 key (``id * range + column``,
    column after column) and ranks the keys with one sort: one or two sorts per matrix, not one per
    column.
    """
    n, k = rows.shape
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    ranges = [int(rows[:, c].max()) + 1 for c in range(k)]
    inverse, distinct, c = np.zeros(n, np.int64), 1, 0
    while c < k:
        key, span = inverse, distinct
        while c < k and (key is inverse or span * ranges[c] < 2**63):
            key = key * ranges[c] + rows[:, c].astype(np.int64)
            span *= ranges[c]
            c += 1
        first, inverse = _rank(key)
        distinct = len(first)
    return first, inverse


def _rank(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(key, return_index=True, return_inverse=True)[1:]``, with an unstable (faster) sort."""
    order = np.argsort(key)
    ordered = key[order]
    new = np.empty(len(key), bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    inverse = np.empty(len(key), np.int64)
    inverse[order] = np.cumsum(new) - 1
    return order[new], inverse


def unique_rows(rows: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows in lexicographic order with their summed counts."""
    first, inverse = row_ids(rows)
    total = np.bincount(inverse, weights=counts, minlength=len(first)).astype(np.int64)
    return rows[first], total


def _packed(rows: np.ndarray, ranges: list[int]) -> np.ndarray:
    key = np.zeros(len(rows), np.int64)
    for c, r in enumerate(ranges):
        key = key * r + rows[:, c].astype(np.int64)
    return key


def lookup_rows(table: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Index in ``table`` (distinct rows) of each row of ``query``; -1 where absent.

    When a row packs into one int64 and ``table`` is sorted (as n-gram tables are), this is a
    binary search per query row (queries sorted first: several times faster than in input order);
    otherwise table and queries are ranked together.
    """
    if len(query) == 0:
        return np.zeros(0, np.int64)
    if len(table) and table.shape[1]:
        ranges = [int(max(table[:, c].max(), query[:, c].max())) + 1 for c in range(table.shape[1])]
        if float(np.prod(ranges, dtype=np.float64)) < 2**62:
            keys = _packed(table, ranges)
            if len(keys) < 2 or bool((keys[1:] > keys[:-1]).all()):
                wanted = _packed(query, ranges)
                order = np.argsort(wanted)  # sorted needles: each search starts where the last ended
                at = np.empty(len(wanted), np.int64)
                at[order] = np.searchsorted(keys, wanted[order])
                np.minimum(at, len(keys) - 1, out=at)
                return np.where(keys[at] == wanted, at, -1)
    both = np.concatenate([table, query]).astype(np.int64)
    _, inverse = row_ids(both)
    where = np.full(int(inverse.max()) + 1, -1, np.int64)
    where[inverse[: len(table)]] = np.arange(len(table))
    return where[inverse[len(table):]]


@dataclass
class NgramCounts:
    """Raw counts: ``rows[k-1]`` is a (n_k, k) uint32 matrix of k-grams, ``counts[k-1]`` their counts."""

    order: int
    words: list[str]  # id -> word; ids 0, 1, 2 are <unk>, <s>, </s>
    rows: list[np.ndarray] = field(default_factory=list)
    counts: list[np.ndarray] = field(default_factory=list)
    tokens: int = 0  # words read (without <s> and </s>)
    sentences: int = 0
    skipped_symbols: int = 0


def _chunk_counts(ids: np.ndarray, sent: np.ndarray, order: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Count every order's windows that lie inside one sentence of the id stream.

    Order k ranks the windows by (rank of their first k-1 words at order k-1, last word): one sort
    of one int64 key per order. Windows across a sentence boundary are ranked too (the next order
    builds on every window's rank) but not counted.
    """
    rows, counts = [], []
    ids64 = ids.astype(np.int64)
    vocab = int(ids64.max()) + 1 if len(ids64) else 1
    rank = ids64  # rank of the window of the previous order starting at each position
    for k in range(1, order + 1):
        n = len(ids) - k + 1
        if n <= 0:
            rows.append(np.zeros((0, k), np.uint32))
            counts.append(np.zeros(0, np.int64))
            continue
        key = ids64[:n] if k == 1 else rank[:n] * vocab + ids64[k - 1 :]  # rank < n, vocab <= 2**32: exact below 2**31 tokens a chunk
        first, rank = _rank(key)  # distinct windows in lexicographic order, the rank of each window
        inside = sent[:n] == sent[k - 1 :]
        c = np.bincount(rank[inside], minlength=len(first))
        seen = c > 0
        starts = first[seen]  # (d,) a position of each distinct window seen inside a sentence
        rows.append(ids[starts[:, None] + np.arange(k)])  # (d, k) uint32
        counts.append(c[seen].astype(np.int64))
    return rows, counts


_SEP = "\x00nlpkit\x00"  # joins the lines of a chunk for one split(); never a token of real text


class _Chunker:
    """Turns lines into id-stream chunks, growing the word -> id map as it goes.

    A chunk's lines are joined with a separator token and split once; word ids come from one
    C-level ``map`` over the tokens, and only the occurrences of unseen words go through Python.
    A chunk is counted on a worker thread (numpy's sorts release the GIL) while the next one is
    read and split: two chunks at most are held.
    """

    def __init__(self, counts: NgramCounts, store, pool) -> None:  # noqa: ANN001 - RunStore, an executor
        self.c, self.store, self.pool = counts, store, pool
        self.counting = None  # the Future of the chunk being counted
        self.index = {w: i for i, w in enumerate(counts.words)}
        self.index[_SEP] = -2
        self.lines: list[str] = []
        self.pending = 0  # rough token count of self.lines

    def add(self, line: str) -> None:
        self.lines.append(line)
        self.pending += line.count(" ") + 1

    def _ids(self) -> np.ndarray:
        tokens = f" {_SEP} ".join(self.lines).split()
        ids = np.fromiter(map(self.index.get, tokens, repeat(-1)), np.int64, len(tokens))
        words = self.c.words
        for i in np.flatnonzero(ids == -1).tolist():  # first-seen order, as the words come
            t = tokens[i]
            j = self.index.get(t)
            if j is None:
                j = self.index[t] = len(words)
                words.append(t)
            ids[i] = j
        # As lmplz: <s> and </s> are not words; drop them (lmplz needs --skip_symbols for this).
        marker = (ids == 1) | (ids == 2)
        if marker.any():
            self.c.skipped_symbols += int(marker.sum())
            ids = ids[~marker]
        return ids

    def flush(self) -> None:
        if not self.lines:
            return
        ids = self._ids()
        sep = np.flatnonzero(ids == -2)
        out = np.repeat(ids, np.where(ids == -2, 2, 1))  # each separator becomes </s> <s>
        at = sep + np.arange(len(sep))
        out[at], out[at + 1] = 2, 1
        out = np.concatenate([[1], out, [2]])
        sent = np.cumsum(out == 1) - 1  # sentence of each position
        self.c.sentences += len(self.lines)
        self.c.tokens += len(ids) - len(sep)
        self.lines, self.pending = [], 0
        self.wait()
        self.counting = self.pool.submit(_chunk_counts, out.astype(np.uint32), sent, self.c.order)

    def wait(self) -> None:
        """Store the runs of the chunk being counted, once they are ready."""
        if self.counting is not None:
            self.store.add(*self.counting.result())
            self.counting = None


def count_ngrams(lines: Iterable[str], order: int, chunk_tokens: int = 2_000_000,
                 vocab: Iterable[str] = (), memory: int | None = None, temp_dir: str | None = None,
                 out_dir: str | None = None) -> NgramCounts:
    """Raw counts of all 1..order-grams of ``lines`` (one sentence per line, whitespace tokens).

    Blank lines are skipped (lmplz skips them too). A literal ``<unk>`` is the unknown word.
    ``vocab``: words to have ids 3, 4, ... even if the text never uses them (a tokenizer's pieces).
    ``memory``: bytes of count runs held in RAM; beyond it they are spilled to ``temp_dir`` and
    merged at the end (``ngram_spill``); the counts are the same either way. With ``out_dir``,
    spilled counts are merged into files there and come back memory-mapped.
    """
    from nlpkit.lm.ngram_spill import RunStore

    if order < 1:
        raise ConfigError(f"--order must be at least 1 (got {order})", "use e.g. --order 5")
    counts = NgramCounts(order=order, words=[UNK, BOS, EOS, *(w for w in vocab if w not in (UNK, BOS, EOS))])
    store = RunStore(order, memory, temp_dir)
    with ThreadPoolExecutor(1, thread_name_prefix="nlpkit-count") as pool:
        chunker = _Chunker(counts, store, pool)
        for line in lines:
            if not line.strip():
                continue
            chunker.add(line)
            if chunker.pending >= chunk_tokens:
                chunker.flush()
        chunker.flush()
        chunker.wait()
    counts.rows, counts.counts = store.result(len(counts.words), out_dir)
    if counts.tokens == 0:
        raise CorpusError("the training text is empty (no words)", "give a file with text, one sentence per line")
    if counts.skipped_symbols:
        log.warning("warning: dropped %d literal <s>/</s> token(s) from the text", counts.skipped_symbols)
    return counts


def restrict_vocab(counts: NgramCounts, min_count: int = 1, vocab_limit: int | None = None,
                   keep_first: int = 3, memory: int | None = None, temp_dir: str | None = None,
                   out_dir: str | None = None) -> NgramCounts:
    """Map words rarer than ``min_count`` or beyond the ``vocab_limit`` most frequent to ``<unk>``.

    The first ``keep_first`` words (the specials, and a tokenizer's pieces) are always kept.
    With ``out_dir``, the remapped n-grams go through count runs under ``memory`` bytes (as in
    ``count_ngrams``) and come back merged into files there, memory-mapped.
    """
    uni_rows, uni_counts = counts.rows[0][:, 0].astype(np.int64), counts.counts[0]
    freq = np.zeros(len(counts.words), np.int64)
    freq[uni_rows] = uni_counts
    keep = freq >= min_count
    if vocab_limit is not None:
        order = np.argsort(-freq[3:], kind="stable") + 3
        keep[order[vocab_limit:]] = False
    keep[:keep_first] = True
    if keep.all():
        return counts
    new_id = np.zeros(len(counts.words), np.int64)  # dropped words -> 0 = <unk>
    kept = np.flatnonzero(keep)
    new_id[kept] = np.arange(len(kept))
    out = NgramCounts(counts.order, [counts.words[i] for i in kept], tokens=counts.tokens, sentences=counts.sentences)
    log.info("vocabulary: kept %d of %d words; the rest map to <unk>", len(kept), len(counts.words))
    if out_dir is not None:
        out.rows, out.counts = _remap_in_runs(counts, new_id, len(kept), memory, temp_dir, out_dir)
        return out
    for r, c in zip(counts.rows, counts.counts):
        mapped = new_id[r.astype(np.int64)].astype(np.uint32)
        rr, cc = unique_rows(mapped, c)
        out.rows.append(rr)
        out.counts.append(cc)
    return out


def _remap_in_runs(counts: NgramCounts, new_id: np.ndarray, vocab: int, memory: int | None, temp_dir: str | None,
                   out_dir: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Every order's rows through ``new_id``, re-sorted and re-summed in bounded runs (``RunStore``)."""
    from pathlib import Path

    from nlpkit.lm.ngram_spill import RunStore, release

    step = max(1024, (memory or 1 << 30) // 256)  # rows of each order per run, about what counting holds
    log.info("remapping the n-grams to the kept words in runs of %d rows", step)
    store = RunStore(counts.order, memory, temp_dir)
    for start in range(0, max(len(r) for r in counts.rows), step):
        rows, sums = [], []
        for r, c in zip(counts.rows, counts.counts):
            mapped = new_id[np.asarray(r[start : start + step], np.int64)].astype(np.uint32)
            rr, cc = unique_rows(mapped, np.asarray(c[start : start + step]))
            rows.append(rr.astype(np.uint32))
            sums.append(cc)
        store.add(rows, sums)
        release([*counts.rows, *counts.counts])
    store.spill_all()  # the result goes to files even when the runs fit in memory
    target = Path(out_dir) / "vocab"
    target.mkdir(exist_ok=True)
    return store.result(vocab, target)
