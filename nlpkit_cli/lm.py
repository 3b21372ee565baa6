"""`nlpkit lm`: train n-gram and neural language models, score text, sample, import ARPA files.

Nothing heavy is imported at module level: n-gram scoring never loads torch.
"""

from __future__ import annotations

import logging
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from nlpkit_cli._common import (
    DeviceOpt,
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
)
from nlpkit_cli.lm_format import format_record, parse_prune, summary_lines

log = logging.getLogger("nlpkit")

app = typer.Typer(no_args_is_help=True, help="Language models: `train` (n-gram or neural), `score`, `generate`, `import`.")


class Arch(str, Enum):
    ngram = "ngram"
    nplm = "nplm"
    rnn = "rnn"
    gru = "gru"
    lstm = "lstm"
    transformer = "transformer"


class ScoreFormat(str, Enum):
    tsv = "tsv"
    jsonl = "jsonl"


class Optim(str, Enum):
    adam = "adam"
    sgd = "sgd"


def _opt(flag: str, text: str, **kw):  # noqa: ANN003, ANN202 - a short alias keeps the signature readable
    return typer.Option(flag, help=text, **kw)


@app.command("train")
def train_cmd(
    inputs: TrainInputsArg,
    output: OutputDirOpt,
    arch: Annotated[Arch, _opt("--arch", "ngram, nplm, rnn, gru, lstm or transformer.")] = Arch.ngram,
    order: Annotated[int, _opt("--order", "n-gram: the longest n-gram.")] = 5,
    prune: Annotated[str, _opt("--prune", "n-gram: per-order count thresholds, e.g. 0,0,1 (last repeats).")] = "",
    vocab_limit: Annotated[Optional[int], _opt("--vocab-limit", "n-gram: keep the N most frequent words.")] = None,
    min_count: Annotated[int, _opt("--min-count", "Rarer words become <unk>.")] = 1,
    max_vocab: Annotated[Optional[int], _opt("--max-vocab", "Neural: vocabulary size, specials included.")] = None,
    tokenizer: Annotated[Optional[Path], _opt("--tokenizer", "Neural: a WordPiece tokenizer dir instead of words.")] = None,
    valid: Annotated[Optional[Path], _opt("--valid", "Neural: validation text (model selection, lr decay).")] = None,
    context: Annotated[int, _opt("--context", "nplm: words of history.")] = 4,
    d_model: Annotated[Optional[int], _opt("--d-model", "Neural: embedding size.")] = None,
    d_hidden: Annotated[Optional[int], _opt("--d-hidden", "nplm/rnn: hidden units.")] = None,
    n_layers: Annotated[Optional[int], _opt("--n-layers", "rnn/transformer: layers.")] = None,
    n_heads: Annotated[Optional[int], _opt("--n-heads", "transformer: attention heads.")] = None,
    d_ff: Annotated[Optional[int], _opt("--d-ff", "transformer: feed-forward size.")] = None,
    max_len: Annotated[Optional[int], _opt("--max-len", "transformer: longest context.")] = None,
    dropout: Annotated[Optional[float], _opt("--dropout", "Neural: dropout rate.")] = None,
    direct: Annotated[bool, _opt("--direct", "nplm: direct input-output connections.")] = False,
    tie_weights: Annotated[bool, _opt("--tie-weights/--no-tie-weights", "Neural: tie input and output embeddings.")] = True,
    epochs: Annotated[int, _opt("--epochs", "Neural: passes over the data.")] = 10,
    max_time: Annotated[Optional[float], _opt("--max-time", "Neural: stop after SECONDS, keep the best model.")] = None,
    batch_size: Annotated[int, _opt("--batch-size", "Neural: parallel streams.")] = 20,
    bptt: Annotated[int, _opt("--bptt", "Neural: tokens per truncated-BPTT segment.")] = 35,
    optimizer: Annotated[Optim, _opt("--optimizer", "Neural: adam or sgd.")] = Optim.adam,
    lr: Annotated[float, _opt("--lr", "Neural: learning rate.")] = 1e-3,
    lr_decay: Annotated[float, _opt("--lr-decay", "Neural: lr factor when valid ppl stalls.")] = 0.5,
    clip: Annotated[float, _opt("--clip", "Neural: max gradient norm (0: off).")] = 0.25,
    eval_every: Annotated[int, _opt("--eval-every", "Neural: steps between validations (0: per epoch).")] = 0,
    amp: Annotated[bool, _opt("--amp/--no-amp", "Neural: bfloat16 mixed precision on CUDA.")] = True,
    resume: Annotated[bool, _opt("--resume", "Continue a killed job from its checkpoint.")] = False,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    strict_utf8: StrictUtf8Opt = False,
    text_field: TextFieldOpt = "text",
    quiet: QuietOpt = False,
) -> None:
    """Train a language model; writes config.json and model.arpa (n-gram) or model.safetensors."""
    if arch is Arch.ngram:
        from nlpkit.lm.ngram_train import NgramConfig, train_ngram

        cfg = NgramConfig(order=order, prune=parse_prune(prune), min_count=min_count, vocab_limit=vocab_limit)
        result = train_ngram(inputs, output, cfg, strict_utf8=strict_utf8, text_field=text_field)
        log.info("wrote %s: %s n-grams", output, "/".join(map(str, result["train"]["ngrams"])))
        return
    from nlpkit.lm.neural_train import train_neural
    from nlpkit.lm.train import TrainConfig

    tcfg = TrainConfig(epochs=epochs, max_time=max_time, batch_size=batch_size, bptt=bptt, optimizer=optimizer.value,
                       lr=lr, lr_decay=lr_decay, clip=clip, eval_every=eval_every, amp=amp, seed=seed)
    options = dict(context=context, d_model=d_model, d_hidden=d_hidden, n_layers=n_layers, n_heads=n_heads, d_ff=d_ff,
                   max_len=max_len, dropout=dropout, direct=direct, tie_weights=tie_weights)
    result = train_neural(inputs, output, arch.value, options, tcfg, valid=str(valid) if valid else None,
                          tokenizer=str(tokenizer) if tokenizer else None, min_count=min_count, max_vocab=max_vocab,
                          device=device, resume=resume, quiet=quiet, strict_utf8=strict_utf8, text_field=text_field)
    log.info("wrote %s: best valid ppl %s", output, result["train"]["best_valid_ppl"])


@app.command("score")
def score_cmd(
    model: ModelOpt,
    inputs: InputsArg = None,
    format: Annotated[ScoreFormat, typer.Option("--format", "-f", help="tsv (log10_prob, tokens, oov, ppl) or jsonl.")] = ScoreFormat.tsv,
    per_token: Annotated[bool, _opt("--per-token", "Add each token's log10 p (and n-gram length).")] = False,
    summary: Annotated[bool, _opt("--summary", "Print corpus perplexity (with and without OOVs) to stderr.")] = False,
    batch_size: Annotated[int, _opt("--batch-size", "Neural: sentences per batch.", min=1)] = 64,
    device: DeviceOpt = "auto",
    strict_utf8: StrictUtf8Opt = False,
    text_field: TextFieldOpt = "text",
    line_buffered: LineBufferedOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Score each input line (an empty line too): log10 p with </s>, tokens, OOVs, perplexity."""
    from nlpkit.corpus import read_lines
    from nlpkit.lm.score import Summary, score_lines

    totals = Summary() if summary else None
    writer = RecordWriter(line_buffered)
    lines = read_lines(inputs, strict_utf8=strict_utf8, text_field=text_field)
    records = score_lines(model, lines, per_token=per_token, device=device, batch_size=batch_size, summary=totals,
                          interactive=writer.line_buffered)
    for record in records:
        writer.write(format_record(record, format.value, per_token))
    writer.close()
    if totals is not None:
        for line in summary_lines(totals):
            typer.echo(line, err=True)


@app.command("generate")
def generate_cmd(
    model: ModelOpt,
    prompt: Annotated[str, _opt("--prompt", "Words to start from.")] = "",
    max_tokens: Annotated[int, _opt("--max-tokens", "Longest sample, in tokens.")] = 50,
    temperature: Annotated[float, _opt("--temperature", "Below 1: safer; above 1: wilder.")] = 1.0,
    top_k: Annotated[int, _opt("--top-k", "Sample among the K most likely tokens (0: all).")] = 0,
    top_p: Annotated[float, _opt("--top-p", "Nucleus sampling: smallest set with this probability.")] = 1.0,
    num: Annotated[int, _opt("--num", "How many samples.")] = 1,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
) -> None:
    """Sample sentences, one per output line."""
    from nlpkit.lm.generate import GenerateConfig, generate

    cfg = GenerateConfig(prompt=prompt, max_tokens=max_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
                         num=num, seed=seed)
    for text in generate(model, cfg, device=device):
        typer.echo(text)


@app.command("import")
def import_cmd(
    arpa: Annotated[Path, typer.Argument(help="An ARPA file (.gz/.bz2/.xz too), e.g. from KenLM's lmplz.", show_default=False)],
    output: OutputDirOpt,
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Make a model directory from any ARPA file, for `lm score` and `lm generate`."""
    from nlpkit.lm.ngram_train import import_arpa

    result = import_arpa(arpa, output, force=force)
    log.info("wrote %s: %s n-grams", output, "/".join(map(str, result["train"]["ngrams"])))
