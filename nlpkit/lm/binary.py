"""The compact n-gram file ``ngram.bin``: exact packed keys in hashed buckets, memory-mapped.

Unigrams are arrays indexed by word id (``uni_logp``, ``uni_backoff``, float32). A k-gram
``w1 .. wk`` (k >= 2) is identified by the index of its suffix ``w2 .. wk`` one order down and its
first word::

    key(w1 .. wk) = index_{k-1}(w2 .. wk) * V + w1 + 1        index_1(w) = w

so keys are exact (no hash collisions, unlike KenLM's probing model) and every n-gram can be turned
back into words (``lm export --format arpa``). A lookup extends a match leftwards one word at a
time, which is what the back-off rule needs.

Order k is stored as parallel arrays ``key`` (uint64), ``logp`` and ``backoff`` (float32; no backoff
at the highest order), sorted by bucket: a key's bucket comes from Fibonacci hashing, there is one
bucket per 2 n-grams, and ``offsets`` (uint32, buckets + 1) says where each bucket starts. A lookup
reads one offset pair and scans its bucket (2 entries on average, hit or miss: unlike linear
probing, a miss never walks a long cluster). Every array is contiguous and aligned, so numpy
gathers from the memory map directly, never copying a table. Bytes per n-gram: 8 + 4 + 4 + 2 = 18
(14 at the highest order; 12 and 11 with ``--quantize 8``), against 24 (18) for KenLM's probing
binary (16-byte entries, 1.5 slots per n-gram).

``--quantize 8`` stores each order's logp and backoff as one byte, an index into a 256-entry
codebook per order (equal-count bins, each centre the mean of its bin; backoff 0 stays exact).
Unigrams are never quantised.

File layout: ``MAGIC``, a little-endian uint64 header length, a JSON header (sizes, offsets,
dtypes, codebooks), then every array at a 64-byte aligned offset. Loading maps the file and reads
only the header: a query touches the pages of the buckets it reads and nothing else.
"""

from __future__ import annotations

import json
import mmap
import struct
from pathlib import Path

import numpy as np

from nlpkit.errors import ArtifactError

MAGIC = b"NLPKNG\x00\x03"
PER_BUCKET = 2  # n-grams per bucket on average
_ALIGN = 64
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_32 = np.uint64(32)


def home(keys: np.ndarray, capacity: int) -> np.ndarray:
    """Bucket of each key: Fibonacci hashing, then the top 32 bits scaled to [0, capacity)
    by a multiply and a shift (no division; capacity < 2**32)."""
    h = keys * _GOLDEN
    h >>= _32
    h *= np.uint64(capacity)
    h >>= _32
    return h.view(np.int64)  # < capacity < 2**32: the same bits as an index


def pack(suffix_slot: np.ndarray, word: np.ndarray, vocab: int) -> np.ndarray:
    return suffix_slot.astype(np.uint64) * np.uint64(vocab) + word.astype(np.uint64) + np.uint64(1)


def field_dtypes(top: bool, quantize: int) -> dict[str, str]:
    value = "u1" if quantize else "<f4"
    return {"key": "<u8", "offsets": "<u4", "logp": value, **({} if top else {"backoff": value})}


def buckets_for(n: int) -> int:
    if n >= 2**32:
        raise ArtifactError(f"{n} n-grams of one order are more than this format holds", "prune the model")
    return max(1, -(-n // PER_BUCKET))


def bucketed(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keys sorted by bucket, the bucket offsets, and the index of each input key in the sorted array."""
    buckets = buckets_for(len(keys))
    b = home(keys, buckets)
    order = np.argsort(b, kind="stable")
    offsets = np.zeros(buckets + 1, np.uint32)
    np.cumsum(np.bincount(b, minlength=buckets), out=offsets[1:])
    index = np.empty(len(keys), np.int64)
    index[order] = np.arange(len(keys))
    return keys[order], offsets, index


def lookup(table_keys: np.ndarray, offsets: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Index of each key in the bucketed ``table_keys``, or -1 where absent."""
    b = home(keys, len(offsets) - 1)
    cur = offsets.take(b).astype(np.int64)
    end = offsets.take(b + 1).astype(np.int64)
    result = np.full(len(keys), -1, np.int64)
    idx = np.flatnonzero(cur < end)
    cur, end, want = cur.take(idx), end.take(idx), keys.take(idx)
    while len(idx):  # round j compares the j-th key of every bucket still being scanned
        hit = table_keys.take(cur) == want
        found = np.flatnonzero(hit)
        result[idx.take(found)] = cur.take(found)
        cur += 1
        go_on = np.flatnonzero(~hit & (cur < end))  # compact with index arrays: faster than masks
        idx, cur, end, want = idx.take(go_on), cur.take(go_on), end.take(go_on), want.take(go_on)
    return result


def codebook(values: np.ndarray, keep_zero: bool) -> tuple[np.ndarray, np.ndarray]:
    """256 centres (equal-count bins, mean of each) and each value's code; 0.0 exact if ``keep_zero``."""
    values = np.asarray(values, np.float64)
    rest = values[values != 0.0] if keep_zero else values
    n_bins = 255 if keep_zero else 256
    centres = np.zeros(0)
    if len(rest):
        ordered = np.sort(rest)
        edges = np.linspace(0, len(ordered), n_bins + 1).astype(np.int64)
        centres = np.array([ordered[a:b].mean() for a, b in zip(edges[:-1], edges[1:]) if b > a])
    book = np.concatenate([[0.0], centres]) if keep_zero else centres
    book = np.unique(book) if len(book) else np.zeros(1)
    # nearest centre: between two neighbours the midpoint decides
    mids = (book[1:] + book[:-1]) / 2
    codes = np.searchsorted(mids, values).astype(np.uint8)
    if keep_zero:
        codes[values == 0.0] = int(np.searchsorted(book, 0.0))
    return book.astype(np.float32), codes


class NgramBinary:
    """The tables of one model; arrays are memory-mapped views (or in-memory ones before saving)."""

    def __init__(self, vocab: int, uni_logp: np.ndarray, uni_backoff: np.ndarray, tables: list[np.ndarray],
                 books: list[dict[str, np.ndarray]], quantize: int = 0, source: object = None) -> None:
        self.vocab, self.quantize = vocab, quantize
        self.uni_logp, self.uni_backoff = uni_logp, uni_backoff
        self.tables, self.books = tables, books  # tables[k-2] holds order k
        self.keys = [t["key"] for t in tables]  # tables[k-2]: {"key", "offsets", "logp"[, "backoff"]} arrays
        self._source = source  # keeps the mmap alive
        self.order = len(tables) + 1

    def find(self, k: int, suffix_slot: np.ndarray, word: np.ndarray) -> np.ndarray:
        """Index of (word, *suffix) at order k >= 2 given the suffix's index at order k-1; -1 if absent."""
        t = self.tables[k - 2]
        return lookup(t["key"], t["offsets"], pack(suffix_slot, word, self.vocab))

    def find_packed(self, k: int, suffix_slot: np.ndarray, word_key: np.ndarray) -> np.ndarray:
        """``find`` with the word part of the key already computed (``word + 1`` as uint64)."""
        keys = suffix_slot.astype(np.uint64)
        keys *= np.uint64(self.vocab)
        keys += word_key
        t = self.tables[k - 2]
        return lookup(t["key"], t["offsets"], keys)

    def value(self, k: int, name: str, slot: np.ndarray) -> np.ndarray:
        raw = self.tables[k - 2][name][slot]
        return self.books[k - 2][name][raw] if self.quantize else raw

    # -- building ------------------------------------------------------------------------------
    @classmethod
    def build(cls, rows: list[np.ndarray], logp: list[np.ndarray], backoff: list[np.ndarray], vocab: int,
              quantize: int = 0, suffix: list | None = None) -> NgramBinary:
        """From lexicographically sorted rows of word ids per order (``NgramTables``' layout).

        ``suffix[k-1]``, when given, is the row at order k-1 of each k-gram's suffix (``NgramTables.suffix``).
        """
        from nlpkit.lm.ngram_count import lookup_rows

        if quantize not in (0, 8):
            raise ArtifactError(f"--quantize {quantize} is not supported", "use 8, or leave it out")
        order = len(rows)
        uni_logp = np.full(vocab, -100.0, np.float32)
        uni_backoff = np.zeros(vocab, np.float32)
        uni_logp[rows[0][:, 0]], uni_backoff[rows[0][:, 0]] = logp[0], backoff[0]
        slot_of_row = rows[0][:, 0].astype(np.int64)
        tables, books = [], []
        for k in range(2, order + 1):
            r = rows[k - 1]
            if suffix is not None:
                suffix_row = np.asarray(suffix[k - 1], np.int64)
            else:
                suffix_row = lookup_rows(rows[k - 2], r[:, 1:]) if k > 2 else r[:, 1].astype(np.int64)
            if k > 2 and (suffix_row < 0).any():
                raise ArtifactError(f"the model's {k}-grams are not suffix-closed (a {k}-gram lacks its suffix)",
                                    "KenLM and nlpkit write suffix-closed ARPA files; rebuild the model with lmplz")
            keys = pack(slot_of_row[suffix_row], r[:, 0], vocab)
            table_keys, offsets, slot = bucketed(keys)
            table, book = cls._records(table_keys, slot, logp[k - 1], backoff[k - 1], k == order, quantize)
            table["offsets"] = offsets
            tables.append(table)
            books.append(book)
            slot_of_row = slot
        return cls(vocab, uni_logp, uni_backoff, tables, books, quantize)

    @staticmethod
    def _records(table_keys, slot, logp, backoff, top: bool, quantize: int):  # noqa: ANN001, ANN205
        table = {name: np.zeros(len(table_keys), dtype) for name, dtype in field_dtypes(top, quantize).items()
                 if name != "offsets"}
        table["key"] = table_keys
        book = {}
        for name, values in [("logp", logp)] + ([] if top else [("backoff", backoff)]):
            if quantize:
                book[name], codes = codebook(values, keep_zero=name == "backoff")
                table[name][slot] = codes
            else:
                table[name][slot] = values
        return table, book

    # -- the file ------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        arrays = [("uni_logp", self.uni_logp), ("uni_backoff", self.uni_backoff)]
        arrays += [(f"{name}_{k}", a) for k, t in enumerate(self.tables, start=2) for name, a in t.items()]
        header = {"format": 2, "vocab": self.vocab, "order": self.order, "quantize": self.quantize,
                  "books": [{n: b.tolist() for n, b in book.items()} for book in self.books], "arrays": {}}
        offset = 0
        for name, a in arrays:
            header["arrays"][name] = {"offset": offset, "count": len(a), "dtype": a.dtype.str}
            offset += -(-a.nbytes // _ALIGN) * _ALIGN
        head = json.dumps(header).encode()
        start = -(-(len(MAGIC) + 8 + len(head)) // _ALIGN) * _ALIGN
        with open(path, "wb") as f:
            f.write(MAGIC + struct.pack("<Q", len(head)) + head)
            for name, a in arrays:
                f.seek(start + header["arrays"][name]["offset"])
                np.ascontiguousarray(a).tofile(f)
            f.truncate(start + offset)

    @classmethod
    def load(cls, path: str | Path) -> NgramBinary:
        path = Path(path)
        with open(path, "rb") as f:
            if f.read(len(MAGIC)) != MAGIC:
                raise ArtifactError(f"{path} is not an nlpkit n-gram binary", "retrain or re-import the model")
            (size,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(size))
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        start = -(-(len(MAGIC) + 8 + size) // _ALIGN) * _ALIGN

        def array(name: str) -> np.ndarray:
            a = header["arrays"][name]
            return np.frombuffer(mm, np.dtype(a["dtype"]), a["count"], start + a["offset"])

        order = header["order"]
        tables = [{name: array(f"{name}_{k}") for name in field_dtypes(k == order, header["quantize"])}
                  for k in range(2, order + 1)]
        books = [{n: np.asarray(b, np.float32) for n, b in book.items()} for book in header["books"]]
        return cls(header["vocab"], array("uni_logp"), array("uni_backoff"), tables, books, header["quantize"], mm)

    # -- back to rows (export) ------------------------------------------------------------------
    def to_rows(self) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        """Rows of word ids (lexicographically sorted), logp and backoff per order, as float64."""
        from nlpkit.lm.ngram_count import row_ids

        ids = np.arange(self.vocab, dtype=np.uint32)
        rows, logp, backoff = [ids.reshape(-1, 1)], [self.uni_logp.astype(np.float64)], [self.uni_backoff.astype(np.float64)]
        words_at = ids.reshape(-1, 1)  # (n, k-1): the words of each n-gram one order down, by index
        for k in range(2, self.order + 1):
            table = self.tables[k - 2]
            slot = np.arange(len(table["key"]))
            key = table["key"] - np.uint64(1)
            suffix, first = (key // np.uint64(self.vocab)).astype(np.int64), (key % np.uint64(self.vocab)).astype(np.uint32)
            r = np.concatenate([first[:, None], words_at[suffix]], axis=1)
            words_at = r
            lp = self.value(k, "logp", slot).astype(np.float64)
            bo = self.value(k, "backoff", slot).astype(np.float64) if k < self.order else np.zeros(len(slot))
            first_of, _ = row_ids(r)  # sorted order
            rows.append(r[first_of])
            logp.append(lp[first_of])
            backoff.append(bo[first_of])
        return rows, logp, backoff
