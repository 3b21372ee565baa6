"""Word-vector files other tools read and write (numpy only).

- ``word2vec``: text, header ``V D`` then ``word v1 ... vD`` per line (fastText ``.vec`` is this too);
- ``word2vec-bin``: header ``V D\\n`` then per word ``word `` + D little-endian float32 + ``\\n``
  (GoogleNews style; readers also accept the newline missing);
- ``glove``: text without a header.

Import detects the format: a first line of two integers is a word2vec header, and the bytes after
the first word of the next record tell text from binary; anything else is read as GloVe text.
Words that are not valid UTF-8 (old binary files cut multi-byte characters) fall back to Latin-1.
Text values are written with 6 decimals.
"""

from __future__ import annotations

import io
import logging
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from nlpkit.errors import ConfigError, CorpusError
from nlpkit.safeio import disk_full_guard, fix_mode

log = logging.getLogger("nlpkit")

EXPORT_FORMATS = ("word2vec", "word2vec-bin", "glove")
_HEADER = re.compile(rb"^\s*(\d+)\s+(\d+)\s*$")


def export_vectors(words: list[str], vectors: np.ndarray, path: str | Path, fmt: str = "word2vec") -> None:
    """Write ``vectors`` (V, D) in ``fmt`` to ``path`` atomically; ``-`` writes to standard output."""
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}", "use word2vec, word2vec-bin or glove")
    if str(path) == "-":
        _write(sys.stdout.buffer, words, vectors, fmt)
        sys.stdout.buffer.flush()
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with disk_full_guard(path, vectors.nbytes * 3, cleanup=False), os.fdopen(fd, "wb") as f:
            _write(f, words, vectors, fmt)
        fix_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write(f: BinaryIO, words: list[str], vectors: np.ndarray, fmt: str) -> None:
    vectors = np.asarray(vectors, dtype=np.float32)
    n, d = vectors.shape
    if fmt != "glove":
        f.write(f"{n} {d}\n".encode())
    if fmt == "word2vec-bin":
        for w, row in zip(words, vectors):
            f.write(w.encode("utf-8") + b" " + row.astype("<f4").tobytes() + b"\n")
        return
    line = " ".join(["%.6f"] * d) + "\n"
    buf = io.StringIO()
    for i, (w, row) in enumerate(zip(words, vectors.tolist())):
        buf.write(w + " " + line % tuple(row))
        if i % 4096 == 4095:
            f.write(buf.getvalue().encode("utf-8"))
            buf = io.StringIO()
    f.write(buf.getvalue().encode("utf-8"))


class _Decoder:
    """UTF-8 with a per-word Latin-1 fallback, counted."""

    def __init__(self) -> None:
        self.fallbacks = 0

    def __call__(self, raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.fallbacks += 1
            return raw.decode("latin-1")


def import_vectors(path: str | Path) -> tuple[list[str], np.ndarray, str]:
    """Read a word2vec text/binary, GloVe or fastText .vec file; returns (words, vectors, format)."""
    path = Path(path)
    if path.is_dir():
        raise CorpusError(f"{path} is a directory, not a vector file", "pass the .vec/.txt/.bin file itself (a model directory is used as -m)")
    if not path.is_file():
        raise CorpusError(f"no such file: {path}", "check the path")
    decode = _Decoder()
    with open(path, "rb") as f:
        first = f.readline()
        m = _HEADER.match(first)
        if m:
            n, d = int(m.group(1)), int(m.group(2))
            if n < 1 or d < 1:
                raise CorpusError(f"{path}: header says {n} words of dimension {d}", "the file is empty or damaged")
            if n * d > path.stat().st_size:  # every value takes at least one byte (four in binary)
                raise CorpusError(
                    f"{path}: implausible header ({n} words of dimension {d} cannot fit in {path.stat().st_size} bytes)",
                    "fix or remove the first line",
                )
            binary = _looks_binary(f, d)
            words, vectors = (_read_binary if binary else _read_text)(f, path, n, d, decode)
            fmt = "word2vec-bin" if binary else "word2vec"
        else:
            f.seek(0)
            words, vectors = _read_text(f, path, None, None, decode)
            fmt = "glove"
    if decode.fallbacks:
        log.warning("warning: %d word(s) were not valid UTF-8 and were read as Latin-1", decode.fallbacks)
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if len(bad):
        raise CorpusError(
            f"{path}: the vector of {words[bad[0]]!r} has NaN or infinite values ({len(bad)} word(s) in all)", "fix or re-export the file"
        )
    return words, vectors, fmt


def _looks_binary(f: BinaryIO, d: int) -> bool:
    """After a header: text when the first record is a word and ``d`` numbers on one line."""
    start = f.tell()
    head = f.read(64 * d + 4096)
    f.seek(start)
    line = head.lstrip(b"\r\n").split(b"\n", 1)[0]
    fields = line.split()
    if len(fields) < d + 1:
        return True
    try:
        [float(x) for x in fields[-d:]]
    except ValueError:
        return True
    return False


def _read_binary(f: BinaryIO, path: Path, n: int, d: int, decode: _Decoder) -> tuple[list[str], np.ndarray]:
    words: list[str] = []
    vectors = np.empty((n, d), dtype=np.float32)
    width = 4 * d
    data = f.read()
    pos = 0
    for i in range(n):
        while pos < len(data) and data[pos : pos + 1] in (b"\n", b"\r"):
            pos += 1  # the newline after the previous vector
        space = data.find(b" ", pos)
        if space < 0 or space + 1 + width > len(data):
            raise CorpusError(f"{path}: truncated binary file at word {i + 1} of {n}", "the file is incomplete")
        words.append(decode(data[pos:space]))
        vectors[i] = np.frombuffer(data, dtype="<f4", count=d, offset=space + 1)
        pos = space + 1 + width
    return words, vectors


def _read_text(f: BinaryIO, path: Path, n: int | None, d: int | None, decode: _Decoder) -> tuple[list[str], np.ndarray]:
    words: list[str] = []
    rows: list[np.ndarray] = []
    lineno = 1 if n is not None else 0
    for raw in f:
        lineno += 1
        raw = raw.rstrip(b"\r\n")
        if not raw.strip():
            continue
        if b"\x00" in raw:
            raise CorpusError(f"{path} is not a word-vector file (binary data at line {lineno})", "give word2vec, GloVe or fastText .vec")
        fields = raw.rstrip().split(b" ")
        if d is None:
            d = len(fields) - 1
            if d < 1:
                raise CorpusError(f"{path}:{lineno}: no vector values", "give word2vec, GloVe or fastText .vec")
        if len(fields) < d + 1:
            raise CorpusError(f"{path}:{lineno}: {len(fields) - 1} values, expected dimension {d}", "the file has inconsistent dimensions")
        word = b" ".join(fields[: len(fields) - d])  # GloVe has a few words with spaces
        try:
            rows.append(np.array(fields[len(fields) - d :], dtype=np.float32))
        except ValueError:
            raise CorpusError(f"{path}:{lineno}: values are not numbers", "give word2vec, GloVe or fastText .vec") from None
        words.append(decode(word))
    if not rows:
        raise CorpusError(f"{path} holds no vectors", "give word2vec, GloVe or fastText .vec")
    if n is not None and len(rows) != n:
        log.warning("warning: %s: header says %d words, found %d", path, n, len(rows))
    return words, np.vstack(rows)


def dedupe(words: list[str], vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Keep the first occurrence of each word (some published files repeat words)."""
    seen: dict[str, int] = {}
    keep = [seen.setdefault(w, i) == i for i, w in enumerate(words)]
    if all(keep):
        return words, vectors
    log.warning("warning: %d repeated word(s) dropped (the first occurrence is kept)", keep.count(False))
    mask = np.array(keep)
    return [w for w, k in zip(words, keep) if k], vectors[mask]


def import_model(path: str | Path, out_dir: str | Path, force: bool = False) -> dict[str, object]:
    """Import a vector file as a ``word_vectors`` artefact (word counts unknown: stored as 0).

    A fastText ``.bin`` model (recognised by its magic number) keeps its counts and n-gram table.
    """
    from nlpkit.embeddings.subwords import is_fasttext_bin
    from nlpkit.embeddings.training import publish_vectors
    from nlpkit.embeddings.vocab import Vocab
    from nlpkit.artifacts import check_output
    from nlpkit.embeddings.vectors import KIND
    from nlpkit.locking import output_lock

    check_output(out_dir, KIND, force)
    if is_fasttext_bin(path):
        return _import_fasttext(path, out_dir, force)
    words, vectors, fmt = import_vectors(path)
    words, vectors = dedupe(words, vectors)
    vocab = Vocab(words, np.zeros(len(words), dtype=np.int64))
    model = {"algo": "imported", "dim": int(vectors.shape[1]), "lowercase": False}
    with output_lock(out_dir):
        publish_vectors(Path(out_dir), vocab, vectors, model, {}, {"source": str(path), "format": fmt}, force=force)
    return {"words": len(words), "dim": int(vectors.shape[1]), "format": fmt}


def _import_fasttext(path: str | Path, out_dir: str | Path, force: bool) -> dict[str, object]:
    from nlpkit.embeddings.subwords import read_fasttext_bin
    from nlpkit.embeddings.training import publish_vectors
    from nlpkit.embeddings.vocab import Vocab
    from nlpkit.locking import output_lock

    ft = read_fasttext_bin(path)
    dim = int(ft.vectors.shape[1])
    subwords = f"{ft.minn}-{ft.maxn}" if ft.maxn else ""
    model = {"algo": "imported", "dim": dim, "lowercase": False, "subwords": subwords, "buckets": int(ft.ngrams.shape[0])}
    with output_lock(out_dir):
        publish_vectors(Path(out_dir), Vocab(ft.words, ft.counts), ft.vectors, model, {}, {"source": str(path), "format": "fasttext-bin"},
                        subwords=ft.ngrams if subwords else None, force=force)
    return {"words": len(ft.words), "dim": dim, "format": "fasttext-bin"}


def export_model(
    model_dir: str | Path, path: str | Path, fmt: str = "word2vec", *, words: list[str] | None = None, subwords: bool = True
) -> dict[str, object]:
    """Write the raw vectors of a model directory in ``fmt``.

    ``words``: only these, in this order; with a subword model a word outside the vocabulary gets
    its n-gram vector (``subwords=False``: it is left out, as any word without a vector).
    """
    from nlpkit.embeddings.vectors import WordVectors

    wv = WordVectors.load(model_dir, subwords=subwords)
    if words is None:
        export_vectors(wv.words, np.asarray(wv.vectors), path, fmt)
        return {"words": len(wv), "dim": wv.dim, "format": fmt, "missing": 0}
    found = [(w, i) for w, i in ((w, wv.lookup(w)) for w in dict.fromkeys(words)) if i is not None]
    vectors = wv.raw([i for _, i in found]) if found else np.zeros((0, wv.dim), np.float32)
    export_vectors([w for w, _ in found], vectors, path, fmt)
    return {"words": len(found), "dim": wv.dim, "format": fmt, "missing": len(set(words)) - len(found)}
