"""Writing ``ngram.bin`` order by order, in row chunks, straight into the file: memory bounded.

The bytes are those of ``NgramBinary.build(...).save(path)`` without quantisation (the tests compare
them), for tables that know each n-gram's suffix row (``NgramTables.suffix``, as the streamed
estimator gives). The file's layout is fixed by the n-gram counts alone, so the header is written
first and every array is then a memory map of its place in the file.

Bucketing is a stable counting sort: one pass counts the n-grams of each bucket, a second places
each chunk's n-grams at their bucket's fill pointer in row order (a compiled loop), which is the
order of ``binary.bucketed``'s stable argsort. Resident while order k is written: the fill pointers (4 bytes
per n-gram of order k), the slot of each k-gram (4 bytes) and of each (k-1)-gram (4 bytes).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
from numba import njit

from nlpkit.lm.binary import _ALIGN, MAGIC, buckets_for, field_dtypes, home, pack
from nlpkit.lm.kneser_ney import NgramTables
from nlpkit.lm.kneser_ney_stream import add_counts, chunks


def _layout(sizes: list[int], vocab: int) -> tuple[dict, list[tuple[str, int, str]], int]:
    """The header ``NgramBinary.save`` writes, the arrays in file order, and the data's start."""
    arrays = [("uni_logp", vocab, "<f4"), ("uni_backoff", vocab, "<f4")]
    order = len(sizes)
    for k in range(2, order + 1):
        dtypes = field_dtypes(k == order, 0)
        names = [name for name in dtypes if name != "offsets"] + ["offsets"]
        arrays += [(f"{name}_{k}", buckets_for(sizes[k - 1]) + 1 if name == "offsets" else sizes[k - 1], dtypes[name])
                   for name in names]
    header = {"format": 2, "vocab": vocab, "order": order, "quantize": 0, "books": [{} for _ in range(2, order + 1)],
              "arrays": {}}
    offset = 0
    for name, count, dtype in arrays:
        header["arrays"][name] = {"offset": offset, "count": count, "dtype": np.dtype(dtype).str}
        offset += -(-count * np.dtype(dtype).itemsize // _ALIGN) * _ALIGN
    header["size"] = offset
    head = json.dumps({k: v for k, v in header.items() if k != "size"}).encode()
    start = -(-(len(MAGIC) + 8 + len(head)) // _ALIGN) * _ALIGN
    return header, arrays, start


def write_binary_streamed(tables: NgramTables, path: str | Path, chunk: int = 1 << 22) -> None:
    """Write ``tables`` (with ``suffix``) as ``ngram.bin`` at ``path``, one chunk of rows at a time."""
    vocab, sizes = len(tables.words), [len(r) for r in tables.rows]
    header, arrays, start = _layout(sizes, vocab)
    size = header.pop("size")
    head = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(MAGIC + struct.pack("<Q", len(head)) + head)
        f.truncate(start + size)

    def mapped(name: str) -> np.ndarray:
        a = header["arrays"][name]
        if a["count"] == 0:
            return np.zeros(0, a["dtype"])
        return np.memmap(path, np.dtype(a["dtype"]), "r+", start + a["offset"], (a["count"],))

    uni = np.asarray(tables.rows[0][:, 0], np.int64)
    for name, values in (("uni_logp", tables.logp[0]), ("uni_backoff", tables.backoff[0])):
        out = mapped(name)
        out[:] = 0.0 if name == "uni_backoff" else -100.0
        out[uni] = values
        out.flush()
    lower_slot = uni.astype(np.uint32)  # slot of each unigram row: its word id
    for k in range(2, len(sizes) + 1):
        out = {name: mapped(f"{name}_{k}") for name in field_dtypes(k == len(sizes), 0)}
        lower_slot = _write_order(out, tables, k, lower_slot, vocab, chunk)
        for a in out.values():
            if isinstance(a, np.memmap):
                a.flush()


@njit(cache=True, nogil=True)
def _place(bucket: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """The slot of each n-gram of a chunk, in row order at its bucket's fill pointer (which advances)."""
    pos = np.empty(len(bucket), np.int64)
    for i in range(len(bucket)):
        b = bucket[i]
        pos[i] = fill[b]
        fill[b] += 1
    return pos


def _write_order(out: dict[str, np.ndarray], tables: NgramTables, k: int, lower_slot: np.ndarray, vocab: int,
                 chunk: int) -> np.ndarray:
    """Fill order k's arrays; returns the slot of each of its rows."""
    rows, suffix, n = tables.rows[k - 1], tables.suffix[k - 1], len(tables.rows[k - 1])
    top = "backoff" not in out
    buckets = buckets_for(n)
    mapped = [*out.values(), rows, suffix, tables.logp[k - 1], tables.backoff[k - 1]]

    def keys(a: int, b: int) -> np.ndarray:
        return pack(lower_slot[np.asarray(suffix[a:b], np.int64)], np.asarray(rows[a:b, 0]), vocab)

    fill = np.zeros(buckets, np.uint32)  # n-grams per bucket, then where the next one of each goes
    for a, b in chunks(n, chunk, mapped=mapped):
        add_counts(fill, home(keys(a, b), buckets))
    out["offsets"][0] = 0
    np.cumsum(fill, out=out["offsets"][1:])
    fill[:] = out["offsets"][:-1]
    slot = np.empty(n, np.uint32)
    for a, b in chunks(n, chunk, mapped=mapped):
        key = keys(a, b)
        pos = _place(home(key, buckets), fill)
        slot[a:b] = pos
        out["key"][pos] = key
        out["logp"][pos] = np.asarray(tables.logp[k - 1][a:b])
        if not top:
            out["backoff"][pos] = np.asarray(tables.backoff[k - 1][a:b])
    return slot
