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

EVAL_BATCH = 512


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
    wv: WordVectors, path: str | Path, *, restrict_vocab: int | None = 300_000, case_insensitive: bool = False, method: str = "add"
) -> AnalogyReport:
    """Accuracy on a questions-words file; see the module docstring for the rules.

    The test sets use few distinct words (905 in the Google set), so the cosines of those words
    with every candidate are computed once, (W, n), and each question's scores are sums or
    products of three of its rows: far fewer operations than one product per question.
    """
    index = _restricted_index(wv, restrict_vocab, case_insensitive)
    n = min(len(wv), restrict_vocab) if restrict_vocab else len(wv)
    report = AnalogyReport()
    sections = []
    for name, questions in read_analogies(path):
        section = Section(name)
        rows = []
        for q in questions:
            ids = [index.get(w.lower() if case_insensitive else w) for w in q]
            if any(i is None for i in ids):
                section.oov += 1
            else:
                rows.append(ids)
        section.total = len(rows)
        sections.append((section, np.asarray(rows, dtype=np.int64).reshape(-1, 4)))
    asked = np.unique(np.concatenate([r[:, :3].ravel() for _, r in sections]))  # (W,) distinct question words
    cos = np.asarray(wv.unit[asked]) @ np.asarray(wv.unit[:n]).T  # (W, n)
    if method == "mul":
        cos = (1.0 + cos) / 2.0
    elif method != "add":
        raise ValueError(f"unknown analogy method {method!r}")
    for section, rows in sections:
        for start in range(0, len(rows), EVAL_BATCH):
            batch = rows[start : start + EVAL_BATCH]  # (Q, 4)
            a, b, c = (np.searchsorted(asked, batch[:, j]) for j in range(3))
            if method == "add":  # argmax of cos(x, b - a + c) = argmax of x.b - x.a + x.c
                scores = cos[b] - cos[a] + cos[c]  # (Q, n)
            else:
                scores = cos[b] * cos[c] / (cos[a] + MUL_EPSILON)
            np.put_along_axis(scores, batch[:, :3], -np.inf, axis=1)
            section.correct += int((scores.argmax(1) == batch[:, 3]).sum())
        report.sections.append(section)
    return report


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
