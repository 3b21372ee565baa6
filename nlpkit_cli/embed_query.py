"""`nlpkit analogy` and `nlpkit similar`: quick queries on word vectors (numpy only, never torch)."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from enum import Enum
from itertools import islice
from typing import Annotated, Optional

import typer

from nlpkit_cli._common import LineBufferedOpt, ModelOpt, RecordWriter

log = logging.getLogger("nlpkit")

_ANALOGY = re.compile(r"^\s*(\S+)\s*:\s*(\S+)\s*::\s*(\S+)\s*$")
_SENTENCE = re.compile(r"^\s*(\S+)\s+is\s+to\s+(\S+)\s+as\s+(\S+)(\s+is\s+to\s*\??)?\s*$", re.IGNORECASE)


class Method(str, Enum):
    add = "add"
    mul = "mul"


class QueryFormat(str, Enum):
    text = "text"
    tsv = "tsv"
    jsonl = "jsonl"


FormatOpt = Annotated[QueryFormat, typer.Option("--format", "-f", help="text, tsv or jsonl.")]
IncludeOpt = Annotated[bool, typer.Option("--include-inputs", help="Keep the query words as candidates and report the answer's rank.")]


def parse_analogy(line: str) -> tuple[str, str, str] | None:
    """``a:b::c``, ``a b c`` or ``a is to b as c is to ?`` -> (a, b, c)."""
    for pattern in (_ANALOGY, _SENTENCE):
        m = pattern.match(line)
        if m:
            return m.group(1), m.group(2), m.group(3)
    words = line.split()
    return (words[0], words[1], words[2]) if len(words) == 3 else None


def _stdin_lines() -> Iterator[str]:
    for line in sys.stdin:
        yield line.rstrip("\r\n")


def _blocks(items: Iterator[str], size: int) -> Iterator[list[str]]:
    while block := list(islice(items, size)):
        yield block


def _answers(neighbours: list, words: tuple[str, ...]) -> list[dict]:
    return [{"word": n.word, "score": round(n.score, 6)} for n in neighbours]


def _format(fmt: QueryFormat, query: dict, label: str) -> str:
    if fmt == QueryFormat.jsonl:
        return json.dumps(query, ensure_ascii=False)
    keys = [query.get(k) or "" for k in ("a", "b", "c")] if "a" in query else [query.get("word") or ""]
    if fmt == QueryFormat.tsv:
        return "\t".join(keys + [f"{x['word']}\t{x['score']:.4f}" for x in query["answers"]])
    if "error" in query:
        return f"{label} -> ? ({query['error']})"
    shown = ", ".join(f"{x['word']} ({x['score']:.4f})" for x in query["answers"])
    rank = f"  [answer rank {query['answer_rank']}]" if "answer_rank" in query else ""
    return f"{label} -> {shown}{rank}"


def analogy_cmd(
    model: ModelOpt,
    queries: Annotated[Optional[list[str]], typer.Argument(help="Queries a:b::c (a is to b as c is to ?); none reads one per line from stdin.", show_default=False)] = None,
    method: Annotated[Method, typer.Option("--method", help="add (3CosAdd) or mul (3CosMul).")] = Method.add,
    topk: Annotated[int, typer.Option("--topk", "-k", help="Answers per query.", min=1)] = 1,
    include_inputs: IncludeOpt = False,
    format: FormatOpt = QueryFormat.text,
    line_buffered: LineBufferedOpt = None,
) -> None:
    """Answer "a is to b as c is to ?" by vector arithmetic; one output record per query."""
    from nlpkit.embeddings.vectors import WordVectors

    wv = WordVectors.load(model)
    writer = RecordWriter(line_buffered)
    lines = iter(queries) if queries else _stdin_lines()
    for block in _blocks(lines, 1 if writer.line_buffered else 256):
        records, todo = [], []
        for line in block:
            abc = parse_analogy(line)
            rec: dict = {"a": abc[0], "b": abc[1], "c": abc[2], "answers": []} if abc else {"a": None, "b": None, "c": None, "answers": []}
            if abc is None:
                rec["error"] = "cannot parse the query; write a:b::c" if line.strip() else "empty query"
            else:
                ids = [wv.lookup(w) for w in abc]
                oov = [w for w, i in zip(abc, ids) if i is None]
                if oov:
                    rec["oov"] = oov
                    rec["error"] = "not in vocabulary: " + " ".join(oov)
                else:
                    todo.append((rec, ids))
            if "error" in rec and line.strip():
                log.warning("warning: %s: %s", line.strip(), rec["error"])
            records.append((line.strip(), rec))
        extra = 3 if include_inputs else 0
        results = wv.analogy([ids for _, ids in todo], method=method.value, topk=topk + extra, include_inputs=include_inputs)
        for (rec, ids), found in zip(todo, results):
            rec["answers"] = _answers(found[:topk], ())
            if include_inputs:
                inputs = {wv.words[i] for i in ids}
                rec["answer_rank"] = next((n.rank for n in found if n.word not in inputs), None)
        for label, rec in records:
            writer.write(_format(format, rec, label))
    writer.close()


def similar_cmd(
    model: ModelOpt,
    words: Annotated[Optional[list[str]], typer.Argument(help="Query words; none reads one per line from stdin.", show_default=False)] = None,
    topk: Annotated[int, typer.Option("--topk", "-k", help="Neighbours per word.", min=1)] = 10,
    include_inputs: Annotated[bool, typer.Option("--include-inputs", help="Keep the query word itself as a candidate.")] = False,
    format: FormatOpt = QueryFormat.text,
    line_buffered: LineBufferedOpt = None,
) -> None:
    """Nearest neighbours by cosine similarity; one output record per query word."""
    from nlpkit.embeddings.vectors import WordVectors

    wv = WordVectors.load(model)
    writer = RecordWriter(line_buffered)
    lines = iter(words) if words else _stdin_lines()
    for block in _blocks(lines, 1 if writer.line_buffered else 256):
        records, todo = [], []
        for line in block:
            word = line.strip()
            rec: dict = {"word": word, "answers": []}
            i = wv.lookup(word) if word else None
            if i is None:
                rec["error"] = "not in vocabulary" if word else "empty query"
                if word:
                    rec["oov"] = [word]
                    log.warning("warning: %s: not in vocabulary", word)
            else:
                todo.append((rec, i))
            records.append((word, rec))
        results = wv.similar([i for _, i in todo], topk=topk, include_inputs=include_inputs)
        for (rec, _), found in zip(todo, results):
            rec["answers"] = _answers(found, ())
        for label, rec in records:
            writer.write(_format(format, rec, label))
    writer.close()
