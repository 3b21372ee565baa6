"""The compact n-gram model: open-addressing hash tables in numpy, vectorised scoring. No torch.

Each order k has a table of ``capacity`` slots: ``keys_k`` (uint64 hash of the k words, 0 = empty),
``logp_k`` and ``backoff_k`` (float32 log10). Like KenLM's probing model we store 64-bit hashes,
not the words, so two n-grams colliding on all 64 bits would share an entry (odds ~ n^2 / 2^65).

Scoring a batch of sentences is one pass per order over all its tokens: hash the k-gram ending at
every position, probe the table, and combine ``log p = logp(longest match) + sum of the backoffs
of the longer contexts`` (the ARPA back-off rule). The k-gram ending at a position is looked up only
if its (k-1)-gram suffix was found: ARPA files are suffix-closed (KenLM relies on this too).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import numpy as np

from nlpkit.lm.kneser_ney import NgramTables

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
MAX_LOAD = 0.7  # table fill ratio at most this (0.35 to 0.7 with power-of-two sizes)
_SEP = "\x00nlpkit\x00"  # joins lines for one big split(); split() never yields it from real text


def mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, elementwise on uint64 (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def hash_rows(rows: np.ndarray) -> np.ndarray:
    """Hash of each row (w_0 .. w_{k-1}) of a (n, k) id matrix, built from the last word leftwards."""
    h = mix(rows[:, -1].astype(np.uint64) + np.uint64(1))
    for c in range(rows.shape[1] - 2, -1, -1):
        h = mix(h ^ ((rows[:, c].astype(np.uint64) + np.uint64(1)) * GOLDEN))
    return np.where(h == 0, np.uint64(1), h)


def extend_left(h: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Hash of (word, *gram) from the hash of gram; the same recurrence as ``hash_rows``."""
    out = mix(h ^ ((words.astype(np.uint64) + np.uint64(1)) * GOLDEN))
    return np.where(out == 0, np.uint64(1), out)


def unigram_hash(words: np.ndarray) -> np.ndarray:
    h = mix(words.astype(np.uint64) + np.uint64(1))
    return np.where(h == 0, np.uint64(1), h)


def build_table(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Place ``keys`` (distinct, non-zero) by linear probing; returns (slot keys, slot of each key)."""
    capacity = 1 << max(3, int(np.ceil(np.log2(len(keys) / MAX_LOAD + 1))))
    mask = capacity - 1
    table = np.zeros(capacity, np.uint64)
    slot_of = np.empty(len(keys), np.int64)
    todo = np.arange(len(keys))
    slot = (keys & np.uint64(mask)).astype(np.int64)
    while len(todo):
        s = slot[todo]
        free = table[s] == 0
        # Among keys aiming at the same free slot, the first wins; the others probe on.
        cand = todo[free]
        _, win = np.unique(s[free], return_index=True)
        winners = cand[win]
        table[slot[winners]] = keys[winners]
        slot_of[winners] = slot[winners]
        placed = np.zeros(len(keys), bool)
        placed[winners] = True
        todo = todo[~placed[todo]]
        slot[todo] = (slot[todo] + 1) & mask
    return table, slot_of


def probe(table: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Slot of each key in ``table`` (power-of-two size), or -1 where absent."""
    mask = len(table) - 1
    slot = (keys & np.uint64(mask)).astype(np.intp)
    found = table[slot]
    result = np.where(found == keys, slot, -1)
    todo = np.flatnonzero((found != keys) & (found != 0))  # collided: probe on (rare at load <= 0.7)
    while len(todo):
        slot[todo] = (slot[todo] + 1) & mask
        found = table[slot[todo]]
        hit = found == keys[todo]
        result[todo[hit]] = slot[todo[hit]]
        todo = todo[~hit & (found != 0)]
    return result


@dataclass
class Scores:
    """Per-token log10 probabilities of a batch of sentences (each with </s>, without <s>)."""

    logp: np.ndarray  # (tokens,) float64
    length: np.ndarray  # (tokens,) int: n-gram order used
    oov: np.ndarray  # (tokens,) bool
    line: np.ndarray  # (tokens,) int: sentence index in the batch


class NgramModel:
    """Hash tables for every order, plus the vocabulary."""

    def __init__(self, words: list[str], arrays: dict[str, np.ndarray], unk_id: int, bos_id: int, eos_id: int) -> None:
        self.words = words
        self.index = {w: i for i, w in enumerate(words)}
        self._get = {**self.index, _SEP: -1}.get
        self.order = sum(1 for name in arrays if name.startswith("keys_"))
        self.keys = [arrays[f"keys_{k}"] for k in range(1, self.order + 1)]
        self.logp = [arrays[f"logp_{k}"] for k in range(1, self.order + 1)]
        self.backoff = [arrays[f"backoff_{k}"] for k in range(1, self.order + 1)]
        self.unk_id, self.bos_id, self.eos_id = unk_id, bos_id, eos_id
        # Unigrams by word id (every vocabulary word is a unigram): order 1 needs no hashing.
        slot = probe(self.keys[0], unigram_hash(np.arange(len(words))))
        self.uni_logp = np.where(slot >= 0, self.logp[0][slot], -100.0)
        self.uni_backoff = np.where(slot >= 0, self.backoff[0][slot], 0.0)

    @classmethod
    def from_tables(cls, tables: NgramTables) -> NgramModel:
        arrays: dict[str, np.ndarray] = {}
        for k in range(1, tables.order + 1):
            table, slot = build_table(hash_rows(tables.rows[k - 1]))
            logp = np.zeros(len(table), np.float32)
            backoff = np.zeros(len(table), np.float32)
            logp[slot] = tables.logp[k - 1]
            backoff[slot] = tables.backoff[k - 1]
            arrays.update({f"keys_{k}": table, f"logp_{k}": logp, f"backoff_{k}": backoff})
        return cls(list(tables.words), arrays, tables.unk_id, tables.bos_id, tables.eos_id)

    def arrays(self) -> dict[str, np.ndarray]:
        out = {}
        for k in range(1, self.order + 1):
            out.update({f"keys_{k}": self.keys[k - 1], f"logp_{k}": self.logp[k - 1], f"backoff_{k}": self.backoff[k - 1]})
        return out

    def save(self, directory: str | Path) -> list[str]:
        from safetensors.numpy import save_file

        d = Path(directory)
        save_file(self.arrays(), str(d / "ngram.safetensors"))
        (d / "vocab.txt").write_text("".join(w + "\n" for w in self.words), encoding="utf-8")
        return ["ngram.safetensors", "vocab.txt"]

    @classmethod
    def load(cls, directory: str | Path, specials: dict[str, int]) -> NgramModel:
        from nlpkit.artifacts import load_numpy_tensors

        d = Path(directory)
        words = (d / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]
        return cls(words, load_numpy_tensors(d, "ngram.safetensors"), specials["unk_id"], specials["bos_id"], specials["eos_id"])

    def encode(self, lines: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Ids of ``<s> words </s>`` for each line, concatenated, and each sentence's length.

        One ``split()`` of all lines joined by a separator token and one C-level ``map`` over the
        tokens: no Python loop per line or per word.
        """
        tokens = f" {_SEP} ".join(lines).split()
        ids = np.fromiter(map(self._get, tokens, repeat(self.unk_id)), np.int64, len(tokens))
        sep = np.flatnonzero(ids == -1)  # (lines - 1,) boundaries
        # Each boundary becomes </s> <s>; the text gets a leading <s> and a trailing </s>.
        out = np.repeat(ids, np.where(ids == -1, 2, 1))
        at = sep + np.arange(len(sep))  # where each boundary's first copy landed
        out[at], out[at + 1] = self.eos_id, self.bos_id
        out = np.concatenate([[self.bos_id], out, [self.eos_id]])
        bounds = np.concatenate([[-1], sep, [len(ids)]])
        lens = np.diff(bounds) + 1  # words + <s> + </s>
        return out, lens

    def score_ids(self, ids: np.ndarray, lens: np.ndarray) -> Scores:
        """Scores of every token after <s> of the sentences laid out by ``encode``."""
        line_of = np.repeat(np.arange(len(lens)), lens)
        pos = np.arange(len(ids)) - (np.cumsum(lens) - lens)[line_of]  # position in the sentence, <s> = 0
        lp, length = self._score_positions(ids, pos)
        target = pos >= 1
        return Scores(lp[target], length[target], ids[target] == self.unk_id, line_of[target])

    def score_lines(self, lines: list[str]) -> Scores:
        return self.score_ids(*self.encode(lines))

    def next_logprobs(self, context: list[int]) -> np.ndarray:
        """log10 p(w | context) for every word id w (the context starts with <s>); -inf for <s>."""
        cand = np.arange(len(self.words), dtype=np.int64)
        ctx = np.asarray(context[-(self.order - 1):] if self.order > 1 else [], np.int64)
        n_ctx = len(ctx)
        ids = np.tile(np.append(ctx, 0), len(cand))  # each candidate after its own copy of the context
        ids[n_ctx :: n_ctx + 1] = cand
        lens = np.full(len(cand), n_ctx + 1)
        line_of = np.repeat(np.arange(len(cand)), lens)
        pos = np.arange(len(ids)) - (np.cumsum(lens) - lens)[line_of]
        scores, _ = self._score_positions(ids, pos)
        out = scores[n_ctx :: n_ctx + 1]
        out[self.bos_id] = -np.inf
        return out

    def _score_positions(self, ids: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """log10 p of each token given the ``pos`` tokens before it, and the n-gram length used.

        ARPA back-off: log p(w | h) = logp(longest match of length m) + the backoffs of the
        contexts of lengths m .. |h| (the words right before w). With ``cum[i]`` the running sum of
        the backoffs of the n-grams ending at position i, that sum is ``cum[i-1]`` (all orders;
        missing n-grams count 0) minus its value before order m was added (``sub[i]``).
        """
        n = len(ids)
        lp, sub = self.uni_logp[ids], np.zeros(n)
        cum = self.uni_backoff[ids] if self.order > 1 else np.zeros(n)
        length = np.ones(n, np.int64)
        live = np.flatnonzero(pos >= 1)  # positions whose (k-1)-gram was found
        h = unigram_hash(ids[live])  # hash of the k-gram ending at each live position
        for k in range(2, self.order + 1):
            ok = pos[live] >= k - 1
            live, h = live[ok], h[ok]
            h = extend_left(h, ids[live - (k - 1)])
            slot = probe(self.keys[k - 1], h)
            hit = slot >= 0
            live, h, slot = live[hit], h[hit], slot[hit]
            lp[live] = self.logp[k - 1][slot]
            length[live] = k
            sub[live] = cum[live - 1]  # before this order's backoffs are added
            if k < self.order:
                cum[live] += self.backoff[k - 1][slot]
        lp[1:] += np.where(pos[1:] >= 1, cum[:-1] - sub[1:], 0.0)  # a sentence's first token has no history
        return lp, length
