"""Reading tagged sentences: CoNLL column files and JSONL.

CoNLL: one token per line, columns separated by spaces or tabs, a blank line between sentences,
``-DOCSTART-`` lines ignored. ``word_col`` and ``tag_col`` pick the columns (0-based; negative
counts from the end, so the default ``-1`` is the last column). Every token line of a file must have
the same number of columns: a ragged line is an error that names the file and line, as is a tag
column that is not there (a one-column file with ``tag_col`` -1 has no tag column: it is the word).

JSONL: one ``{"tokens": [...], "tags": [...]}`` object per line (a file whose first non-blank
character is ``{``). ``tags`` may be missing when no tags are needed.

Files may be compressed (.gz/.bz2/.xz) or ``-`` (stdin); directories and globs expand as elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from nlpkit.errors import CorpusError

DOCSTART = "-DOCSTART-"


@dataclass
class Sentence:
    tokens: list[str]
    tags: list[str] | None = None  # None when the input has no tag column
    columns: list[list[str]] = field(default_factory=list)  # CoNLL: every column of every token line
    where: str = ""  # "FILE:LINE" of its first token, for messages
    lineno: int = 0  # that line's number in its file


@dataclass(frozen=True)
class Columns:
    word_col: int = 0
    tag_col: int | None = -1  # None: no tag column (plain text to tag)


def _where(source: str, lineno: int) -> str:
    return f"{'standard input' if source == '-' else source}:{lineno}"


def _index(col: int, n: int) -> int | None:
    i = col if col >= 0 else n + col
    return i if 0 <= i < n else None


def _tag_index(cols: Columns, n: int, where: str) -> int | None:
    """Check the columns of a file's first token line; the tag column's index."""
    word = _index(cols.word_col, n)
    if word is None:
        raise CorpusError(f"{where}: no word column {cols.word_col} in a line of {n} column(s)", "check --word-col")
    if cols.tag_col is None:
        return None
    tag = _index(cols.tag_col, n)
    if tag is None or tag == word:
        raise CorpusError(
            f"{where}: no tag column (--tag-col {cols.tag_col}) in a line of {n} column(s)",
            "give tagged data (word and tag columns), or set --word-col/--tag-col",
        )
    return tag


def parse_conll(lines: Iterable[str], source: str, cols: Columns) -> Iterator[Sentence]:
    """Sentences of one CoNLL file."""
    width = tag_i = None
    rows: list[list[str]] = []
    first = 0
    for lineno, line in enumerate(lines, 1):
        parts = line.split()
        if parts and parts[0] == DOCSTART:
            parts = []
        if not parts:
            if rows:
                yield _sentence(rows, cols, tag_i, source, first)
                rows = []
            continue
        if width is None:
            width, tag_i = len(parts), _tag_index(cols, len(parts), _where(source, lineno))
        elif len(parts) != width:
            raise CorpusError(
                f"{_where(source, lineno)}: {len(parts)} column(s) where the file's first token line has {width}",
                "every token line needs the same columns (a token with a space in it?)",
            )
        if not rows:
            first = lineno
        rows.append(parts)
    if rows:
        yield _sentence(rows, cols, tag_i, source, first)


def _sentence(rows: list[list[str]], cols: Columns, tag_i: int | None, source: str, lineno: int) -> Sentence:
    word_i = _index(cols.word_col, len(rows[0]))
    tokens = [r[word_i] for r in rows]  # type: ignore[index]
    tags = [r[tag_i] for r in rows] if tag_i is not None else None
    return Sentence(tokens, tags, rows, _where(source, lineno), lineno)


def parse_jsonl(lines: Iterable[str], source: str, need_tags: bool) -> Iterator[Sentence]:
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = _where(source, lineno)
        try:
            record = json.loads(line)
            tokens, tags = record["tokens"], record.get("tags")
        except (ValueError, KeyError, TypeError, AttributeError):
            raise CorpusError(f"{where}: not a JSON object with a \"tokens\" list", 'write {"tokens": [...], "tags": [...]} per line') from None
        if not isinstance(tokens, list) or not all(isinstance(t, str) and t and not any(c.isspace() for c in t) for t in tokens):
            raise CorpusError(f"{where}: \"tokens\" must be a list of non-empty strings without spaces")
        if tags is None and need_tags:
            raise CorpusError(f"{where}: no \"tags\" list", "give tagged data")
        if tags is not None and (not isinstance(tags, list) or len(tags) != len(tokens) or not all(isinstance(t, str) and t for t in tags)):
            raise CorpusError(f"{where}: \"tags\" must be a list of strings as long as \"tokens\"")
        if tokens:
            yield Sentence(list(tokens), list(tags) if tags is not None else None, [], where, lineno)


def read_sentences(inputs: Sequence[str] | None, cols: Columns, *, strict_utf8: bool = False) -> Iterator[Sentence]:
    """Sentences of every input, CoNLL or JSONL, decided per file by its first non-blank character."""
    from nlpkit.corpus import _read_text, expand_inputs

    for source in expand_inputs(inputs):
        lines = iter(_read_text(source, strict_utf8))
        head: list[str] = []
        for line in lines:
            head.append(line)
            if line.strip():
                break
        stream = _chain(head, lines)
        if head and head[-1].lstrip().startswith("{"):
            yield from parse_jsonl(stream, source, need_tags=cols.tag_col is not None)
        else:
            yield from parse_conll(stream, source, cols)


def _chain(head: list[str], rest: Iterator[str]) -> Iterator[str]:
    yield from head
    yield from rest


def read_tagged(inputs: Sequence[str], cols: Columns, *, strict_utf8: bool = False, what: str = "training data") -> list[Sentence]:
    """All tagged sentences of ``inputs``; an error when there are none."""
    sentences = list(read_sentences(inputs, cols, strict_utf8=strict_utf8))
    if not sentences:
        raise CorpusError(f"the {what} holds no sentences", "give CoNLL columns or JSONL {\"tokens\", \"tags\"}")
    return sentences
