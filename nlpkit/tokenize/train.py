"""`tokenize train`: stream a corpus into the WordPiece trainer and publish the tokenizer artefact."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

from nlpkit.artifacts import artifact_writer, check_output, write_config
from nlpkit.corpus import ReadStats, read_lines, require_lines, split_long_lines
from nlpkit.locking import output_lock
from nlpkit.progress import Progress
from nlpkit.tokenize.wordpiece import FORMAT_VERSION, KIND, WordPieceConfig, save_tokenizer, train_wordpiece

log = logging.getLogger("nlpkit")


def _counted(lines: Iterable[str], progress: Progress, every: int = 10000) -> Iterator[str]:
    n = 0
    for n, line in enumerate(lines, 1):
        if n % every == 0:
            progress.advance(every)
        yield line
    progress.advance(n % every)


def train_tokenizer(
    inputs: Sequence[str | Path],
    output: str | Path,
    config: WordPieceConfig,
    *,
    strict_utf8: bool = False,
    text_field: str = "text",
    quiet: bool = False,
    force: bool = False,
) -> dict[str, int]:
    """Train on ``inputs`` and write ``tokenizer.json``, ``vocab.txt`` and ``config.json`` to ``output``."""
    stats = ReadStats()
    check_output(output, KIND, force)
    with output_lock(output):
        lines = require_lines(read_lines(inputs, strict_utf8=strict_utf8, text_field=text_field, stats=stats), "corpus")
        with Progress("reading words", unit="lines", quiet=quiet) as progress:
            tok = train_wordpiece(split_long_lines(_counted(lines, progress)), config)
        with artifact_writer(output, kind=KIND, force=force) as tmp:
            save_tokenizer(tok, tmp)
            write_config(tmp, KIND, model=asdict(config), data=stats.summary(), format_version=FORMAT_VERSION)
    return {"vocab_size": tok.get_vocab_size(with_added_tokens=True), "lines": stats.lines}
