"""Labelled examples from ``label<TAB>text`` files, and the text of lines to classify.

Columns are numbered from 1, as ``cut -f`` numbers them: ``--label-col 1 --text-col 2`` is the
default ``label<TAB>text`` layout; the full IMDB files (``label<TAB>rating<TAB>id<TAB>text``) take
``--label-col 1 --text-col 4``. Labels are kept as strings exactly as written (surrounding spaces
stripped). Blank lines are skipped; a non-blank line without enough columns is an error that names
the file's line number.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlpkit.corpus import ReadStats, read_lines
from nlpkit.errors import ConfigError, CorpusError


@dataclass(frozen=True)
class Example:
    label: str
    text: str


def check_columns(label_col: int, text_col: int) -> None:
    if label_col < 1 or text_col < 1:
        raise ConfigError("--label-col and --text-col count from 1", "use --label-col 1 --text-col 2 for label<TAB>text")
    if label_col == text_col:
        raise ConfigError(f"--label-col and --text-col are both {label_col}", "give the label and the text different columns")


def parse_examples(lines: Iterable[str], label_col: int = 1, text_col: int = 2, where: str = "input") -> Iterator[Example]:
    """``label<TAB>text`` lines -> examples; raises CorpusError on a line with too few columns."""
    check_columns(label_col, text_col)
    need = max(label_col, text_col)
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) < need:
            raise CorpusError(
                f"line {lineno} of {where} has {len(cols)} column(s), need {need} (label in column {label_col}, text in {text_col})",
                "give tab-separated label<TAB>text lines or set --label-col/--text-col",
            )
        label = cols[label_col - 1].strip()
        if not label:
            raise CorpusError(f"line {lineno} of {where} has an empty label (column {label_col})", "every example needs a label")
        yield Example(label, cols[text_col - 1])


def read_examples(
    inputs: Sequence[str | Path] | None,
    label_col: int = 1,
    text_col: int = 2,
    *,
    strict_utf8: bool = False,
    stats: ReadStats | None = None,
    what: str = "training data",
) -> list[Example]:
    """All examples of ``inputs``; raises CorpusError when there are none."""
    where = ", ".join(str(i) for i in inputs) if inputs else "standard input"
    lines = read_lines(inputs, strict_utf8=strict_utf8, stats=stats)
    examples = list(parse_examples(lines, label_col, text_col, where))
    if not examples:
        raise CorpusError(f"the {what} ({where}) has no examples", "give a file of label<TAB>text lines")
    return examples


def prediction_text(line: str, input_format: str, text_col: int) -> str:
    """The text to classify in one input line.

    ``text``: the whole line, tabs and all; ``tsv``: column ``text_col`` (from 1). A ``tsv`` line
    with fewer columns raises CorpusError (the caller makes it an error record). Nothing is guessed
    from the line's content: a line with a tab is still plain text under ``text``.
    """
    if input_format == "text":
        return line
    if input_format != "tsv":
        raise ConfigError(f"--input-format {input_format!r} is not text or tsv")
    cols = line.split("\t")
    if len(cols) < text_col:
        raise CorpusError(f"{len(cols)} column(s), need {text_col} for --text-col {text_col}", "use --input-format text for plain text")
    return cols[text_col - 1]


def check_text_col(text_col: int) -> None:
    if text_col < 1:
        raise ConfigError("--text-col counts from 1", "use --text-col 2 for label<TAB>text")


def split_off(examples: list[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Hold out ``fraction`` of the examples (a seeded random sample) as validation data."""
    import random

    if not 0.0 < fraction < 1.0:
        raise ConfigError("--valid-fraction must be between 0 and 1")
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    n_valid = max(1, int(round(fraction * len(examples))))
    if n_valid >= len(examples):
        raise CorpusError(f"{len(examples)} example(s) are too few to hold out --valid-fraction {fraction}", "give more data or a --valid file")
    held = set(order[:n_valid])
    train = [e for i, e in enumerate(examples) if i not in held]
    valid = [e for i, e in enumerate(examples) if i in held]
    return train, valid


@dataclass
class Datasets:
    train: list[Example]
    valid: list[Example]
    labels: list[str]
    summary: dict[str, Any]


def load_datasets(inputs: list[str], valid: list[str] | None, cfg: Any, strict_utf8: bool = False) -> Datasets:
    """Training and validation examples (``--valid`` files, or ``--valid-fraction`` held out) and the labels."""
    stats, valid_stats = ReadStats(), ReadStats()
    train = read_examples(inputs, cfg.label_col, cfg.text_col, strict_utf8=strict_utf8, stats=stats)
    held: list[Example] = []
    if valid:
        held = read_examples(valid, cfg.label_col, cfg.text_col, strict_utf8=strict_utf8, stats=valid_stats, what="validation data")
    elif cfg.valid_fraction:
        train, held = split_off(train, cfg.valid_fraction, cfg.seed)
    labels = sorted({e.label for e in train})
    if len(labels) < 2:
        raise CorpusError(f"the training data has only one label ({labels[0]!r})", "a classifier needs at least two classes")
    unknown = sorted({e.label for e in held} - set(labels))
    if unknown:
        raise CorpusError(f"validation label {unknown[0]!r} never occurs in the training data", "give validation data with the training labels")
    summary = {"train": stats.summary(), "train_examples": len(train), "valid_examples": len(held), "labels": labels}
    if valid:
        summary["valid"] = valid_stats.summary()
    return Datasets(train, held, labels, summary)
