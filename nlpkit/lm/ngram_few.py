"""A few lines scored with a binary n-gram model without numpy: what a one-off `lm score` pays.

Importing numpy costs more than scoring a sentence. For at most ``FEW`` plain lines (no marker, no
very long line) of a model without a tokenizer, this module reads ``ngram.bin`` through ``mmap`` and
``struct`` (only the header and the buckets a lookup needs) and applies the back-off rule of
``NgramModel._score_positions`` with the same float32 and float64 operations in the same order, so each record
equals the numpy path's bit for bit (``tests/test_lm_ngram_few.py`` compares them). Anything else
(``FewScorer.open`` or ``scores`` returns None) goes to ``score.score_lines``.
"""

from __future__ import annotations

import json
import mmap
import struct
from pathlib import Path

from nlpkit.corpus import LONG_LINE
from nlpkit.lm.records import LineScore

FEW = 16  # lines: more go to the vectorised scorer
_MAGIC = b"NLPKNG\x00\x03"  # binary.MAGIC
_ALIGN = 64
_GOLDEN = 0x9E3779B97F4A7C15
_U64 = (1 << 64) - 1
_FORMATS = {"<u8": "<Q", "<u4": "<I", "<f4": "<f", "|u1": "<B", "u1": "<B"}  # numpy dtype.str -> struct


def _float32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


class _Tables:
    """``ngram.bin`` read one value at a time."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as f:
            if f.read(len(_MAGIC)) != _MAGIC:
                raise ValueError("not a binary of this format")
            (size,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(size))
            self.mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self.start = -(-(len(_MAGIC) + 8 + size) // _ALIGN) * _ALIGN
        self.arrays, self.vocab, self.order = header["arrays"], header["vocab"], header["order"]
        self.books = [{n: [_float32(v) for v in b] for n, b in book.items()} for book in header["books"]]
        self.quantize = header["quantize"]
        if any(a["dtype"] not in _FORMATS for a in self.arrays.values()):
            raise ValueError("an array of a type this reader does not know")

    def get(self, name: str, i: int) -> float | int:
        a = self.arrays[name]
        fmt = _FORMATS[a["dtype"]]
        return struct.unpack_from(fmt, self.mm, self.start + a["offset"] + i * struct.calcsize(fmt))[0]

    def value(self, k: int, name: str, slot: int) -> float:
        raw = self.get(f"{name}_{k}", slot)
        return self.books[k - 2][name][raw] if self.quantize else raw

    def find(self, k: int, suffix_slot: int, word: int) -> int:
        """Slot of (word, *suffix) at order k given the suffix's slot at order k-1; -1 if absent."""
        key = suffix_slot * self.vocab + word + 1  # binary.pack
        buckets = self.arrays[f"offsets_{k}"]["count"] - 1
        b = ((((key * _GOLDEN) & _U64) >> 32) * buckets) >> 32  # binary.home
        for slot in range(self.get(f"offsets_{k}", b), self.get(f"offsets_{k}", b + 1)):
            if self.get(f"key_{k}", slot) == key:
                return slot
        return -1


def _word_id(vocab: bytes, token: str, unk_id: int) -> int:
    """Id of ``token`` by searching vocab.txt (``NgramModel._find``, on the undecoded bytes): word i follows the i-th newline."""
    word = token.encode("utf-8", "surrogatepass")  # a lone surrogate matches no word of a UTF-8 file: <unk>, as there
    if vocab.startswith(word + b"\n"):
        return 0
    at = vocab.find(b"\n" + word + b"\n")
    return unk_id if at < 0 else vocab.count(b"\n", 0, at + 1)


def _line_logp(t: _Tables, ids: list[int]) -> float:
    """log10 p of ``ids[1:]`` after ``ids[0]`` (<s>), as ``NgramModel._score_positions`` and the sum per line.

    Each token's value is summed in float32 (``_float32`` of a float64 sum of two float32 values is
    their float32 sum: 53 >= 2 * 24 + 2 bits), shortest context first, as there.
    """
    n = len(ids)
    lp = [float(t.get("uni_logp", w)) for w in ids]
    bo = [[float(t.get("uni_backoff", w)) for w in ids] if t.order > 1 else [0.0] * n]  # bo[j-1][i]
    length = [1] * n
    live = {i: ids[i] for i in range(1, n)}  # position -> slot of the (k-1)-gram ending there
    for k in range(2, t.order + 1):
        live = {i: t.find(k, slot, ids[i - (k - 1)]) for i, slot in live.items() if i >= k - 1}
        live = {i: slot for i, slot in live.items() if slot >= 0}
        row = [0.0] * n
        for i, slot in live.items():
            lp[i], length[i] = float(t.value(k, "logp", slot)), k
            if k < t.order:
                row[i] = float(t.value(k, "backoff", slot))
        bo.append(row)
    total = 0.0
    for i in range(1, n):
        value = lp[i]
        for j in range(length[i], t.order):  # the contexts of lengths m .. order - 1
            value = _float32(value + bo[j - 1][i - 1])
        total += value
    return total


class FewScorer:
    """A binary n-gram model opened for a few lines: its config, tables and vocabulary text."""

    def __init__(self, config: dict, tables: _Tables, vocab_text: bytes) -> None:
        self.specials, self.tables, self.vocab_text = config["specials"], tables, vocab_text
        self.lowercase = bool(config.get("model", {}).get("lowercase"))

    @classmethod
    def open(cls, model_dir: str | Path) -> FewScorer | None:
        """The model, or None when it needs the full scorer; raises what ``score_lines`` raises for a bad directory."""
        from nlpkit.config_file import read_config

        d = Path(model_dir)
        config = read_config(d, {"ngram_lm": 2, "neural_lm": 1, "lm_mix": 1, "bert": 1})  # score_lines' errors
        if config["kind"] != "ngram_lm" or config["format_version"] < 2 or config.get("model", {}).get("tokenizer"):
            return None
        try:
            return cls(config, _Tables(d / "ngram.bin"), (d / "vocab.txt").read_bytes())
        except (OSError, ValueError, KeyError, UnicodeDecodeError):
            return None  # the full loader says what is wrong

    def scores(self, lines: list[str]) -> list[LineScore] | None:
        """The records of ``lines``, or None when the vectorised scorer must take them."""
        if len(lines) > FEW or any(len(line) > LONG_LINE or "s>" in line for line in lines):
            return None
        s = self.specials
        records = []
        for line in lines:
            words = (line.lower() if self.lowercase else line).split()
            ids = [s["bos_id"], *(_word_id(self.vocab_text, w, s["unk_id"]) for w in words), s["eos_id"]]
            n_oov = sum(1 for i in ids[1:] if i == s["unk_id"])
            records.append(LineScore(line, _line_logp(self.tables, ids), len(ids) - 1, n_oov))
        return records
