"""Streaming encode/decode of text through a `tokenizers` Tokenizer, and vocabulary statistics.

Throughput: reading and writing overlap with encoding. A reader thread gathers lines into
batches, an encoder thread runs ``encode_batch`` (Rust, parallel, GIL released), and the caller's
thread formats and writes the previous batch meanwhile. Output blocks come back in input order,
one line per input line (an empty line stays empty).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nlpkit.corpus import LONG_LINE, clip_text, windows
from nlpkit.errors import CorpusError
from nlpkit.pumps import pipelined
from nlpkit.tokenize.wordpiece import vocab_lines

if TYPE_CHECKING:
    from tokenizers import Encoding, Tokenizer

FORMATS = ("tokens", "ids", "jsonl")
WINDOW = 1 << 16  # characters encoded at once within a very long line


def _batches(lines: Iterable[str], batch_lines: int, batch_chars: int) -> Iterator[list[str]]:
    batch: list[str] = []
    chars = 0
    for line in lines:
        if len(line) > LONG_LINE:  # alone, for the windowed encoder
            if batch:
                yield batch
                batch, chars = [], 0
            yield [line]
            continue
        batch.append(line)
        chars += len(line)
        if len(batch) >= batch_lines or chars >= batch_chars:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


def _format_tokens(encodings: list[Encoding], pieces: list[str]) -> str:
    # Looking pieces up by id reuses the vocabulary's strings instead of building new ones.
    lookup = pieces.__getitem__
    return "".join(" ".join(map(lookup, e.ids)) + "\n" for e in encodings)


def _format_ids(encodings: list[Encoding], pieces: list[str]) -> str:
    lookup = _id_strings(len(pieces)).__getitem__
    return "".join(" ".join(map(lookup, e.ids)) + "\n" for e in encodings)


_ID_STRINGS: list[str] = []


def _id_strings(n: int) -> list[str]:
    # str(int) per token is the slowest part of the ids format; build each id's text once.
    if len(_ID_STRINGS) < n:
        _ID_STRINGS.extend(str(i) for i in range(len(_ID_STRINGS), n))
    return _ID_STRINGS


def _format_jsonl(encodings: list[Encoding], pieces: list[str]) -> str:
    out = []
    for e in encodings:
        record = {"tokens": e.tokens, "ids": e.ids, "offsets": e.offsets, "word_ids": e.word_ids}
        out.append(json.dumps(record, ensure_ascii=False) + "\n")
    return "".join(out)


FORMATTERS: dict[str, Callable[[list[Encoding], list[str]], str]] = {
    "tokens": _format_tokens,
    "ids": _format_ids,
    "jsonl": _format_jsonl,
}


@dataclass
class EncodeOptions:
    format: str = "tokens"
    add_special_tokens: bool = False
    max_length: int | None = None
    batch_lines: int = 4096  # lines per encode_batch call
    batch_chars: int = 1 << 20  # or this many characters, whichever comes first


def encode_lines(tok: Tokenizer, lines: Iterable[str], options: EncodeOptions) -> Iterator[str]:
    """Yield blocks of formatted output (whole lines, newline-terminated), in input order."""
    if options.format not in FORMATTERS:
        raise CorpusError(f"unknown format {options.format!r}", "use tokens, ids or jsonl")
    if options.max_length is not None:
        tok.enable_truncation(options.max_length)
    else:
        tok.no_truncation()
    tok.no_padding()
    fmt = FORMATTERS[options.format]
    special = options.add_special_tokens
    pieces = vocab_lines(tok)
    # encode_batch_fast skips offsets and token strings, which only the jsonl format needs.
    fast = options.format != "jsonl" and hasattr(tok, "encode_batch_fast")
    encode = tok.encode_batch_fast if fast else tok.encode_batch
    batches = _batches(lines, options.batch_lines, options.batch_chars)

    def work(batch: list[str]) -> Any:
        if len(batch) == 1 and len(batch[0]) > LONG_LINE:
            return _encode_long(tok, batch[0], options, pieces)
        return encode(batch, add_special_tokens=special)

    for done in pipelined(batches, work):
        yield done if isinstance(done, str) else fmt(done, pieces)


def _encode_long(tok: Tokenizer, line: str, options: EncodeOptions, pieces: list[str]) -> str:
    """One very long line, encoded window by window so memory stays bounded (the Rust normaliser
    keeps 16 bytes per character); the record is the same as one ``encode`` gives, except that a
    run of over 65536 characters without whitespace is cut into several words."""
    if options.max_length is not None:
        line, _ = clip_text(line, options.max_length)
        return FORMATTERS[options.format](tok.encode_batch([line], add_special_tokens=options.add_special_tokens), pieces)
    parts: dict[str, list[str]] = {"tokens": [], "ids": [], "offsets": [], "word_ids": []}
    words = 0
    names = (pieces if options.format == "tokens" else _id_strings(len(pieces))).__getitem__
    fast = options.format != "jsonl" and hasattr(tok, "encode_batch_fast")
    encode = tok.encode_batch_fast if fast else tok.encode_batch
    for offset, e in _window_encodings(line, encode):
        if options.format != "jsonl":
            parts[options.format].append(" ".join(map(names, e.ids)))
        else:
            word_ids = [None if w is None else w + words for w in e.word_ids]
            words = max([w for w in word_ids if w is not None], default=words - 1) + 1
            for key, value in (("tokens", e.tokens), ("ids", e.ids), ("offsets", [(a + offset, b + offset) for a, b in e.offsets]), ("word_ids", word_ids)):
                parts[key].append(json.dumps(value, ensure_ascii=False)[1:-1])
    return _long_record(tok, parts, options, pieces)


def _window_encodings(line: str, encode: Callable[..., list[Encoding]], group: int = 32) -> Iterator[tuple[int, Encoding]]:
    """(offset, encoding) of each window, encoded ``group`` windows at a time (in parallel)."""
    batch: list[tuple[int, str]] = []
    for item in windows(line, WINDOW):
        batch.append(item)
        if len(batch) == group:
            yield from zip([o for o, _ in batch], encode([p for _, p in batch], add_special_tokens=False))
            batch = []
    if batch:
        yield from zip([o for o, _ in batch], encode([p for _, p in batch], add_special_tokens=False))


def _long_record(tok: Tokenizer, parts: dict[str, list[str]], options: EncodeOptions, pieces: list[str]) -> str:
    special = options.add_special_tokens
    cls, sep = (tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")) if special else (None, None)
    if options.format in ("tokens", "ids"):
        body = " ".join(p for p in parts[options.format] if p)
        if cls is not None and sep is not None:
            ends = (pieces[cls], pieces[sep]) if options.format == "tokens" else (str(cls), str(sep))
            body = " ".join(x for x in (ends[0], body, ends[1]) if x)
        return body + "\n"
    fields = []
    for key in ("tokens", "ids", "offsets", "word_ids"):
        inner = ", ".join(p for p in parts[key] if p)
        if cls is not None and sep is not None:
            first, last = {"tokens": ('"[CLS]"', '"[SEP]"'), "ids": (str(cls), str(sep)), "offsets": ("[0, 0]", "[0, 0]"), "word_ids": ("null", "null")}[key]
            inner = ", ".join(x for x in (first, inner, last) if x)
        fields.append(f'"{key}": [{inner}]')
    return "{" + ", ".join(fields) + "}\n"


def parse_ids(line: str, lineno: int, vocab_size: int) -> list[int]:
    try:
        ids = [int(x) for x in line.split()]
    except ValueError:
        raise CorpusError(f"line {lineno} is not a list of token ids", "--decode reads space-separated integers") from None
    for i in ids:
        if not 0 <= i < vocab_size:
            raise CorpusError(f"line {lineno}: id {i} is outside the vocabulary (size {vocab_size})")
    return ids


def decode_lines(tok: Tokenizer, lines: Iterable[str], *, skip_special_tokens: bool = True, batch_lines: int = 4096) -> Iterator[str]:
    """Turn lines of ids back into text; yields blocks of whole lines."""
    vocab_size = tok.get_vocab_size(with_added_tokens=True)
    numbered = enumerate(lines, 1)
    for batch in _batches(numbered, batch_lines, 1 << 30):
        ids = [parse_ids(line, n, vocab_size) for n, line in batch]
        texts = tok.decode_batch(ids, skip_special_tokens=skip_special_tokens)
        yield "".join(t.replace("\n", " ") + "\n" for t in texts)


def tokenize_stats(tok: Tokenizer, lines: Iterable[str], batch_lines: int = 4096) -> dict[str, float | int]:
    """[UNK] rate, pieces per word and vocabulary coverage of ``lines``."""
    unk_id = tok.token_to_id("[UNK]")
    vocab_size = tok.get_vocab_size(with_added_tokens=True)
    seen = bytearray(vocab_size)
    n_lines = words = pieces = unk = split_words = unk_words = 0
    for batch in _batches(lines, batch_lines, 1 << 20):
        for e in tok.encode_batch(batch, add_special_tokens=False):
            n_lines += 1
            ids, word_ids = e.ids, e.word_ids
            pieces += len(ids)
            prev, run = None, 0
            for i, w in zip(ids, word_ids):
                seen[i] = 1
                if i == unk_id:
                    unk += 1
                    unk_words += 1
                if w != prev:
                    words += 1
                    split_words += run > 1
                    prev, run = w, 0
                run += 1
            split_words += run > 1
    return {
        "lines": n_lines,
        "words": words,
        "pieces": pieces,
        "unk_pieces": unk,
        "unk_rate": unk / pieces if pieces else 0.0,
        "unk_word_rate": unk_words / words if words else 0.0,
        "pieces_per_word": pieces / words if words else 0.0,
        "split_word_rate": split_words / words if words else 0.0,
        "vocab_size": vocab_size,
        "vocab_used": sum(seen),
        "vocab_coverage": sum(seen) / vocab_size if vocab_size else 0.0,
    }
