"""The compiled merge of sorted count runs, and the huge-page switch used while counting."""

from __future__ import annotations

import numpy as np
import pytest

from nlpkit.lm.ngram_count import unique_rows
from nlpkit.lm.ngram_merge import merge_sorted_runs, merge_two
from nlpkit.numpy_pages import no_huge_pages


def _run(rng: np.random.Generator, n: int, k: int, high: int) -> tuple[np.ndarray, np.ndarray]:
    rows, counts = unique_rows(rng.integers(0, high, (n, k)).astype(np.uint32), rng.integers(1, 9, n))
    return rows.astype(np.uint32), counts


def test_merge_two_by_hand() -> None:
    a = np.array([[0, 1], [0, 2], [3, 0]], np.uint32)
    b = np.array([[0, 2], [1, 0], [3, 0], [3, 1]], np.uint32)
    rows, counts = merge_two(a, np.array([1, 2, 3]), b, np.array([10, 20, 30, 40]))
    assert rows.tolist() == [[0, 1], [0, 2], [1, 0], [3, 0], [3, 1]]
    assert counts.tolist() == [1, 12, 20, 33, 40]


@pytest.mark.parametrize("k", [1, 3, 5])
def test_merge_equals_sorting_the_concatenation(k: int) -> None:
    rng = np.random.default_rng(k)
    runs = [_run(rng, n, k, 4) for n in (500, 0, 37, 1200, 1)]
    rows, counts = merge_sorted_runs([r for r, _ in runs], [c for _, c in runs])
    want_rows, want_counts = unique_rows(np.concatenate([r for r, _ in runs]), np.concatenate([c for _, c in runs]))
    assert rows.dtype == np.uint32 and counts.dtype == np.int64
    np.testing.assert_array_equal(rows, want_rows)
    np.testing.assert_array_equal(counts, want_counts)


def test_no_huge_pages_restores_the_setting() -> None:
    from numpy._core.multiarray import _set_madvise_hugepage

    before = _set_madvise_hugepage(True)
    try:
        with no_huge_pages():
            assert _set_madvise_hugepage(False) is False  # off inside the block
        assert _set_madvise_hugepage(True) is True  # back on after it
    finally:
        _set_madvise_hugepage(before)


def test_find_sorted_rows_walks_both_tables() -> None:
    from nlpkit.lm.ngram_merge import find_sorted_rows

    table = np.array([[0, 1], [0, 4], [2, 2], [3, 0], [3, 5]], np.uint32)
    queries = np.array([[0, 4], [0, 4], [3, 0], [3, 5]], np.uint32)  # sorted, with a repeat
    at, missing = find_sorted_rows(queries, table)
    assert missing == -1 and at.tolist() == [1, 1, 3, 4]
    _, missing = find_sorted_rows(np.array([[0, 1], [2, 3], [3, 0]], np.uint32), table)
    assert missing == 1  # [2, 3] is not in the table
    _, missing = find_sorted_rows(np.array([[3, 6]], np.uint32), table)
    assert missing == 0  # past the end


@pytest.mark.parametrize("chunk_tokens", [7, 1000])
def test_counts_equal_counting_every_window_by_hand(chunk_tokens: int) -> None:
    from collections import Counter

    from nlpkit.lm.ngram_count import count_ngrams

    rng = np.random.default_rng(5)
    words = ["a", "b", "c", "d"]
    lines = [" ".join(rng.choice(words, rng.integers(1, 9))) for _ in range(60)]
    counts = count_ngrams(lines, 4, chunk_tokens=chunk_tokens)
    want: Counter = Counter()
    for line in lines:
        toks = ["<s>", *line.split(), "</s>"]
        for k in range(1, 5):
            want.update(tuple(toks[i : i + k]) for i in range(len(toks) - k + 1))
    got = {}
    for k in range(1, 5):
        rows, c = counts.rows[k - 1], counts.counts[k - 1]
        assert [tuple(r) for r in rows.tolist()] == sorted(map(tuple, rows.tolist()))  # sorted, as runs must be
        got.update({tuple(counts.words[i] for i in r): int(n) for r, n in zip(rows.tolist(), c.tolist())})
    assert got == dict(want)
