"""The bodies of `nlpkit analogy` and `nlpkit similar`, without Typer (numpy only, never torch).

The Typer commands (``nlpkit_cli.embed_query``) and the quick path both run them; the options
records (``_options.Options``) hold every option's default, written once. A few plain queries (as arguments, or on a
stdin that is not a terminal) are answered without importing numpy (``nlpkit.embeddings.blas_query``),
which costs more than the query; anything that path does not answer exactly as the numpy one goes
to the numpy one.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum
from itertools import chain, islice
from pathlib import Path

TYPE_CHECKING = False  # typing costs ~3 ms to import: a one-off query skips it
if TYPE_CHECKING:
    from typing import Any, Optional

from nlpkit_cli._options import Options
from nlpkit_cli._runtime import RecordWriter

# Queries answered without numpy. Each costs Python-level work there (a search of the whole vocabulary
# text per word, one arg-max scan of the V scores per answer), which numpy's vectorised path (a
# dictionary, one partition) beats once the import is paid for by more queries or answers.
FEW_QUERIES = 8
FEW_ANSWERS = 64


class Method(str, Enum):
    add = "add"
    mul = "mul"


class QueryFormat(str, Enum):
    text = "text"
    tsv = "tsv"
    jsonl = "jsonl"


class AnalogyOptions(Options):
    model: Path
    queries: Optional[list[str]] = None
    method: Method = Method.add
    top_k: int = 1
    include_inputs: bool = False
    format: QueryFormat = QueryFormat.text
    echo: bool = False
    strict: bool = False
    line_buffered: Optional[bool] = None
    subwords: bool = True


class SimilarOptions(Options):
    model: Path
    words: Optional[list[str]] = None
    top_k: int = 10
    include_inputs: bool = False
    format: QueryFormat = QueryFormat.text
    echo: bool = False
    strict: bool = False
    line_buffered: Optional[bool] = None
    subwords: bool = True


def run_analogy(o: AnalogyOptions) -> None:
    """Answer "a is to b as c is to ?" by vector arithmetic; one output record per query."""
    from nlpkit.embeddings.queries import analogy_records

    _run(o, o.queries, lambda wv, lines, block: analogy_records(
        wv, lines, method=o.method.value, topk=o.top_k, include_inputs=o.include_inputs, block=block),
         plain=o.method == Method.add and not o.include_inputs)


def run_similar(o: SimilarOptions) -> None:
    """Nearest neighbours by cosine similarity; one output record per query word."""
    from nlpkit.embeddings.queries import similar_records

    _run(o, o.words, lambda wv, lines, block: similar_records(wv, lines, topk=o.top_k, include_inputs=o.include_inputs, block=block),
         plain=not o.include_inputs)


def _run(o: AnalogyOptions | SimilarOptions, given: Optional[list[str]], records: Any, plain: bool) -> None:
    """Load the model, then write ``records(wv, lines, block)`` for the given lines or stdin's."""
    writer = RecordWriter(o.line_buffered)
    lines: Iterator[str] = iter(given) if given else _stdin_lines()
    block = 1 if writer.line_buffered else 256  # answer each line at once when stdin is interactive
    found = None
    # A person typing on stdin is answered line by line, never read ahead: that is the numpy path's.
    if plain and o.top_k <= FEW_ANSWERS and len(given or ()) <= FEW_QUERIES and (given or not writer.line_buffered):
        found, lines = _one_off(o, lines, records, min(block, FEW_QUERIES))
    if found is None:
        from nlpkit.embeddings.vectors import WordVectors

        found = records(WordVectors.load(o.model, subwords=o.subwords), lines, block)
    _write(iter(found), writer, o.format, o.echo, o.strict)


def _one_off(
    o: AnalogyOptions | SimilarOptions, lines: Iterator[str], records: Any, block: int
) -> tuple[list[Any] | None, Iterator[str]]:
    """All records of a few plain queries answered without numpy, or None; and the lines not answered.

    ``block``: queries answered together, as on the numpy path (its batches: all of a few lines,
    or one at a time when line-buffered), so both make the same BLAS calls.

    The model is opened before any line is read, so a bad model is reported as soon as on the numpy
    path; every record is made before any is written, so giving up midway writes nothing twice.
    """
    from nlpkit.embeddings.blas_query import OneOffVectors, Unsuitable

    try:
        wv = OneOffVectors.open(o.model, subwords=o.subwords)
    except Unsuitable:
        return None, lines
    head = list(islice(lines, FEW_QUERIES + 1))
    lines = chain(head, lines)
    if len(head) > FEW_QUERIES:
        return None, lines
    try:
        return list(records(wv, head, block)), lines
    except Unsuitable:
        return None, lines


def _stdin_lines() -> Iterator[str]:
    """Stdin lines; invalid UTF-8 is replaced (and counted in one warning) as for every input."""
    from nlpkit.corpus import read_lines

    return read_lines(None)


def _format(fmt: QueryFormat, rec: dict[str, Any], echo: bool) -> str:
    from nlpkit_cli._records import dumps, ftext, rounded, tsv_row

    if fmt == QueryFormat.jsonl:
        return dumps(rounded(rec))
    keys = [rec.get(k) or "" for k in ("a", "b", "c")] if "a" in rec else [rec.get("word") or ""]
    if fmt == QueryFormat.tsv:
        answers = [cell for x in rec["answers"] for cell in (x["word"], ftext(x["score"]))]
        return tsv_row(keys + answers, rec["text"] if echo else None)
    label = rec["text"].strip()
    if "error" in rec:
        shown = f"{label} -> ? ({rec['error']})"
    else:
        answers = ", ".join(f"{x['word']} ({x['score']:.4f})" for x in rec["answers"])
        rank = f"  [answer rank {rec['answer_rank']}]" if "answer_rank" in rec else ""
        shown = f"{label} -> {answers}{rank}"
    return shown + ("\t" + rec["text"].replace("\t", " ") if echo else "")


def _shown(text: str, limit: int = 80) -> str:
    """Input echoed in a log line: undecodable bytes as \\xNN, at most ``limit`` characters."""
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that is not an escaped byte
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _write(records: Iterator[tuple[str, dict[str, Any]]], writer: RecordWriter, fmt: QueryFormat, echo: bool, strict: bool) -> None:
    from nlpkit_cli._records import BadLines

    bad = BadLines(strict)
    for lineno, (_, rec) in enumerate(records, 1):
        if "error" in rec:
            bad(lineno, rec["text"], _shown(rec["error"]))  # the message may quote a huge query: capped in the warning
        writer.write(_format(fmt, rec, echo))
    writer.close()
    bad.summary()
