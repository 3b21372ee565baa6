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
    EchoOpt,
    InputsArg,
    LineBufferedOpt,
    ModelOpt,
    OutputDirOpt,
    QuietOpt,
    SeedOpt,
    StrictOpt,
    StrictUtf8Opt,
    TextFieldOpt,
    TrainInputsArg,
    pick_alias,
)
from nlpkit_cli._common import ForceOpt
from nlpkit_cli._train_opts import (
    CheckpointEveryOpt,
    ClipOpt,
    DFfOpt,
    DHiddenOpt,
    DModelOpt,
    DropoutOpt,
    EpochsOpt,
    EvalEveryOpt,
    GradAccumOpt,
    LogEveryOpt,
    LrDecayOpt,
    LrOpt,
    MaxTimeOpt,
    MetricsOpt,
    MinLrOpt,
    NHeadsOpt,
    NLayersOpt,
    OptimizerOpt,
    PatienceOpt,
    PrecisionOpt,
    ResumeOpt,
    ScheduleOpt,
    ThreadsOpt,
    TrainDeviceOpt,
    TrainSeedOpt,
    ValidOpt,
    WarmupOpt,
    WeightDecayOpt,
    config_values,
    run_options,
)
from nlpkit_cli._runtime import options
from nlpkit_cli.lm_format import parse_prune
from nlpkit_cli.lm_score_run import ScoreFormat, ScoreOptions, run_score

_S = ScoreOptions  # the defaults of `lm score`, written once

log = logging.getLogger("nlpkit")

app = typer.Typer(no_args_is_help=True, help="Language models: `train` (n-gram or neural), `score`, `generate`, `import`, `export`.")


class Arch(str, Enum):
    ngram = "ngram"
    nplm = "nplm"
    rnn = "rnn"
    gru = "gru"
    lstm = "lstm"
    transformer = "transformer"


def _opt(flag: str, text: str, **kw):  # noqa: ANN003, ANN202 - a short alias keeps the signature readable
    return typer.Option(flag, help=text, **kw)


@app.command("train")
def train_cmd(
    inputs: TrainInputsArg,
    output: OutputDirOpt,
    arch: Annotated[Arch, _opt("--arch", "ngram, nplm, rnn, gru, lstm or transformer.")] = Arch.ngram,
    order: Annotated[int, _opt("--order", "n-gram: the longest n-gram.")] = 5,
    prune: Annotated[str, _opt("--prune", "n-gram: per-order count thresholds, e.g. 0,0,1 (last repeats).")] = "",
    vocab_limit: Annotated[Optional[int], _opt("--vocab-limit", "Old name of --max-vocab (n-gram).", hidden=True)] = None,
    min_count: Annotated[Optional[int], _opt("--min-count", "Rarer words become <unk> (default 1).", show_default=False)] = None,
    max_vocab: Annotated[Optional[int], _opt("--max-vocab", "Vocabulary size limit: n-gram: the N most frequent words; neural: specials included.")] = None,
    tokenizer: Annotated[Optional[Path], _opt("--tokenizer", "A WordPiece tokenizer dir: model pieces, not words (no OOVs).")] = None,
    lowercase: Annotated[bool, _opt("--lowercase", "n-gram: lowercase the text; lm score/generate do the same.")] = False,
    arpa: Annotated[bool, _opt("--arpa", "n-gram: also write DIR/model.arpa.")] = False,
    quantize: Annotated[int, _opt("--quantize", "n-gram: 8 stores probabilities in one byte each (0: float32).")] = 0,
    memory: Annotated[str, _opt("--memory", "n-gram: RAM budget, e.g. 4G; beyond it counting and estimation work from files in --temp-dir.")] = "2G",
    temp_dir: Annotated[Optional[Path], _opt("--temp-dir", "n-gram: where spilled counts and estimation files go (default: system tmp).")] = None,
    valid: ValidOpt = None,
    context: Annotated[Optional[int], _opt("--context", "nplm: words of history (default 4).", show_default=False)] = None,
    d_model: DModelOpt = None,
    d_hidden: DHiddenOpt = None,
    n_layers: NLayersOpt = None,
    n_heads: NHeadsOpt = None,
    d_ff: DFfOpt = None,
    max_len: Annotated[Optional[int], _opt("--max-len", "transformer: longest context (default 128).", show_default=False)] = None,
    dropout: DropoutOpt = None,
    direct: Annotated[Optional[bool], _opt("--direct/--no-direct", "nplm: direct input-output connections (default off).", show_default=False)] = None,
    tie_weights: Annotated[Optional[bool], _opt("--tie-weights/--no-tie-weights", "Neural: tie input and output embeddings (default: on with a full softmax).", show_default=False)] = None,
    adaptive_softmax: Annotated[Optional[bool], _opt("--adaptive-softmax/--no-adaptive-softmax", "rnn/gru/lstm: adaptive softmax (default: on from 2,000 words of vocabulary, without --tie-weights).", show_default=False)] = None,
    batch_size: Annotated[Optional[int], _opt("--batch-size", "Neural: sentences per batch (default 32).", min=1, show_default=False)] = None,
    epochs: EpochsOpt = None,
    max_time: MaxTimeOpt = None,
    checkpoint_every: CheckpointEveryOpt = None,
    resume: ResumeOpt = False,
    force: ForceOpt = False,
    metrics: MetricsOpt = None,
    eval_every: EvalEveryOpt = None,
    patience: PatienceOpt = None,
    lr: LrOpt = None,
    warmup: WarmupOpt = None,
    schedule: ScheduleOpt = None,
    lr_decay: LrDecayOpt = None,
    min_lr: MinLrOpt = None,
    optimizer: OptimizerOpt = None,
    weight_decay: WeightDecayOpt = None,
    clip: ClipOpt = None,
    grad_accum: GradAccumOpt = None,
    precision: PrecisionOpt = None,
    log_every: LogEveryOpt = None,
    device: TrainDeviceOpt = None,
    threads: ThreadsOpt = None,
    seed: TrainSeedOpt = None,
    strict_utf8: StrictUtf8Opt = False,
    text_field: TextFieldOpt = "text",
    quiet: QuietOpt = False,
) -> None:
    """Train a language model; writes config.json and ngram.bin (n-gram) or model.safetensors."""
    if arch is Arch.ngram:
        from nlpkit.lm.ngram_train import NgramConfig, train_ngram

        given = {"min_count": min_count} if min_count is not None else {}
        cfg = NgramConfig(order=order, prune=parse_prune(prune), vocab_limit=pick_alias(max_vocab, vocab_limit),
                          lowercase=lowercase, tokenizer=str(tokenizer) if tokenizer else None, quantize=quantize, arpa=arpa,
                          memory=memory, temp_dir=str(temp_dir) if temp_dir else None, **given)
        result = train_ngram(inputs, output, cfg, strict_utf8=strict_utf8, text_field=text_field, force=force)
        log.info("wrote %s: %s n-grams", output, "/".join(map(str, result["train"]["ngrams"])))
        return
    from nlpkit.lm.neural_train import train_neural
    from nlpkit.lm.train import TrainConfig

    tcfg = TrainConfig(**config_values(
        epochs=epochs, max_time=max_time, checkpoint_every=checkpoint_every, eval_every=eval_every, patience=patience,
        lr=lr, warmup=warmup, schedule=schedule, lr_decay=lr_decay, min_lr=min_lr, optimizer=optimizer,
        weight_decay=weight_decay, clip=clip, grad_accum=grad_accum, precision=precision, log_every=log_every,
        device=device, threads=threads, seed=seed, batch_size=batch_size, min_count=min_count, max_vocab=max_vocab,
        tokenizer=str(tokenizer) if tokenizer else None,
    ))
    options = dict(context=context, d_model=d_model, d_hidden=d_hidden, n_layers=n_layers, n_heads=n_heads, d_ff=d_ff,
                   max_len=max_len, dropout=dropout, direct=direct, tie_weights=tie_weights,
                   adaptive_softmax=adaptive_softmax)
    result = train_neural(inputs, output, arch.value, options, tcfg, valid=valid, run=run_options(resume, force, metrics, quiet),
                          strict_utf8=strict_utf8, text_field=text_field)
    if result:
        log.info("wrote %s: best valid ppl %s", output, result["train"].get("best_valid_ppl"))


@app.command("score")
def score_cmd(
    model: ModelOpt,
    inputs: InputsArg = _S.inputs,
    format: Annotated[ScoreFormat, typer.Option("--format", "-f", help="tsv (log10_prob, n_tokens, n_oov, ppl) or jsonl.")] = _S.format,
    per_token: Annotated[bool, _opt("--per-token", "Add each token's log10 p, n-gram length, OOV mark.")] = _S.per_token,
    summary: Annotated[bool, _opt("--summary", "Print corpus perplexity (without, then with OOVs) to stderr.")] = _S.summary,
    batch_size: Annotated[int, _opt("--batch-size", "Neural: sentences per batch.", min=1)] = _S.batch_size,
    context: Annotated[bool, _opt("--context", "Document mode: the lines are running text; each is scored after "
                                  "the previous ones (neural: state carried; n-gram: the last n-1 words).")] = _S.context,
    threads: Annotated[int, _opt("--threads", "n-gram: score batches of lines on N threads (0: one per core, at most 4).", min=0)] = _S.threads,
    device: DeviceOpt = _S.device,
    strict_utf8: StrictUtf8Opt = _S.strict_utf8,
    text_field: TextFieldOpt = _S.text_field,
    line_buffered: LineBufferedOpt = _S.line_buffered,
    echo: EchoOpt = _S.echo,
    strict: StrictOpt = _S.strict,
    quiet: QuietOpt = False,
) -> None:
    """Score each input line (an empty line too): log10 p with </s>, tokens, OOVs, perplexity."""
    run_score(options(ScoreOptions, locals()))


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
    quantize: Annotated[int, _opt("--quantize", "8 stores probabilities in one byte each (0: float32).")] = 0,
    keep_arpa: Annotated[bool, _opt("--arpa", "Also keep a copy of the ARPA file as DIR/model.arpa.")] = False,
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Make a model directory (compact ngram.bin) from any ARPA file, for `lm score` and `lm generate`."""
    from nlpkit.lm.ngram_train import import_arpa

    result = import_arpa(arpa, output, quantize=quantize, keep_arpa=keep_arpa, force=force)
    log.info("wrote %s: %s n-grams", output, "/".join(map(str, result["train"]["ngrams"])))


class ExportFormat(str, Enum):
    arpa = "arpa"


@app.command("export")
def export_cmd(
    model: ModelOpt,
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write.", show_default=False)],
    format: Annotated[ExportFormat, typer.Option("--format", "-f", help="arpa (KenLM, SRILM and others read it).")] = ExportFormat.arpa,
    quiet: QuietOpt = False,
) -> None:
    """Write an n-gram model as an ARPA file, e.g. `nlpkit lm export -m kn5 -o kn5.arpa`."""
    from nlpkit.lm.ngram_train import export_arpa

    n = export_arpa(model, output)
    log.info("wrote %s: %d n-grams", output, n)


def _eval_lines(path: Optional[Path]) -> list[str]:
    from nlpkit.corpus import read_lines

    return [line for line in read_lines([str(path)]) if line.strip()] if path else []


EvalOpt = Annotated[Optional[Path], _opt("--eval", "Text to report perplexity on, before and after.")]


@app.command("prune")
def prune_cmd(
    model: ModelOpt,
    output: OutputDirOpt,
    threshold: Annotated[float, _opt("--threshold", "Prune n-grams whose removal raises perplexity by less than T (relative).")] = 1e-8,
    eval_text: EvalOpt = None,
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Entropy-based pruning (Stolcke 1998), e.g. `nlpkit lm prune -m kn5 --threshold 1e-7 -o kn5p`."""
    from nlpkit.lm.ngram_model import load_ngram
    from nlpkit.lm.ngram_train import derive_model, model_tables
    from nlpkit.lm.prune import entropy_prune, perplexity

    before = load_ngram(model)
    lines = _eval_lines(eval_text)
    tables, removed = entropy_prune(model_tables(before), threshold)
    result = derive_model(model, tables, output, {"pruned": {"threshold": threshold, "removed": removed}}, force=force)
    log.info("wrote %s: %s n-grams (removed %s)", output, "/".join(map(str, result["train"]["ngrams"])),
             "/".join(map(str, removed)))
    if lines:
        log.info("perplexity on %s: %.6g before, %.6g after", eval_text, perplexity(before, lines),
                 perplexity(load_ngram(output), lines))


@app.command("filter")
def filter_cmd(
    model: ModelOpt,
    output: OutputDirOpt,
    vocab: Annotated[Path, _opt("--vocab", "Words to keep: a file of whitespace-separated words.", show_default=False)],
    eval_text: EvalOpt = None,
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Keep only n-grams over a vocabulary, e.g. `nlpkit lm filter -m kn5 --vocab words.txt -o small`."""
    from nlpkit.lm.ngram_model import load_ngram
    from nlpkit.lm.ngram_train import derive_model, model_tables
    from nlpkit.lm.prune import filter_vocab, perplexity

    before = load_ngram(model)
    words = set(vocab.read_text(encoding="utf-8").split())
    tables = filter_vocab(model_tables(before), words)
    result = derive_model(model, tables, output, {"filtered": {"vocab": str(vocab), "words": len(words)}}, force=force)
    log.info("wrote %s: %s n-grams", output, "/".join(map(str, result["train"]["ngrams"])))
    lines = _eval_lines(eval_text)
    if lines:
        log.info("perplexity on %s: %.6g before, %.6g after", eval_text, perplexity(before, lines),
                 perplexity(load_ngram(output), lines))


@app.command("interpolate")
def interpolate_cmd(
    models: Annotated[list[Path], typer.Option("--model", "-m", help="A model to mix (give two or more).", show_default=False)],
    tune: Annotated[Path, _opt("--tune", "Held-out text the weights are tuned on (EM).", show_default=False)],
    output: OutputDirOpt,
    batch_size: Annotated[int, _opt("--batch-size", "Neural: sentences per batch.", min=1)] = 64,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Mix models linearly with EM-tuned weights, e.g. `nlpkit lm interpolate -m kn5 -m lstm --tune valid.txt -o mix`."""
    from nlpkit.corpus import read_lines
    from nlpkit.lm.interpolate import interpolate

    lines = list(read_lines([str(tune)]))
    result = interpolate(models, lines, output, device=device, batch_size=batch_size, tune_name=str(tune), force=force)
    log.info("wrote %s: weights %s", output, " ".join(f"{w:.4g}" for w in result["model"]["weights"]))
