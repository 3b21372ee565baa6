"""ARPA back-off language model files: write ours, read anyone's (lmplz, SRILM, ...).

Format (Doug Paul's ARPA format as KenLM and SRILM write it)::

    \\data\\
    ngram 1=N1
    ...
    \\1-grams:
    log10p<TAB>w<TAB>log10backoff      (the backoff column is absent for the highest order)
    ...
    \\end\\

Reading accepts any whitespace between fields, a missing backoff (= 0), text before ``\\data\\``
and ``.gz``/``.bz2``/``.xz`` files. A file without ``<unk>`` gets one with log10 p = -100, as KenLM
does. Rows whose words are not all unigrams are an error.
"""

from __future__ import annotations

import bz2
import gzip
import logging
import lzma
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

from nlpkit.errors import ArtifactError
from nlpkit.lm.kneser_ney import NgramTables
from nlpkit.lm.ngram_count import BOS, EOS, UNK

log = logging.getLogger("nlpkit")

_BLOCK = 200_000


def _f32(values: np.ndarray) -> list[float]:
    """The float32 values the model stores, as Python floats: ``%.9g`` of them reads back exactly."""
    return np.asarray(values, np.float32).astype(np.float64).tolist()


def _fmt_block(names: list[str], logp: np.ndarray, backoff: np.ndarray | None) -> str:
    lp = _f32(logp)
    if backoff is None:
        return "".join(f"{p:.9g}\t{w}\n" for p, w in zip(lp, names))
    return "".join(f"{p:.9g}\t{w}\t{b:.9g}\n" for p, w, b in zip(lp, names, _f32(backoff)))


def write_arpa(tables: NgramTables, path: str | Path) -> None:
    """Write ``tables`` as an ARPA file.

    Each probability is rounded to float32 (what KenLM and ``ngram.bin`` hold) and written with 9
    significant digits, enough for every float32 to read back exactly: scores from this file agree
    with ours to float32 precision, not just to lmplz's 7 digits.
    """
    from nlpkit.lm.ngram_spill import release  # not at import: lm score reads ARPA files and starts cold

    words = np.array(tables.words, dtype=object)
    n = tables.order
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\\data\\\n")
        for k in range(n):
            f.write(f"ngram {k + 1}={len(tables.rows[k])}\n")
        for k in range(n):
            f.write(f"\n\\{k + 1}-grams:\n")
            rows = tables.rows[k]
            for start in range(0, len(rows), _BLOCK):
                block = rows[start : start + _BLOCK].astype(np.int64)
                names = words[block[:, 0]]
                for c in range(1, k + 1):
                    names = names + " " + words[block[:, c]]
                bo = tables.backoff[k][start : start + _BLOCK] if k + 1 < n else None
                f.write(_fmt_block(names.tolist(), tables.logp[k][start : start + _BLOCK], bo))
                release([rows, tables.logp[k], tables.backoff[k]])  # memory-mapped tables: keep RSS to a block
        f.write("\n\\end\\\n")


def _open_text(path: Path) -> IO[str]:
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(path.suffix, open)
    return opener(path, "rt", encoding="utf-8", errors="replace")


def _bad(path: Path, lineno: int, what: str) -> ArtifactError:
    return ArtifactError(f"{path}:{lineno}: not a valid ARPA file ({what})", "pass an ARPA file such as lmplz writes")


def _header(lines: Iterator[tuple[int, str]], path: Path) -> list[int]:
    for lineno, line in lines:
        if line.strip() == "\\data\\":
            break
    else:
        raise _bad(path, 0, "no \\data\\ header")
    sizes: list[int] = []
    for lineno, line in lines:
        s = line.strip()
        if not s:
            if sizes:
                return sizes
            continue
        m = re.fullmatch(r"ngram\s+(\d+)\s*=\s*(\d+)", s)
        if not m or int(m.group(1)) != len(sizes) + 1:
            raise _bad(path, lineno, f"expected 'ngram {len(sizes) + 1}=COUNT', got {s[:40]!r}")
        sizes.append(int(m.group(2)))
    raise _bad(path, 0, "the file ends inside the header")


def _section(lines: Iterator[tuple[int, str]], path: Path, k: int, size: int):
    """Read one ``\\k-grams:`` section; returns (rows or words, logp, backoff)."""
    for lineno, line in lines:
        s = line.strip()
        if not s:
            continue
        if s != f"\\{k}-grams:":
            raise _bad(path, lineno, f"expected \\{k}-grams:, got {s[:40]!r}")
        break
    else:
        raise _bad(path, 0, f"missing \\{k}-grams: section")
    logp = np.empty(size)
    backoff = np.zeros(size)
    grams: list[list[str]] = []
    for i in range(size):
        lineno, line = next(lines, (0, ""))
        parts = line.split()
        if len(parts) not in (k + 1, k + 2):
            raise _bad(path, lineno, f"a {k}-gram line needs {k + 1} or {k + 2} fields")
        try:
            logp[i] = float(parts[0])
            if len(parts) == k + 2:
                backoff[i] = float(parts[-1])
        except ValueError:
            raise _bad(path, lineno, "a probability or backoff is not a number") from None
        grams.append(parts[1 : k + 1])
    _check_numbers(path, k, grams, logp, backoff)
    return grams, logp, backoff


def _check_numbers(path: Path, k: int, grams: list[list[str]], logp: np.ndarray, backoff: np.ndarray) -> None:
    """log10 probabilities are finite and at most 0; backoffs are finite (a NaN would poison every score)."""
    bad = np.flatnonzero(~np.isfinite(logp) | (logp > 1e-6) | ~np.isfinite(backoff))
    if len(bad):
        i = int(bad[0])
        raise ArtifactError(
            f"{path}: the {k}-gram {' '.join(grams[i])!r} has log10 p {logp[i]:g} / backoff {backoff[i]:g} "
            f"({len(bad)} bad {k}-gram(s); probabilities must be finite and at most 1)",
            "fix the file or re-estimate the model",
        )


def _check_sizes(path: Path, sizes: list[int]) -> None:
    """An n-gram line takes at least 4 bytes; gzip compresses at most about 1000:1."""
    limit = path.stat().st_size * (1100 if path.suffix in (".gz", ".bz2", ".xz") else 1)
    if 4 * sum(sizes) > limit:
        raise ArtifactError(
            f"{path}: implausible ARPA header (it claims {sum(sizes)} n-grams, more than a file of {path.stat().st_size} bytes can hold)",
            "fix the ngram counts in the \\data\\ header",
        )


def read_arpa(path: str | Path) -> NgramTables:
    """Parse an ARPA file into tables whose word ids follow the unigram order."""
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path} does not exist or is not a file", "pass an ARPA file")
    try:
        return _read_arpa(path)
    except (EOFError, OSError, lzma.LZMAError, zlib.error) as exc:
        raise ArtifactError(f"cannot read {path}: {str(exc) or type(exc).__name__} (truncated or damaged file?)", "pass a complete ARPA file") from None


def _read_arpa(path: Path) -> NgramTables:
    with _open_text(path) as f:
        lines = enumerate((line.rstrip("\n") for line in f), start=1)
        sizes = _header(lines, path)
        _check_sizes(path, sizes)
        order = len(sizes)
        words, logp1, bo1 = _section(lines, path, 1, sizes[0])
        vocab = [g[0] for g in words]
        index = {w: i for i, w in enumerate(vocab)}
        if len(index) != len(vocab):
            raise _bad(path, 0, "a unigram appears twice")
        rows, logp, backoff = [np.arange(len(vocab), dtype=np.uint32).reshape(-1, 1)], [logp1], [bo1]
        for k in range(2, order + 1):
            grams, lp, bo = _section(lines, path, k, sizes[k - 1])
            try:
                r = np.array([[index[w] for w in g] for g in grams], dtype=np.uint32).reshape(-1, k)
            except KeyError as exc:
                raise _bad(path, 0, f"{k}-gram word {exc.args[0]!r} is not a unigram") from None
            rows.append(r)
            logp.append(lp)
            backoff.append(bo)
        for lineno, line in lines:
            if line.strip():
                if line.strip() != "\\end\\":
                    raise _bad(path, lineno, f"expected \\end\\, got {line.strip()[:40]!r}")
                break
        else:
            raise _bad(path, 0, "no \\end\\ marker (truncated file?)")
    return _with_specials(NgramTables(vocab, rows, logp, backoff), path)


def _with_specials(tables: NgramTables, path: Path) -> NgramTables:
    index = {w: i for i, w in enumerate(tables.words)}
    if UNK not in index:
        log.warning("warning: %s has no <unk>; using log10 p(<unk>) = -100 as KenLM does", path)
        tables.words.append(UNK)
        index[UNK] = len(tables.words) - 1
        tables.rows[0] = np.arange(len(tables.words), dtype=np.uint32).reshape(-1, 1)
        tables.logp[0] = np.append(tables.logp[0], -100.0)
        tables.backoff[0] = np.append(tables.backoff[0], 0.0)
    for special in (BOS, EOS):
        if special not in index:
            raise ArtifactError(f"{path} has no {special} unigram", "an ARPA language model needs <s> and </s>")
    tables.unk_id, tables.bos_id, tables.eos_id = index[UNK], index[BOS], index[EOS]
    return tables
