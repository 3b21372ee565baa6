"""`nlpkit tokenize`: train a WordPiece vocabulary, encode and decode text, vocabulary statistics."""

from __future__ import annotations

import json
import logging
from enum import Enum
from pathlib import Path
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Annotated, Optional

import typer

from nlpkit_cli._common import (
    InputsArg,
    LineBufferedOpt,
    ModelOpt,
    OutputDirOpt,
    ForceOpt,
    QuietOpt,
    RecordWriter,
    SeedOpt,
    StrictUtf8Opt,
    TextFieldOpt,
    TrainInputsArg,
    default_group,
)
from nlpkit_cli._common import EchoOpt, StrictOpt
from nlpkit_cli._records import BadLines

log = logging.getLogger("nlpkit")

app = typer.Typer(
    cls=default_group("encode"),
    no_args_is_help=True,
    help="WordPiece tokenization. `nlpkit tokenize -m MODEL [INPUT...]` encodes (the `encode` command); "
    "`train` learns a vocabulary; `stats` measures one on text.",
)


class TokenFormat(str, Enum):
    tokens = "tokens"
    ids = "ids"
    jsonl = "jsonl"


class StatsFormat(str, Enum):
    text = "text"
    json = "json"


LowercaseOpt = Annotated[
    Optional[bool],
    typer.Option("--lowercase/--no-lowercase", help="Lowercase (for a plain vocab.txt; default: lowercase).", show_default=False),
]
StripAccentsOpt = Annotated[
    Optional[bool],
    typer.Option("--strip-accents/--no-strip-accents", help="Strip accents (default: when lowercasing, as BERT).", show_default=False),
]
MaxWordCharsOpt = Annotated[
    Optional[int],
    typer.Option("--max-word-chars", help="Words longer than this become one [UNK], as in BERT (default 100).", show_default=False),
]


@app.command("encode")
def encode_cmd(
    model: ModelOpt,
    inputs: InputsArg = None,
    format: Annotated[TokenFormat, typer.Option("--format", "-f", help="tokens, ids or jsonl (tokens, ids, offsets, word_ids).")] = TokenFormat.tokens,
    special_tokens: Annotated[bool, typer.Option("--special-tokens", help="Add [CLS] ... [SEP].")] = False,
    max_length: Annotated[Optional[int], typer.Option("--max-length", help="Truncate to this many pieces.", min=1)] = None,
    decode: Annotated[bool, typer.Option("--decode", help="Input lines are space-separated ids; print text (a line that is not ids: an empty line and a warning).")] = False,
    lowercase: LowercaseOpt = None,
    strip_accents: StripAccentsOpt = None,
    max_word_chars: MaxWordCharsOpt = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Lines per encode batch.", min=1)] = 4096,
    echo: EchoOpt = False,
    strict: StrictOpt = False,
    strict_utf8: StrictUtf8Opt = False,
    text_field: TextFieldOpt = "text",
    line_buffered: LineBufferedOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Encode text into WordPiece tokens or ids, one output line per input line."""
    from nlpkit.corpus import read_lines
    from nlpkit.tokenize.stream import EncodeOptions, decode_lines, encode_lines
    from nlpkit.tokenize.wordpiece import load_tokenizer

    tok = load_tokenizer(model, lowercase=lowercase, strip_accents=strip_accents, max_word_chars=max_word_chars)
    writer = RecordWriter(line_buffered)
    batch = 1 if writer.line_buffered else batch_size
    lines = read_lines(inputs, strict_utf8=strict_utf8, text_field=text_field)
    jsonl = format is TokenFormat.jsonl and not decode
    tee = InputTee(lines) if echo or jsonl else None
    lines = tee if tee is not None else lines
    bad = BadLines(strict)
    if decode:
        blocks = decode_lines(tok, checked_ids(lines, tok.get_vocab_size(with_added_tokens=True), bad), batch_lines=batch)
    else:
        options = EncodeOptions(format=format.value, add_special_tokens=special_tokens, max_length=max_length, batch_lines=batch)
        blocks = encode_lines(tok, lines, options)
    if tee is not None:
        blocks = with_input(blocks, tee, jsonl)
    for block in blocks:
        writer.write_block(block)
    writer.close()
    bad.summary()


@app.command("train")
def train_cmd(
    inputs: TrainInputsArg,
    output: OutputDirOpt,
    vocab_size: Annotated[int, typer.Option("--vocab-size", help="Vocabulary size, special tokens included.")] = 30000,
    min_frequency: Annotated[int, typer.Option("--min-frequency", help="Minimum count for a merge.")] = 2,
    lowercase: Annotated[bool, typer.Option("--lowercase/--no-lowercase", help="Lowercase before learning.")] = True,
    strip_accents: StripAccentsOpt = None,
    limit_alphabet: Annotated[int, typer.Option("--limit-alphabet", help="Keep at most this many single characters.")] = 1000,
    special_tokens: Annotated[str, typer.Option("--special-tokens", help="Comma-separated special tokens, first ids.")] = "[PAD],[UNK],[CLS],[SEP],[MASK]",
    max_word_chars: Annotated[int, typer.Option("--max-word-chars", help="Longer words become one [UNK].")] = 100,
    seed: SeedOpt = 0,
    strict_utf8: StrictUtf8Opt = False,
    text_field: TextFieldOpt = "text",
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Learn a BERT-style WordPiece vocabulary; writes tokenizer.json, vocab.txt and config.json."""
    from nlpkit.tokenize.train import train_tokenizer
    from nlpkit.tokenize.wordpiece import WordPieceConfig

    config = WordPieceConfig(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        lowercase=lowercase,
        strip_accents=strip_accents,
        limit_alphabet=limit_alphabet,
        special_tokens=[t.strip() for t in special_tokens.split(",") if t.strip()],
        max_word_chars=max_word_chars,
        seed=seed,
    )
    result = train_tokenizer(inputs, output, config, strict_utf8=strict_utf8, text_field=text_field, quiet=quiet, force=force)
    log.info("wrote %s: %d pieces from %d lines", output, result["vocab_size"], result["lines"])


@app.command("stats")
def stats_cmd(
    model: ModelOpt,
    inputs: InputsArg = None,
    format: Annotated[StatsFormat, typer.Option("--format", "-f", help="text or json.")] = StatsFormat.text,
    lowercase: LowercaseOpt = None,
    strip_accents: StripAccentsOpt = None,
    max_word_chars: MaxWordCharsOpt = None,
    strict_utf8: StrictUtf8Opt = False,
    text_field: TextFieldOpt = "text",
    quiet: QuietOpt = False,
) -> None:
    """[UNK] rate, pieces per word and vocabulary coverage of a tokenizer on some text."""
    from nlpkit.corpus import read_lines
    from nlpkit.tokenize.stream import tokenize_stats
    from nlpkit.tokenize.wordpiece import load_tokenizer

    tok = load_tokenizer(model, lowercase=lowercase, strip_accents=strip_accents, max_word_chars=max_word_chars)
    stats = tokenize_stats(tok, read_lines(inputs, strict_utf8=strict_utf8, text_field=text_field))
    if format is StatsFormat.json:
        from nlpkit_cli._records import dumps, rounded

        typer.echo(dumps(rounded(stats)))
        return
    for key, value in stats.items():
        typer.echo(f"{key}\t{value:.4f}" if isinstance(value, float) else f"{key}\t{value}")


class InputTee:
    """Passes input lines through and keeps them until the output line of each is written."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.lines, self.seen = lines, deque()

    def __iter__(self) -> Iterator[str]:
        for line in self.lines:
            self.seen.append(line)  # deque appends and pops are thread-safe (a reader thread runs this)
            yield line


def with_input(blocks: Iterable[str], tee: InputTee, jsonl: bool) -> Iterator[str]:
    """Output blocks (one line per input line) with the input added: JSONL records gain ``text``
    first, other rows get the input line as their last column (``--echo``)."""
    for block in blocks:
        rows = []
        for row in block.split("\n")[:-1]:
            line = tee.seen.popleft()
            if jsonl:
                rows.append('{"text": ' + json.dumps(line, ensure_ascii=False) + ", " + row[1:])
            else:
                rows.append(row + "\t" + line.replace("\t", " "))
        yield "".join(row + "\n" for row in rows)


def checked_ids(lines: Iterable[str], vocab_size: int, bad: BadLines) -> Iterator[str]:
    """``--decode`` input: a line that is not a list of valid ids goes to ``bad`` and decodes as empty."""
    for lineno, line in enumerate(lines, 1):
        try:
            ids = [int(x) for x in line.split()]
            problem = next((f"id {i} is outside the vocabulary (size {vocab_size})" for i in ids if not 0 <= i < vocab_size), None)
        except ValueError:
            problem = "not a list of token ids"
        if problem is not None:
            bad(lineno, line, problem)
        yield "" if problem is not None else line
