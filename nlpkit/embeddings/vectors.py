"""Trained word vectors for queries: lookup, nearest neighbours, analogies. numpy only, no torch.

``WordVectors.load(dir)`` memory-maps the L2-normalised matrix stored in ``vectors.safetensors``
(written at train/import time), so a one-off query reads only what the matrix product touches
and pays no normalisation. Analogies are answered in batches with one matrix product per batch.

Analogy "a is to b as c is to ?":
- 3CosAdd (``add``): argmax_x cos(x, b - a + c), scored as the cosine with the normalised target.
- 3CosMul (``mul``, Levy and Goldberg 2014): argmax_x cos'(x,b) cos'(x,c) / (cos'(x,a) + 0.001),
  with cos' = (1 + cos) / 2 so every factor is positive.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nlpkit.artifacts import read_config
from nlpkit.embeddings.neighbour import Neighbour
from nlpkit.embeddings.vector_files import FORMAT_VERSION, KIND, VECTORS_FILE, tensor_spans  # noqa: F401 (re-exported)
from nlpkit.embeddings.vocab import Vocab
from nlpkit.errors import ArtifactError

MUL_EPSILON = 1e-3
QUERY_BATCH = 256


def mmap_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Memory-map every float32 tensor of a safetensors file (read-only, no copy)."""
    out = {}
    for name, span in tensor_spans(path).items():
        if span.nbytes == 0:
            out[name] = np.zeros(span.shape, dtype=np.float32)
            continue
        out[name] = np.memmap(path, dtype=np.float32, mode="r", offset=span.offset, shape=span.shape)
    return out


def _check_matrices(model_dir: str | Path, config: dict[str, Any], unit: np.ndarray, vectors: np.ndarray, words: int) -> None:
    """Shapes agree with the vocabulary and config.json (values are checked when first read)."""
    where = f"{model_dir}/{VECTORS_FILE}"
    dim = config.get("model", {}).get("dim")
    if unit.ndim != 2 or unit.shape != vectors.shape or (isinstance(dim, int) and unit.shape[1] != dim):
        raise ArtifactError(f"{where}: vectors of shape {list(vectors.shape)} / {list(unit.shape)} do not match dimension {dim}", "retrain or re-import")
    if len(unit) != words:
        raise ArtifactError(f"{model_dir}: vocab.tsv and the vectors disagree in size", "retrain or re-import")


def _check_finite(matrix: np.ndarray, where: str) -> None:
    """No NaN or infinity (a sum per block is cheap, but it reads the whole matrix)."""
    for start in range(0, len(matrix), 65536):
        if not np.isfinite(np.sum(matrix[start : start + 65536], dtype=np.float64)):
            _non_finite(where)


def _non_finite(where: str) -> None:
    raise ArtifactError(f"{where} has NaN or infinite values", "retrain or re-import the vectors")


class WordVectors:
    """Words, counts and vectors of one model directory."""

    def __init__(
        self, vocab: Vocab, unit: np.ndarray, vectors: np.ndarray | None = None, config: dict[str, Any] | None = None, subwords: Any = None
    ) -> None:
        self.vocab = vocab
        self.words = vocab.words
        self._unit = unit  # (V, D) L2-normalised rows
        self._vectors = vectors
        # Matrices of a loaded model not yet known to be free of NaN and infinity, and the file they
        # come from. A query need not scan the whole file first: its scores, one per row, show
        # every bad row (``_check_scores``); other uses of a matrix scan it once (``unit``, ``vectors``).
        self._unchecked: set[str] = set()
        self._where = ""
        self.config = config or {}
        self.lowercase = bool(self.config.get("model", {}).get("lowercase", False))
        self.subwords = subwords  # a subwords.Subwords: vectors for words outside the vocabulary
        self._extra: dict[str, int] = {}  # out-of-vocabulary word -> row V + k, built from subwords
        self._extra_raw: list[np.ndarray] = []

    @classmethod
    def load(cls, model_dir: str | Path, *, subwords: bool = True) -> WordVectors:
        """Open a model; ``subwords=False`` ignores its n-gram table (only vocabulary words have vectors)."""
        config = read_config(model_dir, {KIND: FORMAT_VERSION})
        tensors = mmap_safetensors(Path(model_dir) / VECTORS_FILE)
        if "unit" not in tensors or "vectors" not in tensors:
            raise ArtifactError(f"{model_dir}/{VECTORS_FILE} lacks the vectors", "retrain or re-import the vectors")
        vocab = Vocab.load(model_dir)
        _check_matrices(model_dir, config, tensors["unit"], tensors["vectors"], len(vocab))
        spec = config.get("model", {}).get("subwords") or ""
        table = None
        if spec and subwords:
            from nlpkit.embeddings.subwords import Subwords

            table = Subwords.load(model_dir, spec)
        wv = cls(vocab, tensors["unit"], tensors["vectors"], config, table)
        wv._unchecked, wv._where = {"unit", "vectors"}, f"{model_dir}/{VECTORS_FILE}"
        return wv

    @classmethod
    def from_matrix(cls, words: Sequence[str], vectors: np.ndarray, counts: np.ndarray | None = None) -> WordVectors:
        vectors = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        counts = np.zeros(len(words), np.int64) if counts is None else np.asarray(counts, np.int64)
        return cls(Vocab(list(words), counts), vectors / np.maximum(norms, 1e-12), vectors)

    @property
    def unit(self) -> np.ndarray:
        return self._checked("unit", self._unit)

    @property
    def vectors(self) -> np.ndarray:
        return self._checked("vectors", self._vectors) if self._vectors is not None else self.unit

    def _checked(self, name: str, matrix: np.ndarray) -> np.ndarray:
        if name in self._unchecked:
            _check_finite(matrix, self._where)
            self._unchecked.discard(name)
        return matrix

    def _check_scores(self, scores: np.ndarray) -> None:
        """(Q, V) scores against every unit row: a NaN or infinity in row i makes column i non-finite."""
        if "unit" in self._unchecked:
            if not np.isfinite(scores).all():
                _non_finite(self._where)
            self._unchecked.discard("unit")

    @property
    def dim(self) -> int:
        return int(self._unit.shape[1])

    def __len__(self) -> int:
        return len(self.words)

    @property
    def index(self) -> dict[str, int]:
        return self.vocab.index

    def lookup(self, word: str) -> int | None:
        """Row of ``word``; a model trained with --lowercase is queried in lower case.

        With subwords, a word outside the vocabulary gets a row V + k built from its n-grams: it
        can be queried like any other, but is never an answer.
        """
        i = self.vocab.find(word)
        if i is None and self.lowercase and word.lower() != word:
            i = self.vocab.find(word.lower())
        if i is None and self.subwords is not None:
            i = self._subword_row(word.lower() if self.lowercase else word)
        return i

    def _subword_row(self, word: str) -> int | None:
        if word not in self._extra:
            raw = self.subwords.vector(word)
            if raw is None:
                return None
            self._extra[word] = len(self.words) + len(self._extra_raw)
            self._extra_raw.append(raw)
        return self._extra[word]

    def word(self, i: int) -> str:
        if i < len(self.words):
            return self.words[i]
        return next(w for w, j in self._extra.items() if j == i)

    def raw(self, ids: Sequence[int]) -> np.ndarray:
        """(Q, D) vectors as trained, for vocabulary rows and subword rows alike."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.empty((len(ids), self.dim), np.float32)
        known = ids < len(self.words)
        if known.any():
            out[known] = np.asarray(self.vectors[ids[known]])
        for q in np.nonzero(~known)[0]:
            out[q] = self._extra_raw[ids[q] - len(self.words)]
        return out

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """(Q, D) unit rows of ``ids`` (vocabulary or subword rows)."""
        ids = np.asarray(ids, dtype=np.int64)
        v = len(self.words)
        if not self._extra_raw or ids.size == 0 or ids.max() < v:
            return np.asarray(self._unit[ids])
        out = np.empty((len(ids), self.dim), np.float32)
        known = ids < v
        out[known] = np.asarray(self._unit[ids[known]])
        extra = self.raw(ids[~known])
        out[~known] = extra / np.maximum(np.linalg.norm(extra, axis=1, keepdims=True), 1e-12)
        return out

    def similar(self, word_ids: Sequence[int], topk: int = 10, include_inputs: bool = False) -> list[list[Neighbour]]:
        """Nearest neighbours by cosine of each word in ``word_ids``."""
        out = []
        ids = list(word_ids)
        for start in range(0, len(ids), QUERY_BATCH):
            batch = np.asarray(ids[start : start + QUERY_BATCH])
            with np.errstate(invalid="ignore", over="ignore"):  # a bad row is reported just below
                scores = self.rows(batch) @ self._unit.T  # (Q, V)
            self._check_scores(scores)
            exclude = None if include_inputs else batch[:, None]
            out.extend(self._top(scores, topk, exclude))
        return out

    def analogy(
        self, queries: Sequence[tuple[int, int, int]], method: str = "add", topk: int = 1, include_inputs: bool = False
    ) -> list[list[Neighbour]]:
        """Answers to "a is to b as c is to ?" for each (a, b, c) row triple."""
        out = []
        for start in range(0, len(queries), QUERY_BATCH):
            abc = np.asarray(queries[start : start + QUERY_BATCH], dtype=np.int64).reshape(-1, 3)
            with np.errstate(invalid="ignore", over="ignore"):
                scores = analogy_scores(self._unit, abc, method, rows=self.rows)  # (Q, V)
            self._check_scores(scores)
            out.extend(self._top(scores, topk, None if include_inputs else abc))
        return out

    def _top(self, scores: np.ndarray, topk: int, exclude: np.ndarray | None) -> list[list[Neighbour]]:
        if exclude is not None:
            known = exclude < scores.shape[1]  # subword rows are not candidates
            scores[np.nonzero(known)[0], exclude[known]] = -np.inf
        k = min(topk, scores.shape[1])
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]  # (Q, k) unordered
        rows = []
        for q in range(scores.shape[0]):
            order = _ranked(scores[q], part[q])
            rows.append([Neighbour(self.words[i], float(scores[q, i]), r + 1) for r, i in enumerate(order) if np.isfinite(scores[q, i])])
        return rows


def _ranked(scores: np.ndarray, part: np.ndarray) -> np.ndarray:
    """(k,) the k best rows of ``scores`` (V,), best first, given the k that argpartition chose.

    Equal scores go in row order, the lowest row first as argmax breaks ties; argpartition may have
    kept any of the rows tied at the k-th score, so they are chosen again here. The numpy-free
    one-off query (``blas_query``) breaks ties the same way, so both give the same words.
    """
    kth = scores[part].min()
    if np.count_nonzero(scores >= kth) > len(part):  # ties at the k-th score (a NaN k-th: none)
        above = np.flatnonzero(scores > kth)
        part = np.concatenate([above, np.flatnonzero(scores == kth)[: len(part) - len(above)]])
    return part[np.lexsort((part, -scores[part]))]


def analogy_scores(unit: np.ndarray, abc: np.ndarray, method: str = "add", rows: Any = None) -> np.ndarray:
    """(Q, V) scores of every word as the answer to each (a, b, c) query; higher is better.

    ``rows(ids)`` gives the query rows when some are not rows of ``unit`` (subword vectors).
    """
    a, b, c = (rows(abc[:, j]) if rows is not None else np.asarray(unit[abc[:, j]]) for j in range(3))  # (Q, D) each
    if method == "add":
        target = b - a + c
        target /= np.maximum(np.linalg.norm(target, axis=1, keepdims=True), 1e-12)
        return target @ unit.T
    if method == "mul":
        cos = [(1.0 + x @ unit.T) / 2.0 for x in (a, b, c)]  # (Q, V) each, in [0, 1]
        return cos[1] * cos[2] / (cos[0] + MUL_EPSILON)
    raise ValueError(f"unknown analogy method {method!r}")
