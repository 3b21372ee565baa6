"""Intrinsic evaluation: Google-style analogies and word-pair similarity (numpy only).

Analogies follow gensim's ``evaluate_word_analogies``: only the ``restrict_vocab`` most frequent
words are candidates, a question with a word outside them is skipped and counted as OOV, the
three question words are never answers, and sections whose name starts with ``gram`` are
syntactic, the others semantic. With ``case_insensitive`` words are compared in lower case and a
lower-cased form maps to its most frequent spelling.

Word pairs: Spearman and Pearson correlation between cosine similarity and the human score, over
the pairs whose words are both known.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nlpkit.embeddings.vectors import MUL_EPSILON, WordVectors
from nlpkit.errors import CorpusError

EVAL_COLUMNS = 1024  # candidates per block: their cosines with ~1,000 question words, 4 MB, stay in cache


@dataclass
class Section:
    name: str
    correct: int = 0
    total: int = 0  # answered (in-vocabulary) questions
    oov: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"section": self.name, "correct": self.correct, "total": self.total, "oov": self.oov, "accuracy": round(self.accuracy, 4)}


@dataclass
class AnalogyReport:
    sections: list[Section] = field(default_factory=list)

    def _sum(self, name: str, pick: Iterable[Section]) -> Section:
        out = Section(name)
        for s in pick:
            out.correct, out.total, out.oov = out.correct + s.correct, out.total + s.total, out.oov + s.oov
        return out

    def as_dict(self) -> dict[str, Any]:
        semantic = self._sum("semantic", (s for s in self.sections if not s.name.startswith("gram")))
        syntactic = self._sum("syntactic", (s for s in self.sections if s.name.startswith("gram")))
        total = self._sum("total", self.sections)
        return {
            "sections": [s.as_dict() for s in self.sections],
            "semantic": semantic.as_dict(),
            "syntactic": syntactic.as_dict(),
            "total": total.as_dict(),
        }


def read_analogies(path: str | Path) -> list[tuple[str, list[tuple[str, str, str, str]]]]:
    """``: section`` headers followed by lines of four words."""
    sections: list[tuple[str, list[tuple[str, str, str, str]]]] = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith(":"):
                sections.append((line[1:].strip(), []))
                continue
            words = line.split()
            if len(words) != 4:
                raise CorpusError(f"{path}:{n}: an analogy needs 4 words, got {len(words)}", "use the questions-words.txt format")
            if not sections:
                sections.append(("default", []))
            sections[-1][1].append((words[0], words[1], words[2], words[3]))
    if not sections:
        raise CorpusError(f"{path} holds no analogy questions", "use the questions-words.txt format")
    return sections


def _restricted_index(wv: WordVectors, restrict: int | None, case_insensitive: bool) -> dict[str, int]:
    n = min(len(wv), restrict) if restrict else len(wv)
    index: dict[str, int] = {}
    for i, w in enumerate(wv.words[:n]):
        key = w.lower() if case_insensitive else w
        index.setdefault(key, i)  # most frequent spelling wins
    return index


def evaluate_analogies(
    wv: WordVectors, path: str | Path, *, restrict_vocab: int | None = 300_000, case_insensitive: bool = False, method: str = "add",
    threads: int | None = None,
) -> AnalogyReport:
    """Accuracy on a questions-words file; see the module docstring for the rules.

    The test sets use few distinct words (905 in the Google set), so the cosines of those words
    with every candidate are computed (one matrix product per block of candidates) and each
    question's scores are sums or products of three of their rows: far fewer operations than one
    product per question. ``threads`` blocks are scored at once (default 1: the matrix products use every core).
    """
    if method not in ("add", "mul"):
        raise ValueError(f"unknown analogy method {method!r}")
    index = _restricted_index(wv, restrict_vocab, case_insensitive)
    n = min(len(wv), restrict_vocab) if restrict_vocab else len(wv)
    report = AnalogyReport()
    rows = []
    for name, questions in read_analogies(path):
        section = Section(name)
        for q in questions:
            ids = [index.get(w.lower() if case_insensitive else w) for w in q]
            if any(i is None for i in ids):
                section.oov += 1
            else:
                rows.append(ids)
                section.total += 1
        report.sections.append(section)
    rows = np.asarray(rows, dtype=np.int64).reshape(-1, 4)  # (Q, 4) rows of a, b, c and the answer
    right = best_answers(wv.unit, rows[:, :3], n, method, threads) == rows[:, 3]
    ends = np.cumsum([s.total for s in report.sections])
    for section, hits in zip(report.sections, np.split(right, ends[:-1])):
        section.correct = int(hits.sum())
    return report


@dataclass
class _Questions:
    """Analogy questions as rows of the few distinct words they use."""

    abc: np.ndarray  # (Q, 3) rows of a, b, c in ``unit``
    left: np.ndarray  # (W, D) unit vectors of the distinct question words
    pos: np.ndarray  # (Q, 3) rows of a, b, c in ``left``
    pairs: np.ndarray  # (P, 2) distinct (a, b) in ``left``: a set repeats each pair with many c
    pair_of: np.ndarray  # (Q,) index into ``pairs``
    method: str


def best_answers(unit: np.ndarray, abc: np.ndarray, n: int, method: str = "add", threads: int | None = None) -> np.ndarray:
    """(Q,) the best answer among the first ``n`` rows of ``unit`` to each question (Q, 3), its words excluded.

    Candidates are scored in blocks of ``EVAL_COLUMNS`` (a block's cosines stay in the CPU cache),
    each thread taking a contiguous range of blocks in order; the first best candidate wins ties, as
    ``argmax`` over all of them would.
    """
    from concurrent.futures import ThreadPoolExecutor

    asked, pos = np.unique(abc, return_inverse=True)  # (W,) distinct question words
    pos = pos.reshape(abc.shape)
    pairs, pair_of = np.unique(pos[:, :2], axis=0, return_inverse=True)
    qs = _Questions(np.ascontiguousarray(abc, np.int64), np.asarray(unit[asked]), pos.astype(np.int64),
                    pairs.reshape(-1, 2), pair_of.reshape(-1).astype(np.int64), method)
    if threads is None:
        # One: each block's matrix product already runs on every core (BLAS), and block threads
        # running products at once contend with it (Google set, 100k words, 2 cores: 1.16 s with
        # two block threads against 0.93 s with one).
        threads = 1
    starts = list(range(0, n, EVAL_COLUMNS))
    ranges = [r for r in np.array_split(np.asarray(starts, np.int64), max(1, min(threads, len(starts)))) if len(r)]
    with ThreadPoolExecutor(len(ranges)) as pool:
        found = list(pool.map(lambda r: _range_best(unit, [int(s) for s in r], n, qs), ranges))
    best = np.full(len(abc), -np.inf, np.float32)
    best_at = np.zeros(len(abc), np.int64)
    for value, at in found:  # in column order: a later range wins only with a strictly higher score
        better = value > best
        best[better], best_at[better] = value[better], at[better]
    return best_at


def _range_best(unit: np.ndarray, starts: list[int], n: int, qs: _Questions) -> tuple[np.ndarray, np.ndarray]:
    """The best score and candidate of each question among the blocks at ``starts``."""
    from nlpkit.embeddings.analogy_kernel import block_best

    value, at = np.full(len(qs.abc), -np.inf, np.float32), np.zeros(len(qs.abc), np.int64)
    mul = qs.method == "mul"
    for start in starts:
        stop = min(start + EVAL_COLUMNS, n)
        cos = qs.left @ np.asarray(unit[start:stop]).T  # (W, B)
        if mul:
            cos = (1.0 + cos) / 2.0
            diff = cos[:0]  # unused
        else:  # argmax of cos(x, b - a + c) = argmax of (x.b - x.a) + x.c; x.b - x.a once per distinct (a, b)
            diff = cos[qs.pairs[:, 1]] - cos[qs.pairs[:, 0]]  # (P, B)
        block_best(cos, diff, qs.pos, qs.pair_of, qs.abc, start, mul, np.float32(MUL_EPSILON), value, at)
    return value, at


def read_pairs(path: str | Path) -> list[tuple[str, str, float]]:
    """word1, word2, score per line (tab or spaces); ``#`` comments and a header line are skipped."""
    pairs = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = line.split("\t") if "\t" in line else line.split()
            parts = [p.strip() for p in parts]
            try:
                pairs.append((parts[0], parts[1], float(parts[2])))
            except (IndexError, ValueError):
                if not pairs:
                    continue  # a header line
                raise CorpusError(f"{path}:{n}: expected word1, word2, score", "use a tab- or space-separated file") from None
    if not pairs:
        raise CorpusError(f"{path} holds no word pairs", "give word1, word2, score per line")
    return pairs


def rankdata(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties get their average rank (as scipy.stats.rankdata)."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.arange(1, len(x) + 1)
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return sums[inverse] / counts[inverse]


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    x, y = np.asarray(x, np.float64) - np.mean(x), np.asarray(y, np.float64) - np.mean(y)
    denom = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denom) if denom else 0.0


def _pair_row(wv: WordVectors, index: dict[str, int], word: str) -> int | None:
    """Row of ``word``; outside the vocabulary, its subword row when the model has subwords."""
    i = index.get(word)
    if i is None and wv.subwords is not None:
        i = wv.lookup(word)
        if i is not None and i < len(wv.words):
            return None  # in the vocabulary but outside --restrict-vocab
    return i


def evaluate_pairs(wv: WordVectors, path: str | Path, *, case_insensitive: bool = False, restrict_vocab: int | None = None) -> dict[str, Any]:
    """Spearman and Pearson correlation of cosine similarity with human scores."""
    index = _restricted_index(wv, restrict_vocab, case_insensitive)
    pairs = read_pairs(path)
    model, human = [], []
    oov = 0
    for w1, w2, score in pairs:
        i, j = (_pair_row(wv, index, w.lower() if case_insensitive else w) for w in (w1, w2))
        if i is None or j is None:
            oov += 1
            continue
        u = wv.rows(np.array([i, j]))  # (2, D)
        model.append(float(np.dot(u[0], u[1])))
        human.append(score)
    result: dict[str, Any] = {"pairs": len(pairs), "oov": oov, "spearman": None, "pearson": None}
    if len(model) >= 2:
        result["spearman"] = round(pearson(rankdata(np.array(model)), rankdata(np.array(human))), 4)
        result["pearson"] = round(pearson(np.array(model), np.array(human)), 4)
    return result
