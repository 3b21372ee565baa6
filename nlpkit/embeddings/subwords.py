"""Character n-gram ("subword") vectors as in fastText (Bojanowski et al. 2017). numpy only.

A word is wrapped as ``<word>`` and cut into its character n-grams of ``minn``..``maxn``
characters (UTF-8 aware; the lone ``<`` and ``>`` are not n-grams). Each n-gram is hashed with
32-bit FNV-1a over its bytes exactly as fastText does (bytes sign-extended first, so non-ASCII
n-grams land in the same buckets as fastText's) into one of ``buckets`` rows.
A word's vector is the mean of its own row and its n-gram rows; a word outside the vocabulary
gets the mean of its n-gram rows, so misspellings and rare inflections still get a vector.

Stored beside ``vectors.safetensors`` (whose rows are the composed in-vocabulary vectors) as
``subwords.safetensors`` with ``ngrams`` (buckets, D); ``config.json`` model records
``subwords`` ("3-6") and ``buckets``.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from nlpkit.errors import ArtifactError, ConfigError

SUBWORDS_FILE = "subwords.safetensors"
_RANGE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")
_FNV_OFFSET, _FNV_PRIME = 2166136261, 16777619
FASTTEXT_MAGIC, FASTTEXT_VERSION = 793712314, 12


def parse_range(spec: str) -> tuple[int, int]:
    """``"3-6"`` -> (3, 6); empty -> (0, 0), no subwords."""
    if not spec:
        return 0, 0
    m = _RANGE.match(spec)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise ConfigError(f"bad --subwords {spec!r}", "give MIN-MAX character n-gram lengths, e.g. 3-6")
    return int(m.group(1)), int(m.group(2))


def fnv1a(data: bytes) -> int:
    """fastText's hash: 32-bit FNV-1a with each byte sign-extended to 32 bits first."""
    h = _FNV_OFFSET
    for byte in data:
        h = ((h ^ (byte | 0xFFFFFF00 if byte & 0x80 else byte)) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def char_ngrams(word: str, minn: int, maxn: int) -> list[bytes]:
    """The n-grams of ``<word>`` as fastText's computeSubwords lists them (UTF-8 bytes)."""
    data = ("<" + word + ">").encode("utf-8")
    starts = [i for i, b in enumerate(data) if b & 0xC0 != 0x80]  # first bytes of characters
    bounds = starts + [len(data)]
    out = []
    for k, i in enumerate(starts):
        for n in range(1, maxn + 1):
            if k + n >= len(bounds):
                break
            j = bounds[k + n]
            if n >= minn and not (n == 1 and (i == 0 or j == len(data))):
                out.append(data[i:j])
    return out


def ngram_rows(word: str, minn: int, maxn: int, buckets: int) -> list[int]:
    """Bucket of each n-gram of ``word`` (0..buckets-1)."""
    if maxn <= 0 or buckets <= 0:
        return []
    return [fnv1a(g) % buckets for g in char_ngrams(word, minn, maxn)]


def subword_table(words: list[str], minn: int, maxn: int, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR rows of the input matrix for each word: its own row w, then V + bucket of each n-gram.

    Returns ``ptr`` (V+1,) and ``idx`` (nnz,), both int64.
    """
    v = len(words)
    ptr = np.zeros(v + 1, np.int64)
    idx: list[int] = []
    for w, word in enumerate(words):
        idx.append(w)
        idx.extend(v + b for b in ngram_rows(word, minn, maxn, buckets))
        ptr[w + 1] = len(idx)
    return ptr, np.asarray(idx, np.int64)


def compose(rows: np.ndarray, ptr: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """(V, D) mean of each word's rows of the input matrix ``rows``."""
    sums = np.add.reduceat(rows[idx], ptr[:-1], axis=0)  # (V, D); every word has at least its own row
    return (sums / np.diff(ptr)[:, None]).astype(np.float32)


@dataclass
class Subwords:
    """The n-gram table of a model: vectors for words outside its vocabulary."""

    ngrams: np.ndarray  # (buckets, D) float32
    minn: int
    maxn: int

    def vector(self, word: str) -> np.ndarray | None:
        """Mean of ``word``'s n-gram rows; None when it has no n-gram."""
        rows = ngram_rows(word, self.minn, self.maxn, self.ngrams.shape[0])
        if not rows:
            return None
        return np.asarray(self.ngrams[rows], dtype=np.float32).mean(0)

    def save(self, directory: Path) -> None:
        from safetensors.numpy import save_file

        save_file({"ngrams": np.ascontiguousarray(self.ngrams, dtype=np.float32)}, str(Path(directory) / SUBWORDS_FILE))

    @classmethod
    def load(cls, directory: str | Path, spec: str) -> Subwords:
        from nlpkit.embeddings.vectors import mmap_safetensors

        path = Path(directory) / SUBWORDS_FILE
        if not path.exists():
            raise ArtifactError(f"{directory} was trained with --subwords {spec} but has no {SUBWORDS_FILE}", "retrain or re-import the model")
        minn, maxn = parse_range(spec)
        return cls(mmap_safetensors(path)["ngrams"], minn, maxn)


@dataclass
class FastTextModel:
    """What nlpkit keeps of a fastText ``.bin``: words, counts, input matrix and n-gram settings."""

    words: list[str]
    counts: np.ndarray  # (V,) int64
    vectors: np.ndarray  # (V, D) composed word vectors (mean of the word row and its n-gram rows)
    ngrams: np.ndarray  # (buckets, D)
    minn: int
    maxn: int


def _read(f: BinaryIO, fmt: str) -> tuple:
    size = struct.calcsize(fmt)
    data = f.read(size)
    if len(data) != size:
        raise ArtifactError("truncated fastText .bin file", "re-save the model with fastText")
    return struct.unpack(fmt, data)


def _read_word(f: BinaryIO) -> str:
    out = bytearray()
    while (b := f.read(1)) not in (b"\x00", b""):
        out += b
    return out.decode("utf-8", errors="replace")


def is_fasttext_bin(path: str | Path) -> bool:
    """True when the file starts with fastText's magic number."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return False
    return len(head) == 4 and struct.unpack("<i", head)[0] == FASTTEXT_MAGIC


def read_fasttext_bin(path: str | Path) -> FastTextModel:
    """Read a fastText model file (format version 12, not quantised; ``.ftz`` is refused)."""
    with open(path, "rb") as f:
        magic, version = _read(f, "<ii")
        if magic != FASTTEXT_MAGIC or version > FASTTEXT_VERSION:
            raise ArtifactError(f"{path} is not a fastText .bin model (version <= 12)", "give a .bin written by fastText")
        dim, _ws, _epoch, _min_count, _neg, _word_ngrams, _loss, _model, bucket, minn, maxn, _lr_update = _read(f, "<12i")
        _read(f, "<d")  # sampling threshold t
        size, nwords, _nlabels = _read(f, "<3i")
        _ntokens, prune_size = _read(f, "<2q")
        words, counts = [], []
        for _ in range(size):
            word = _read_word(f)
            count, kind = _read(f, "<qb")
            if kind == 0:
                words.append(word)
                counts.append(count)
        if prune_size > 0:
            raise ArtifactError(f"{path} is a pruned (quantised) model", "import the unquantised .bin")
        (quantised,) = _read(f, "<?")
        if quantised:
            raise ArtifactError(f"{path} is quantised (.ftz)", "import the unquantised .bin")
        rows, cols = _read(f, "<2q")
        matrix = np.fromfile(f, dtype="<f4", count=rows * cols).reshape(rows, cols)
    if matrix.shape != (nwords + bucket, dim) or len(words) != nwords:
        raise ArtifactError(f"{path}: input matrix {matrix.shape} does not match {nwords} words + {bucket} buckets", "re-save the model")
    minn, maxn = (minn, maxn) if maxn > 0 else (0, 0)
    ptr, idx = subword_table(words, minn, maxn, bucket)
    vectors = compose(matrix, ptr, idx)
    return FastTextModel(words, np.asarray(counts, np.int64), vectors, np.ascontiguousarray(matrix[nwords:]), minn, maxn)
