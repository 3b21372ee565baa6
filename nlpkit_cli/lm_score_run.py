"""The body of `nlpkit lm score`, without Typer: the Typer command and the quick path both run it.

``ScoreOptions`` holds every option of the command with its default, written once: the Typer
command (``nlpkit_cli.lm.score_cmd``) takes its defaults from it, the quick path fills in only
``-m``, ``-f`` and the inputs.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

TYPE_CHECKING = False  # typing costs ~3 ms to import: a one-off query skips it
if TYPE_CHECKING:
    from typing import Any, Optional

from nlpkit_cli._options import Options
from nlpkit_cli._runtime import RecordWriter, say


class ScoreFormat(str, Enum):
    tsv = "tsv"
    jsonl = "jsonl"


class ScoreOptions(Options):
    model: Path
    inputs: Optional[list[str]] = None
    format: ScoreFormat = ScoreFormat.tsv
    per_token: bool = False
    summary: bool = False
    batch_size: int = 64
    context: bool = False
    threads: int = 0
    device: str = "auto"
    strict_utf8: bool = False
    text_field: str = "text"
    line_buffered: Optional[bool] = None
    echo: bool = False
    strict: bool = False


def run_score(o: ScoreOptions) -> None:
    """Score each input line: one record per line on stdout, the --summary lines on stderr."""
    from nlpkit.corpus import read_lines
    from nlpkit_cli._records import BadLines

    writer = RecordWriter(o.line_buffered)
    lines = read_lines(o.inputs, strict_utf8=o.strict_utf8, text_field=o.text_field)
    records, lines = _few(o, writer, lines)
    totals = None
    if records is None:
        from nlpkit.lm.score import Summary, score_lines

        totals = Summary() if o.summary else None
        records = score_lines(o.model, lines, per_token=o.per_token, device=o.device, batch_size=o.batch_size,
                              summary=totals, interactive=writer.line_buffered, threads=o.threads, context=o.context)
    write_records(writer, records, BadLines(o.strict), o.format.value, o.per_token, o.echo)
    if totals is not None:
        from nlpkit_cli.lm_format import summary_lines

        for line in summary_lines(totals):
            say(line)


def _few(o: ScoreOptions, writer: RecordWriter, lines: Any) -> tuple[Any, Any]:
    """The records of a few plain lines scored without numpy (``ngram_few``) or None, and the lines
    for the vectorised scorer (what was read ahead is put back)."""
    if o.per_token or o.summary or o.context or writer.line_buffered:  # interactive: no read-ahead
        return None, lines
    from itertools import chain, islice

    from nlpkit.lm.ngram_few import FEW, FewScorer

    scorer = FewScorer.open(o.model)  # before any input is read, as score_lines does
    if scorer is None:
        return None, lines
    head = list(islice(lines, FEW + 1))
    records = scorer.scores(head)
    return records, (None if records is not None else chain(head, lines))


def write_records(writer: RecordWriter, records: Any, bad: Any, fmt: str, per_token: bool, echo: bool) -> None:
    """Records out in blocks of many lines, one write each (one line per write when interactive).

    A bad line under ``--strict`` stops the output right after the records before it.
    """
    from itertools import islice

    from nlpkit.errors import NlpkitError
    from nlpkit_cli.lm_format import format_block

    it, lineno = iter(records), 0
    while block := list(islice(it, 1 if writer.line_buffered else 4096)):
        for i, record in enumerate(block):
            if record.error is not None:
                try:
                    bad(lineno + i + 1, record.text, record.error)
                except NlpkitError:
                    writer.write_block(format_block(block[:i], fmt, per_token, echo))
                    raise
        writer.write_block(format_block(block, fmt, per_token, echo))
        lineno += len(block)
    writer.close()
    bad.summary()
