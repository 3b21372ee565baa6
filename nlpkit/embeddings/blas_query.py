"""A few plain `analogy` (3CosAdd) and `similar` queries without importing numpy.

A one-off query costs about as much as importing numpy, while the work is one matrix-vector
product over the normalised matrix and a few arg-max scans. ``OneOffVectors`` does exactly that on
the memory-mapped ``unit`` tensor of ``vectors.safetensors`` with numpy's own OpenBLAS
(``openblas``), finds words through ``VocabText``, and answers through the same interface as
``vectors.WordVectors`` so ``queries`` builds the same records from it.

It answers only what it answers exactly as the numpy path (``vectors.WordVectors``) does, up to
float rounding of the scores; otherwise it raises ``Unsuitable`` and the caller takes the numpy
path, which then also reports any error in its own words:
- the same words: the scores are the same float32 products (an analogy's target is rounded as
  numpy rounds it, and numpy's ``@`` makes the same sgemv or sgemm call), ranked highest first,
  ties to the lowest row as ``vectors._ranked`` breaks them;
- NaN or infinity in a score (a damaged unit row; numpy reports it), no OpenBLAS, a model with a
  subword table (its loader and out-of-vocabulary rows need numpy), 3CosMul, ``include_inputs``,
  or answers that would need a score <= 0 (the scan below only ranks positive scores).
"""

from __future__ import annotations

import ctypes
import math
import os
import struct
import weakref
from collections.abc import Iterable, Sequence
from ctypes import c_float, c_int, c_long, c_size_t, c_void_p
from pathlib import Path

TYPE_CHECKING = False  # typing costs ~3 ms to import: a one-off query skips it
if TYPE_CHECKING:
    from typing import Any

from nlpkit.embeddings.neighbour import Neighbour
from nlpkit.embeddings.openblas import NO_TRANS, ROW_MAJOR, TRANS, OpenBlas, load_openblas
from nlpkit.embeddings.vector_files import FORMAT_VERSION, KIND, VECTORS_FILE, TensorSpan, tensor_spans
from nlpkit.embeddings.vocab_text import VocabText
from nlpkit.errors import NlpkitError

# Negative scores larger in size than the best positive one left, dropped before giving up: each
# costs one scan of the scores; real queries meet a handful, random vectors about as many as answers.
MAX_SKIPS = 256
_F32 = struct.Struct("f")


class Unsuitable(Exception):
    """Not a query this path answers exactly as the numpy path: take that one."""


class OneOffVectors:
    """The ``unit`` rows (V, D) of one model, mapped read-only, with its vocabulary; see the module doc."""

    def __init__(self, blas: OpenBlas, vocab: VocabText, path: Path, unit: TensorSpan, lowercase: bool) -> None:
        self._blas = blas
        self.vocab = vocab
        self._path, self._unit = path, unit
        self.shape = (unit.shape[0], unit.shape[1])
        self.lowercase = lowercase
        self._address: int | None = None

    @property
    def _matrix(self) -> int:
        """Address of row 0 of the (V, D) float32 unit matrix, mapped at the first query (a caller
        that then hands the queries to the numpy path has mapped nothing)."""
        if self._address is None:
            self._address = _map(self, self._path, self._unit.offset, self._unit.nbytes)
        return self._address

    @classmethod
    def open(cls, model_dir: str | Path, *, subwords: bool = True) -> OneOffVectors:
        blas = load_openblas()
        if blas is None:
            raise Unsuitable("numpy's OpenBLAS is not at hand")
        try:
            from nlpkit.config_file import read_config

            config = read_config(model_dir, {KIND: FORMAT_VERSION})
            path = Path(model_dir) / VECTORS_FILE
            spans = tensor_spans(path)
        except NlpkitError:
            raise Unsuitable("the numpy path reports what is wrong with the model") from None
        model = config.get("model", {})
        unit, vectors = spans.get("unit"), spans.get("vectors")
        if not isinstance(model, dict) or (subwords and model.get("subwords")) or unit is None or vectors is None:
            raise Unsuitable("a subword model, or one the numpy path refuses")
        dim = model.get("dim")
        if len(unit.shape) != 2 or unit.shape != vectors.shape or (isinstance(dim, int) and unit.shape[1] != dim):
            raise Unsuitable("shapes the numpy path refuses")
        if 0 in unit.shape or unit.offset % 4:
            raise Unsuitable("an empty or unaligned matrix")
        vocab = VocabText.read(model_dir)
        if vocab is None or len(vocab) != unit.shape[0]:
            raise Unsuitable("a vocabulary the numpy path reads otherwise, or refuses")
        return cls(blas, vocab, path, unit, bool(model.get("lowercase", False)))

    def lookup(self, word: str) -> int | None:
        """Row of ``word``, as ``WordVectors.lookup`` finds it in a model without subwords."""
        i = self.vocab.find(word)
        if i is None and self.lowercase and word.lower() != word:
            i = self.vocab.find(word.lower())
        return i

    def word(self, i: int) -> str:
        return self.vocab.word(i)

    def similar(self, word_ids: Sequence[int], topk: int = 10, include_inputs: bool = False) -> list[list[Neighbour]]:
        """Nearest neighbours by cosine of each word in ``word_ids``, the word itself left out."""
        if include_inputs:
            raise Unsuitable("include_inputs")
        ids = list(word_ids)
        return [self._top(y, topk, {i}) for y, i in zip(self._scores([self._row(i) for i in ids]), ids)]

    def analogy(
        self, queries: Sequence[tuple[int, int, int]], method: str = "add", topk: int = 1, include_inputs: bool = False
    ) -> list[list[Neighbour]]:
        """3CosAdd answers to "a is to b as c is to ?" for each (a, b, c), the three left out."""
        if method != "add" or include_inputs:
            raise Unsuitable(f"method {method}, include_inputs {include_inputs}")
        abc = list(queries)
        targets = [add_target(self._row(a), self._row(b), self._row(c)) for a, b, c in abc]
        return [self._top(y, topk, set(q)) for y, q in zip(self._scores(targets), abc)]

    def _row(self, i: int) -> list[float]:
        d = self.shape[1]
        return (c_float * d).from_address(self._matrix + 4 * d * i)[:]  # (D,) exact float32 values

    def _scores(self, xs: list[list[float]]) -> list[Any]:
        """(Q, V) the cosine of every unit row with each of ``xs`` (Q, D), unit vectors.

        One pass over the matrix as numpy's ``@`` makes it (so the scores are numpy's to the bit):
        sgemv for one query, sgemm for several. Each row of the result is a (V,) float array.
        """
        (v, d), q = self.shape, len(xs)
        if not q:
            return []
        x = (c_float * (q * d))(*(value for row in xs for value in row))
        y = (c_float * (q * v))()
        if q == 1:
            self._blas.sgemv(ROW_MAJOR, NO_TRANS, v, d, 1.0, self._matrix, d, x, 1, 0.0, y, 1)  # (V,) = (V, D) @ (D,)
        else:
            self._blas.sgemm(ROW_MAJOR, NO_TRANS, TRANS, q, v, d, 1.0, x, d, self._matrix, d, 0.0, y, v)  # (Q, V) = (Q, D) @ (V, D).T
        if not math.isfinite(self._blas.sasum(q * v, y, 1)):  # a NaN or infinity in a unit row shows in its scores
            raise Unsuitable("a non-finite score: the numpy path reports the damaged matrix")
        return [(c_float * v).from_buffer(y, 4 * v * j) for j in range(q)]

    def _top(self, y: Any, topk: int, exclude: set[int]) -> list[Neighbour]:
        """The ``topk`` best rows of the scores ``y`` (V,) outside ``exclude``; ``y`` is used up.

        isamax gives the first row of the largest |score|. A positive one is the best score left
        (ties: the lowest row) and is zeroed once taken; a negative one is no answer but hides the
        positive ones, so it is zeroed too. When only zeros are left the answers are complete only
        if every row was taken or excluded; otherwise the numpy path would go on with scores <= 0.
        """
        v = self.shape[0]
        for i in exclude:
            y[i] = 0.0
        found: list[tuple[int, float]] = []  # (row, score), best first
        skips = 0
        while len(found) < topk:
            i = self._blas.isamax(v, y, 1)
            score = y[i]
            y[i] = 0.0
            if score > 0:
                found.append((i, score))
            elif score < 0:
                skips += 1
                if skips > MAX_SKIPS:
                    raise Unsuitable("too many large negative scores")
            elif len(found) + len(exclude) < v:
                raise Unsuitable("answers with scores <= 0")
            else:
                break  # every row taken or excluded: the numpy path gives as few
        words = self.vocab.words([i for i, _ in found])
        return [Neighbour(w, score, rank) for rank, (w, (_, score)) in enumerate(zip(words, found), 1)]


def add_target(a: list[float], b: list[float], c: list[float]) -> list[float]:
    """(D,) b - a + c over its norm, each float32 operation rounded as numpy's float32 arrays round it.

    A float32 result computed in double and rounded once is the float32 result (for + - * / sqrt
    double has more than twice the bits), and the norm adds the squares in numpy's pairwise order,
    so the target equals the numpy path's and so do the scores.
    """
    t = _f32s(x - y for x, y in zip(b, a))
    t = _f32s(x + y for x, y in zip(t, c))
    norm = _f32(math.sqrt(_pairwise_sum(_f32s(x * x for x in t))))
    norm = max(norm, _f32(1e-12))  # numpy: np.maximum(norm, 1e-12) in float32
    return _f32s(x / norm for x in t)


def _pairwise_sum(x: list[float]) -> float:
    """float32 sum in numpy's order (``pairwise_sum``: eight running sums in blocks of <= 128, halves above)."""
    n = len(x)
    if n < 8:
        total = 0.0
        for v in x:
            total = _f32(total + v)
        return total
    if n <= 128:
        r = x[:8]
        end = n - n % 8
        for i in range(8, end, 8):
            r = [_f32(r[j] + x[i + j]) for j in range(8)]
        total = _f32(_f32(_f32(r[0] + r[1]) + _f32(r[2] + r[3])) + _f32(_f32(r[4] + r[5]) + _f32(r[6] + r[7])))
        for v in x[end:]:
            total = _f32(total + v)
        return total
    half = n // 2
    half -= half % 8
    return _f32(_pairwise_sum(x[:half]) + _pairwise_sum(x[half:]))


def _f32(x: float) -> float:
    return _F32.unpack(_F32.pack(x))[0]


def _f32s(xs: Iterable[float]) -> list[float]:
    return [_f32(x) for x in xs]


_libc: list[Any] = []


def _map(owner: object, path: Path, offset: int, nbytes: int) -> int:
    """Address of the ``nbytes`` at ``offset`` in ``path``, mapped read-only until ``owner`` is collected.

    Only the pages of those bytes are mapped (not the raw ``vectors`` tensor beside them), all in
    one call (MAP_POPULATE) rather than faulted in 4 KiB at a time while the product reads them.
    libc's mmap is called because Python's mmap hides the address unless the mapping is writable
    (and a writable private mapping is copied when populated).
    """
    import mmap

    if not _libc:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype, libc.mmap.argtypes = c_void_p, (c_void_p, c_size_t, c_int, c_int, c_int, c_long)
        libc.munmap.restype, libc.munmap.argtypes = c_int, (c_void_p, c_size_t)
        _libc.append(libc)
    libc = _libc[0]
    start = offset - offset % mmap.ALLOCATIONGRANULARITY  # mmap's offset: a multiple of the page size
    length = offset + nbytes - start
    flags = mmap.MAP_PRIVATE | getattr(mmap, "MAP_POPULATE", 0)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise Unsuitable(f"cannot open {path}: {exc}") from None
    try:
        addr = libc.mmap(None, length, mmap.PROT_READ, flags, fd, start)
    finally:
        os.close(fd)
    if addr is None or addr == c_void_p(-1).value:
        raise Unsuitable(f"cannot map {path}: {os.strerror(ctypes.get_errno())}")
    weakref.finalize(owner, libc.munmap, addr, length)
    return addr + offset - start
