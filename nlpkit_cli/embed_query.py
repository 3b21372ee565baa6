"""`nlpkit analogy` and `nlpkit similar`: quick queries on word vectors (numpy only, never torch).

Thin Typer adapters: the bodies and the defaults live in ``embed_query_run``, which the quick path
(``nlpkit_cli.quick``) runs without Typer.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from nlpkit_cli._common import EchoOpt, LineBufferedOpt, ModelOpt, StrictOpt, TopKAliasOpt, pick_alias
from nlpkit_cli._runtime import options
from nlpkit_cli.embed_query_run import (  # noqa: F401 - _shown: tests and older callers import it from here
    AnalogyOptions,
    Method,
    QueryFormat,
    SimilarOptions,
    _shown,
    run_analogy,
    run_similar,
)

_A, _S = AnalogyOptions, SimilarOptions  # the defaults, written once

FormatOpt = Annotated[
    QueryFormat,
    typer.Option("--format", "-f", help="text, tsv (query words, then word<TAB>score per answer) or jsonl."),
]
SubwordsOpt = Annotated[
    bool, typer.Option("--subwords/--no-subwords", help="Give words outside the vocabulary their n-gram vector (models trained with --subwords).")
]


def analogy_cmd(
    model: ModelOpt,
    queries: Annotated[Optional[list[str]], typer.Argument(help="Queries a:b::c (a is to b as c is to ?); none reads one per line from stdin.", show_default=False)] = _A.queries,
    method: Annotated[Method, typer.Option("--method", help="add (3CosAdd; score: cosine) or mul (3CosMul; score: its objective).")] = _A.method,
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Answers per query.", min=1)] = _A.top_k,
    topk: TopKAliasOpt = None,
    include_inputs: Annotated[bool, typer.Option("--include-inputs", help="Keep the query words as candidates and report the answer's rank.")] = _A.include_inputs,
    format: FormatOpt = _A.format,
    echo: EchoOpt = _A.echo,
    strict: StrictOpt = _A.strict,
    line_buffered: LineBufferedOpt = _A.line_buffered,
    subwords: SubwordsOpt = _A.subwords,
) -> None:
    """Answer "a is to b as c is to ?" by vector arithmetic; one output record per query."""
    top_k = pick_alias(top_k, topk)
    run_analogy(options(AnalogyOptions, locals()))


def similar_cmd(
    model: ModelOpt,
    words: Annotated[Optional[list[str]], typer.Argument(help="Query words; none reads one per line from stdin.", show_default=False)] = _S.words,
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Neighbours per word (score: cosine similarity).", min=1)] = _S.top_k,
    topk: TopKAliasOpt = None,
    include_inputs: Annotated[bool, typer.Option("--include-inputs", help="Keep the query word itself as a candidate.")] = _S.include_inputs,
    format: FormatOpt = _S.format,
    echo: EchoOpt = _S.echo,
    strict: StrictOpt = _S.strict,
    line_buffered: LineBufferedOpt = _S.line_buffered,
    subwords: SubwordsOpt = _S.subwords,
) -> None:
    """Nearest neighbours by cosine similarity; one output record per query word."""
    top_k = pick_alias(top_k, topk)
    run_similar(options(SimilarOptions, locals()))
