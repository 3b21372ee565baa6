"""`nlpkit tokenize`: train a WordPiece vocabulary, encode and decode text, vocabulary statistics."""

from __future__ import annotations

import json
import logging
from enum import Enum
from pathlib import Path
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
    decode: Annotated[bool, typer.Option("--decode", help="Input lines are space-separated ids; print text.")] = False,
    lowercase: LowercaseOpt = None,
    strip_accents: StripAccentsOpt = None,
    max_word_chars: MaxWordCharsOpt = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Lines per encode batch.", min=1)] = 4096,
    strict_utf8: StrictUtf8Opt = False,
    text_field: TextFieldOpt = "text",
    line_buffered: LineBufferedOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Encode text into WordPiece tokens or ids, one output line per input line."""
    from nlpkit.corpus import read_lines
    from nlpkit.tokenize_stream import EncodeOptions, decode_lines, encode_lines
    from nlpkit.wordpiece import load_tokenizer

    tok = load_tokenizer(model, lowercase=lowercase, strip_accents=strip_accents, max_word_chars=max_word_chars)
    writer = RecordWriter(line_buffered)
    batch = 1 if writer.line_buffered else batch_size
    lines = read_lines(inputs, strict_utf8=strict_utf8, text_field=text_field)
    if decode:
        blocks = decode_lines(tok, lines, batch_lines=batch)
    else:
        options = EncodeOptions(format=format.value, add_special_tokens=special_tokens, max_length=max_length, batch_lines=batch)
        blocks = encode_lines(tok, lines, options)
    for block in blocks:
        writer.write_block(block)
    writer.close()


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
    from nlpkit.tokenize_train import train_tokenizer
    from nlpkit.wordpiece import WordPieceConfig

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
    from nlpkit.tokenize_stream import tokenize_stats
    from nlpkit.wordpiece import load_tokenizer

    tok = load_tokenizer(model, lowercase=lowercase, strip_accents=strip_accents, max_word_chars=max_word_chars)
    stats = tokenize_stats(tok, read_lines(inputs, strict_utf8=strict_utf8, text_field=text_field))
    if format is StatsFormat.json:
        typer.echo(json.dumps(stats))
        return
    for key, value in stats.items():
        typer.echo(f"{key}\t{value:.4f}" if isinstance(value, float) else f"{key}\t{value}")
