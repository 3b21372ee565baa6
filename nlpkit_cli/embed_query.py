"""`nlpkit analogy` and `nlpkit similar`: quick queries on word vectors (numpy only, never torch)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from enum import Enum
from typing import Annotated, Any, Optional

import typer

from nlpkit_cli._common import LineBufferedOpt, ModelOpt, RecordWriter

log = logging.getLogger("nlpkit")


class Method(str, Enum):
    add = "add"
    mul = "mul"


class QueryFormat(str, Enum):
    text = "text"
    tsv = "tsv"
    jsonl = "jsonl"


FormatOpt = Annotated[QueryFormat, typer.Option("--format", "-f", help="text, tsv or jsonl.")]


def _stdin_lines() -> Iterator[str]:
    for line in sys.stdin:
        yield line.rstrip("\r\n")


def _format(fmt: QueryFormat, rec: dict[str, Any], label: str) -> str:
    if fmt == QueryFormat.jsonl:
        return json.dumps(rec, ensure_ascii=False)
    keys = [rec.get(k) or "" for k in ("a", "b", "c")] if "a" in rec else [rec.get("word") or ""]
    if fmt == QueryFormat.tsv:
        return "\t".join(keys + [f"{x['word']}\t{x['score']:.4f}" for x in rec["answers"]])
    if "error" in rec:
        return f"{label} -> ? ({rec['error']})"
    shown = ", ".join(f"{x['word']} ({x['score']:.4f})" for x in rec["answers"])
    rank = f"  [answer rank {rec['answer_rank']}]" if "answer_rank" in rec else ""
    return f"{label} -> {shown}{rank}"


def _shown(text: str, limit: int = 80) -> str:
    """Input echoed in a log line: undecodable bytes as \\xNN, at most ``limit`` characters."""
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that is not an escaped byte
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _write(records: Iterator[tuple[str, dict[str, Any]]], writer: RecordWriter, fmt: QueryFormat) -> None:
    for label, rec in records:
        if "error" in rec and label:
            log.warning("warning: %s: %s", _shown(label), _shown(rec["error"]))
        writer.write(_format(fmt, rec, label))
    writer.close()


def analogy_cmd(
    model: ModelOpt,
    queries: Annotated[Optional[list[str]], typer.Argument(help="Queries a:b::c (a is to b as c is to ?); none reads one per line from stdin.", show_default=False)] = None,
    method: Annotated[Method, typer.Option("--method", help="add (3CosAdd) or mul (3CosMul).")] = Method.add,
    topk: Annotated[int, typer.Option("--topk", "-k", help="Answers per query.", min=1)] = 1,
    include_inputs: Annotated[bool, typer.Option("--include-inputs", help="Keep the query words as candidates and report the answer's rank.")] = False,
    format: FormatOpt = QueryFormat.text,
    line_buffered: LineBufferedOpt = None,
) -> None:
    """Answer "a is to b as c is to ?" by vector arithmetic; one output record per query."""
    from nlpkit.embeddings.queries import analogy_records
    from nlpkit.embeddings.vectors import WordVectors

    wv = WordVectors.load(model)
    writer = RecordWriter(line_buffered)
    lines = queries if queries else _stdin_lines()
    block = 1 if writer.line_buffered else 256
    _write(analogy_records(wv, lines, method=method.value, topk=topk, include_inputs=include_inputs, block=block), writer, format)


def similar_cmd(
    model: ModelOpt,
    words: Annotated[Optional[list[str]], typer.Argument(help="Query words; none reads one per line from stdin.", show_default=False)] = None,
    topk: Annotated[int, typer.Option("--topk", "-k", help="Neighbours per word.", min=1)] = 10,
    include_inputs: Annotated[bool, typer.Option("--include-inputs", help="Keep the query word itself as a candidate.")] = False,
    format: FormatOpt = QueryFormat.text,
    line_buffered: LineBufferedOpt = None,
) -> None:
    """Nearest neighbours by cosine similarity; one output record per query word."""
    from nlpkit.embeddings.queries import similar_records
    from nlpkit.embeddings.vectors import WordVectors

    wv = WordVectors.load(model)
    writer = RecordWriter(line_buffered)
    lines = words if words else _stdin_lines()
    block = 1 if writer.line_buffered else 256
    _write(similar_records(wv, lines, topk=topk, include_inputs=include_inputs, block=block), writer, format)
