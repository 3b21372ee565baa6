"""Reading text: files, globs, directories, compressed files, stdin and `datasets` sources.

``read_lines(inputs)`` streams one line at a time in bounded memory, whatever the input:

- ``-`` (or no input at all) is standard input;
- a file, plain or compressed (``.gz``, ``.bz2``, ``.xz``; recognised by magic bytes, not by name);
- a directory, read recursively in sorted order (hidden files and folders are skipped);
- a glob such as ``'corpus/*.txt'`` (quoted, so the shell leaves it to us);
- ``hf:NAME[:CONFIG][:SPLIT]``, a HuggingFace hub dataset or local dataset folder, and files ending
  in ``.parquet``, ``.jsonl`` or ``.json``: these go through ``datasets`` in streaming mode and yield
  the ``text_field`` of each record. ``datasets`` is imported only here, since it costs seconds.

Lines end at ``\\n`` only (a trailing ``\\r`` is dropped), so one input line is one record for
``wc -l``, and an empty line stays an empty line. Invalid UTF-8 is replaced with U+FFFD and counted
(one warning at the end) unless ``strict_utf8`` asks for an error instead.
"""

from __future__ import annotations

import bz2
import codecs
import glob
import gzip
import io
import logging
import lzma
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from nlpkit.errors import CorpusError

log = logging.getLogger("nlpkit")

STDIN = "-"
HF_PREFIX = "hf:"
DATASET_SUFFIXES = (".parquet", ".jsonl", ".json", ".jsonl.gz", ".json.gz")
_MAGIC = {b"\x1f\x8b": gzip.open, b"BZh": bz2.open, b"\xfd7zXZ\x00": lzma.open}
_PEEK = 8192
_CHUNK = 1 << 16  # bytes read at a time


@dataclass
class ReadStats:
    """What a read saw; filled in while the lines stream."""

    files: int = 0
    lines: int = 0
    bytes_replaced: int = 0
    sources: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        return {"files": self.files, "lines": self.lines, "sources": self.sources[:20]}


# A codec error handler that counts what it replaces: the C decoder calls it only on bad bytes,
# so valid text pays nothing for the count.
_replaced = [0]


def _count_and_replace(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    _replaced[0] += exc.end - exc.start
    return "\ufffd", exc.end


codecs.register_error("nlpkit_count_replace", _count_and_replace)


def expand_inputs(inputs: Sequence[str | Path] | None) -> list[str]:
    """Turn the user's inputs into a list of concrete sources (files, ``-`` or ``hf:`` names).

    Raises CorpusError for a path that does not exist, a glob that matches nothing, or a
    directory that holds no files.
    """
    if not inputs:
        return [STDIN]
    sources: list[str] = []
    for raw in inputs:
        item = str(raw)
        if item == STDIN or item.startswith(HF_PREFIX):
            sources.append(item)
        elif os.path.isdir(item):
            found = _walk(item)
            if not found:
                raise CorpusError(f"no text files in directory {item}", "point to a folder that holds text files")
            sources.extend(found)
        elif os.path.exists(item):
            sources.append(item)
        elif glob.has_magic(item):
            matched = sorted(p for p in glob.glob(item, recursive=True) if os.path.isfile(p))
            if not matched:
                raise CorpusError(f"no files match {item}", "check the pattern")
            sources.extend(matched)
        else:
            raise CorpusError(f"no such file or directory: {item}", "check the path")
    return sources


def _walk(top: str) -> list[str]:
    found = []
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(os.path.join(root, f) for f in sorted(files) if not f.startswith("."))
    return found


def read_lines(
    inputs: Sequence[str | Path] | None,
    *,
    strict_utf8: bool = False,
    text_field: str = "text",
    stats: ReadStats | None = None,
) -> Iterator[str]:
    """Yield the lines of every input in order, without line endings.

    ``stats``, when given, is filled in as lines are read (file and line counts, replaced bytes).
    """
    stats = stats if stats is not None else ReadStats()
    sources = expand_inputs(inputs)
    before = _replaced[0]
    try:
        for source in sources:
            stats.files += 1
            stats.sources.append(source)
            for line in _read_source(source, strict_utf8, text_field):
                stats.lines += 1
                yield line
    finally:
        stats.bytes_replaced = _replaced[0] - before
        if stats.bytes_replaced:
            log.warning(
                "warning: replaced %d invalid UTF-8 byte(s) with U+FFFD (use --strict-utf8 to fail instead)",
                stats.bytes_replaced,
            )


def _read_source(source: str, strict_utf8: bool, text_field: str) -> Iterator[str]:
    if source.startswith(HF_PREFIX):
        yield from _read_dataset(source, text_field)
    elif source != STDIN and source.lower().endswith(DATASET_SUFFIXES):
        yield from _read_dataset(source, text_field)
    else:
        yield from _read_text(source, strict_utf8)


def _open_binary(source: str) -> BinaryIO:
    if source == STDIN:
        raw: BinaryIO = sys.stdin.buffer
    else:
        try:
            raw = open(source, "rb")  # noqa: SIM115 - closed by the caller
        except PermissionError:
            raise CorpusError(f"cannot read {source}: permission denied") from None
        except IsADirectoryError:
            raise CorpusError(f"{source} is a directory") from None
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[arg-type]
    head = buffered.peek(8)[:8]
    for magic, opener in _MAGIC.items():
        if head.startswith(magic):
            return opener(buffered, "rb")  # type: ignore[return-value]
    return buffered  # type: ignore[return-value]


def _read_text(source: str, strict_utf8: bool) -> Iterator[str]:
    name = "standard input" if source == STDIN else source
    try:
        stream = _open_binary(source)
        buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream)  # type: ignore[arg-type]
        try:
            if b"\x00" in buffered.peek(_PEEK)[:_PEEK]:
                raise CorpusError(f"{name} looks like a binary file (it has NUL bytes)", "give plain or compressed text")
            yield from (_strict_lines if strict_utf8 else _lenient_lines)(buffered, name)
        finally:
            if source != STDIN:
                buffered.close()
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise CorpusError(f"cannot read {name}: {exc}", "is the compressed file complete?") from None


def _lenient_lines(buffered: io.BufferedReader, name: str) -> Iterator[str]:
    # Whatever bytes are available (read1: a pipe's line is passed on as soon as it arrives),
    # decoded by the C decoder (the error handler runs only on bad bytes, counting them) and
    # split at newlines in one call: no Python work per line.
    decode = codecs.getincrementaldecoder("utf-8")(errors="nlpkit_count_replace").decode
    carry = ""
    while raw := buffered.read1(_CHUNK):
        text = carry + decode(raw)
        lines = text.split("\n")
        carry = lines.pop()
        if "\r" in text:
            lines = [line[:-1] if line.endswith("\r") else line for line in lines]
        yield from lines
    last = carry + decode(b"", True)
    if last:
        yield _chomp(last)


def _strict_lines(buffered: io.BufferedReader, name: str) -> Iterator[str]:
    # Decoding line by line costs a little speed but names the exact line of a bad byte.
    for lineno, raw in enumerate(buffered, 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CorpusError(
                f"invalid UTF-8 in {name} at line {lineno} (byte 0x{raw[exc.start]:02x})",
                "fix the file or drop --strict-utf8 to replace bad bytes",
            ) from None
        yield _chomp(line)


def _chomp(line: str) -> str:
    if line.endswith("\n"):
        line = line[:-1]
    if line.endswith("\r"):
        line = line[:-1]
    return line


def _dataset_args(source: str) -> tuple[str, str | None, str, dict[str, object]]:
    """``hf:NAME[:CONFIG][:SPLIT]`` or a data file -> (path, config, split, extra kwargs)."""
    if source.startswith(HF_PREFIX):
        parts = source[len(HF_PREFIX):].split(":")
        if not parts[0] or len(parts) > 3:
            raise CorpusError(f"bad dataset name {source!r}", "write hf:NAME[:CONFIG][:SPLIT]")
        name = parts[0]
        config = parts[1] if len(parts) > 1 and parts[1] else None
        split = parts[2] if len(parts) > 2 and parts[2] else "train"
        return name, config, split, {}
    builder = "parquet" if source.lower().endswith(".parquet") else "json"
    return builder, None, "train", {"data_files": source}


def _read_dataset(source: str, text_field: str) -> Iterator[str]:
    path, config, split, extra = _dataset_args(source)
    try:
        import datasets  # lazy: costs seconds to import
    except ImportError:  # pragma: no cover - datasets is a dependency
        raise CorpusError("reading hf: and parquet/json sources needs the `datasets` package") from None
    datasets.disable_progress_bars()
    try:
        dataset = datasets.load_dataset(path, config, split=split, streaming=True, **extra)
        records: Iterable[dict[str, object]] = iter(dataset)
        for record in records:
            if text_field not in record:
                fields = ", ".join(sorted(record))
                raise CorpusError(f"{source} has no field {text_field!r} (fields: {fields})", "choose one with --text-field")
            value = record[text_field]
            yield "" if value is None else str(value)
    except CorpusError:
        raise
    except Exception as exc:  # datasets raises many unrelated types for a bad name or file
        raise CorpusError(f"cannot load {source}: {type(exc).__name__}: {exc}".splitlines()[0]) from None


def require_lines(lines: Iterable[str], what: str = "input") -> Iterator[str]:
    """Pass lines through, raising CorpusError at the end if there was no non-empty line."""
    seen = False
    for line in lines:
        if not seen and line.strip():
            seen = True
        yield line
    if not seen:
        raise CorpusError(f"the {what} is empty (no non-blank line)", "give a file with text")


# Pathological lines (a 50 MB line with no newline): encoders are given bounded pieces.
LONG_LINE = 1 << 20  # characters; longer lines take the windowed paths
_SPACES = " \t\u3000\xa0"


def windows(text: str, size: int = 1 << 16, *, split_words: bool = True) -> Iterator[tuple[int, str]]:
    """Cut ``text`` into pieces of about ``size`` characters at whitespace; yields (offset, piece).

    A run of more than ``size`` characters without whitespace is cut inside when ``split_words``
    (an encoder would make an unknown token of it anyway), else kept whole.
    """
    pos, n = 0, len(text)
    while pos < n:
        end = min(pos + size, n)
        if end < n:
            cut = max(text.rfind(c, pos, end) for c in _SPACES)
            if cut > pos:
                end = cut + 1
            elif not split_words:
                nxt = [i for i in (text.find(c, end) for c in _SPACES) if i >= 0]
                end = min(nxt) + 1 if nxt else n
        yield pos, text[pos:end]
        pos = end


def clip_text(text: str, max_tokens: int, chars_per_token: int = 32) -> tuple[str, bool]:
    """A prefix long enough for ``max_tokens`` tokens, cut at whitespace; (text, whether it was cut).

    Models that read at most ``max_tokens`` positions need no more of a line, and encoding a
    50 MB line whole costs gigabytes. Only very long runs of whitespace (more than
    ``chars_per_token`` characters per token) make the prefix yield fewer tokens than the model reads.
    """
    limit = max(max_tokens * chars_per_token, 4096)
    if len(text) <= limit:
        return text, False
    _, head = next(windows(text, limit))
    return head, True


def split_long_lines(lines: Iterable[str], limit: int = LONG_LINE, size: int = 1 << 16) -> Iterator[str]:
    """Lines for training: a line longer than ``limit`` characters becomes pieces of about ``size``
    characters cut at whitespace, so that no encoder or trainer holds a whole 50 MB line."""
    for line in lines:
        if len(line) <= limit:
            yield line
        else:
            for _, piece in windows(line, size):
                yield piece
