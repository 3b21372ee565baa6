"""`nlpkit analogy` and `nlpkit similar`: quick queries on word vectors (numpy only, never torch)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from enum import Enum
from typing import Annotated, Any, Optional

import typer

from nlpkit_cli._common import EchoOpt, LineBufferedOpt, ModelOpt, RecordWriter, StrictOpt, TopKAliasOpt, pick_alias

log = logging.getLogger("nlpkit")


class Method(str, Enum):
    add = "add"
    mul = "mul"


class QueryFormat(str, Enum):
    text = "text"
    tsv = "tsv"
    jsonl = "jsonl"


FormatOpt = Annotated[
    QueryFormat,
    typer.Option("--format", "-f", help="text, tsv (query words, then word<TAB>score per answer) or jsonl."),
]
SubwordsOpt = Annotated[
    bool, typer.Option("--subwords/--no-subwords", help="Give words outside the vocabulary their n-gram vector (models trained with --subwords).")
]


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


def analogy_cmd(
    model: ModelOpt,
    queries: Annotated[Optional[list[str]], typer.Argument(help="Queries a:b::c (a is to b as c is to ?); none reads one per line from stdin.", show_default=False)] = None,
    method: Annotated[Method, typer.Option("--method", help="add (3CosAdd; score: cosine) or mul (3CosMul; score: its objective).")] = Method.add,
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Answers per query.", min=1)] = 1,
    topk: TopKAliasOpt = None,
    include_inputs: Annotated[bool, typer.Option("--include-inputs", help="Keep the query words as candidates and report the answer's rank.")] = False,
    format: FormatOpt = QueryFormat.text,
    echo: EchoOpt = False,
    strict: StrictOpt = False,
    line_buffered: LineBufferedOpt = None,
    subwords: SubwordsOpt = True,
) -> None:
    """Answer "a is to b as c is to ?" by vector arithmetic; one output record per query."""
    from nlpkit.embeddings.queries import analogy_records
    from nlpkit.embeddings.vectors import WordVectors

    wv = WordVectors.load(model, subwords=subwords)
    writer = RecordWriter(line_buffered)
    lines = queries if queries else _stdin_lines()
    block = 1 if writer.line_buffered else 256
    records = analogy_records(wv, lines, method=method.value, topk=pick_alias(top_k, topk), include_inputs=include_inputs, block=block)
    _write(records, writer, format, echo, strict)


def similar_cmd(
    model: ModelOpt,
    words: Annotated[Optional[list[str]], typer.Argument(help="Query words; none reads one per line from stdin.", show_default=False)] = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Neighbours per word (score: cosine similarity).", min=1)] = 10,
    topk: TopKAliasOpt = None,
    include_inputs: Annotated[bool, typer.Option("--include-inputs", help="Keep the query word itself as a candidate.")] = False,
    format: FormatOpt = QueryFormat.text,
    echo: EchoOpt = False,
    strict: StrictOpt = False,
    line_buffered: LineBufferedOpt = None,
    subwords: SubwordsOpt = True,
) -> None:
    """Nearest neighbours by cosine similarity; one output record per query word."""
    from nlpkit.embeddings.queries import similar_records
    from nlpkit.embeddings.vectors import WordVectors

    wv = WordVectors.load(model, subwords=subwords)
    writer = RecordWriter(line_buffered)
    lines = words if words else _stdin_lines()
    block = 1 if writer.line_buffered else 256
    _write(similar_records(wv, lines, topk=pick_alias(top_k, topk), include_inputs=include_inputs, block=block), writer, format, echo, strict)
