"""Word counts and the tables word2vec derives from them (numpy only, no torch).

- ``count_words``: one streaming pass; memory grows with the number of distinct words only.
  Like word2vec, when the count table grows past ``prune_at`` entries the rarest words are dropped
  (their counts would never reach ``min_count`` on a corpus that size anyway).
- ``Vocab``: words sorted by count (most frequent first, ties by word), so "the most frequent N
  words" is simply the first N rows, as ``--restrict-vocab`` needs.
- ``keep_probabilities``: word2vec's frequent-word subsampling.
- ``noise_table``: the unigram^0.75 table negatives are drawn from.
- ``huffman_tree``: codes and inner-node paths for hierarchical softmax.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlpkit.embeddings.vocab_text import VOCAB_FILE
from nlpkit.errors import ArtifactError, CorpusError

_WORDS = re.compile(r"^(.*)\t", re.M)
_COUNTS = re.compile(r"\t(-?\d+)$", re.M)


def count_words(lines: Iterable[str], lowercase: bool = False, prune_at: int = 20_000_000) -> tuple[Counter[str], int]:
    """Whitespace-split word counts and the number of lines seen."""
    counts: Counter[str] = Counter()
    n_lines = 0
    min_reduce = 1
    for line in lines:
        n_lines += 1
        counts.update((line.lower() if lowercase else line).split())
        if len(counts) > prune_at:
            # word2vec's ReduceVocab: drop words seen <= min_reduce times, raising the bar each time.
            counts = Counter({w: c for w, c in counts.items() if c > min_reduce})
            min_reduce += 1
    return counts, n_lines


class Vocab:
    """Words in index order (descending count) with their corpus counts.

    Loading is lazy where a one-off query does not need the work: counts are parsed and the
    word -> row dict is built on first use; a few ``find`` calls scan the list instead.
    """

    _SCAN_LIMIT = 16  # lookups served by list scans before the dict pays for itself

    def __init__(self, words: list[str], counts: np.ndarray | None = None, *, vocab_text: str | None = None) -> None:
        self.words = words
        self._counts = None if counts is None else np.asarray(counts, dtype=np.int64)
        self._vocab_text = vocab_text  # vocab.tsv contents, parsed for counts on first use
        self._index: dict[str, int] | None = None
        self._scans = 0

    def __len__(self) -> int:
        return len(self.words)

    @property
    def counts(self) -> np.ndarray:  # (V,) int64
        if self._counts is None:
            text = _COUNTS.findall(self._vocab_text) if self._vocab_text is not None else []
            self._counts = np.array(text).astype(np.int64) if text else np.zeros(len(self.words), np.int64)
            self._vocab_text = None
        return self._counts

    @property
    def index(self) -> dict[str, int]:
        if self._index is None:
            self._index = {w: i for i, w in enumerate(self.words)}
        return self._index

    def find(self, word: str) -> int | None:
        if self._index is None and self._scans < self._SCAN_LIMIT:
            self._scans += 1
            try:
                return self.words.index(word)  # a C-speed scan beats building a 100k-entry dict
            except ValueError:
                return None
        return self.index.get(word)

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def save(self, directory: str | Path) -> None:
        path = Path(directory) / VOCAB_FILE
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.writelines(f"{w}\t{c}\n" for w, c in zip(self.words, self.counts.tolist()))

    @classmethod
    def load(cls, directory: str | Path) -> Vocab:
        path = Path(directory) / VOCAB_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ArtifactError(f"{directory} has no {VOCAB_FILE}", "retrain or re-import the vectors") from None
        words = _WORDS.findall(text)  # one C-level pass; faster than splitting 100k lines in Python
        return cls(words, vocab_text=text)


def build_vocab(counts: Counter[str], min_count: int = 5, max_vocab: int | None = None) -> Vocab:
    """Keep words seen at least ``min_count`` times, at most ``max_vocab`` of the most frequent."""
    if not counts:
        raise CorpusError("the corpus has no words", "give a file with text")
    kept = sorted(((c, w) for w, c in counts.items() if c >= min_count), key=lambda cw: (-cw[0], cw[1]))
    if max_vocab:
        kept = kept[:max_vocab]
    if not kept:
        top = counts.most_common(1)[0][1]
        raise CorpusError(
            f"no word occurs {min_count} times or more (the most frequent occurs {top} times)",
            "lower --min-count or give more text",
        )
    return Vocab([w for _, w in kept], np.asarray([c for c, _ in kept], dtype=np.int64))


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """word2vec's subsampling: keep word w with p = (sqrt(f/t) + 1) * t/f, f = count/total, t = sample.

    ``sample`` <= 0 keeps every word.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return np.ones_like(counts)
    threshold = sample * counts.sum()
    p = (np.sqrt(counts / threshold) + 1.0) * threshold / counts
    return np.minimum(p, 1.0)


def noise_distribution(counts: np.ndarray, exponent: float = 0.75) -> np.ndarray:
    """P(w) proportional to count(w)^exponent."""
    weights = np.asarray(counts, dtype=np.float64) ** exponent
    return weights / weights.sum()


def noise_table(counts: np.ndarray, exponent: float = 0.75, size: int = 10_000_000) -> np.ndarray:
    """word2vec's unigram table: word i fills a share of ``size`` slots proportional to count^exponent.

    Drawing a uniform slot is then a draw from the noise distribution. Slot boundaries are the
    rounded cumulative probabilities, so the table is exact up to one slot per word.
    """
    cum = np.cumsum(noise_distribution(counts, exponent))
    bounds = np.rint(cum * size).astype(np.int64)
    bounds[-1] = size
    lengths = np.diff(np.concatenate([[0], bounds]))
    return np.repeat(np.arange(len(counts), dtype=np.int32), lengths)


@dataclass
class HuffmanTree:
    """Per-word Huffman codes and paths, padded to ``max_len``.

    ``points[w, k]`` is the k-th inner node (0 = root side... V-2) on the path from the root to w,
    ``codes[w, k]`` the branch bit taken there, ``lengths[w]`` the path length.
    """

    codes: np.ndarray  # (V, L) int8
    points: np.ndarray  # (V, L) int64
    lengths: np.ndarray  # (V,) int64


def huffman_tree(counts: np.ndarray) -> HuffmanTree:
    """Build the Huffman tree over word counts (as word2vec's CreateBinaryTree).

    Leaves are 0..V-1; inner node n gets id V+n in merge order, and its row in the output matrix
    is n. Merging pops the two lightest nodes (ties: lower id first); the first popped gets bit 0,
    the second bit 1. A one-word vocabulary gets a single inner node.
    """
    v = len(counts)
    heap = [(int(c), i) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    parent = np.zeros(2 * v, dtype=np.int64)
    bit = np.zeros(2 * v, dtype=np.int8)
    next_id = v
    if v == 1:
        parent[0], bit[0], next_id = v, 0, v + 1
    while len(heap) > 1:
        c1, a = heapq.heappop(heap)
        c2, b = heapq.heappop(heap)
        parent[a], bit[a] = next_id, 0
        parent[b], bit[b] = next_id, 1
        heapq.heappush(heap, (c1 + c2, next_id))
        next_id += 1
    root = next_id - 1
    paths = []
    for w in range(v):
        node, codes, points = w, [], []
        while node != root:
            codes.append(bit[node])
            points.append(parent[node] - v)
            node = parent[node]
        paths.append((codes[::-1], points[::-1]))
    max_len = max(len(c) for c, _ in paths)
    out = HuffmanTree(np.zeros((v, max_len), np.int8), np.zeros((v, max_len), np.int64), np.zeros(v, np.int64))
    for w, (codes, points) in enumerate(paths):
        out.codes[w, : len(codes)] = codes
        out.points[w, : len(points)] = points
        out.lengths[w] = len(codes)
    return out
