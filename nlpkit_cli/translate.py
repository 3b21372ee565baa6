"""`nlpkit translate`: train encoder-decoder models on parallel text, translate, evaluate with BLEU."""

from __future__ import annotations

import json
import logging
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from nlpkit_cli._common import (
    DeviceOpt,
    ForceOpt,
    InputsArg,
    LineBufferedOpt,
    ModelOpt,
    OutputDirOpt,
    QuietOpt,
    RecordWriter,
    StrictUtf8Opt,
    TextFieldOpt,
    default_group,
)
from nlpkit_cli._common import EchoOpt
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
    MaxTimeOpt,
    MetricsOpt,
    NHeadsOpt,
    NLayersOpt,
    OptimizerOpt,
    PatienceOpt,
    PrecisionOpt,
    ResumeOpt,
    Schedule,
    TrainDeviceOpt,
    TrainSeedOpt,
    ValidOpt,
    WeightDecayOpt,
    config_values,
    run_options,
)
from nlpkit_cli._train_opts import ThreadsOpt as TrainThreadsOpt

log = logging.getLogger("nlpkit")

app = typer.Typer(
    cls=default_group("decode"),
    no_args_is_help=True,
    help="Machine translation. `nlpkit translate -m MODEL [INPUT...]` translates (the `decode` command); "
    "`train` trains a model on parallel text; `eval` measures sacreBLEU.",
)


class Arch(str, Enum):
    rnn_attn = "rnn-attn"
    rnn = "rnn"
    transformer = "transformer"


class Cell(str, Enum):
    gru = "gru"
    lstm = "lstm"


class Sampling(str, Enum):
    none = "none"
    linear = "linear"
    exp = "exp"
    sigmoid = "sigmoid"


class Positions(str, Enum):
    sinusoidal = "sinusoidal"
    learned = "learned"


class Metric(str, Enum):
    bleu = "bleu"
    loss = "loss"


class OutFormat(str, Enum):
    text = "text"
    jsonl = "jsonl"


class EvalFormat(str, Enum):
    text = "text"
    json = "json"


SrcColOpt = Annotated[int, typer.Option("--src-col", help="TSV column of the source sentence (from 1).", min=1)]
TgtColOpt = Annotated[int, typer.Option("--tgt-col", help="TSV column of the target sentence (from 1).", min=1)]
BeamOpt = Annotated[int, typer.Option("--beam", "-b", help="Beam size (1 = greedy search).")]
LenpenOpt = Annotated[float, typer.Option("--lenpen", help="Length normalisation: score = logprob / length**ALPHA (0 = none).")]
MaxLenAOpt = Annotated[float, typer.Option("--max-len-a", help="Output limit: A * source pieces + B.")]
MaxLenBOpt = Annotated[int, typer.Option("--max-len-b", help="Output limit: A * source pieces + B.")]
MinLenOpt = Annotated[int, typer.Option("--min-len", help="No EOS before this many pieces.")]
NoRepeatOpt = Annotated[int, typer.Option("--no-repeat-ngram", help="Never repeat an n-gram of this size (0 = off).")]
EarlyStopOpt = Annotated[bool, typer.Option("--early-stop", help="Stop a sentence at its K-th finished hypothesis (fairseq; faster, may miss a better, longer one).")]
MaxTokensOpt = Annotated[int, typer.Option("--max-tokens", help="Source pieces per decoding batch.", min=1)]
ThreadsOpt = Annotated[int, typer.Option("--threads", help="CPU threads for torch (0 = all cores).", min=0)]


@app.command("decode")
def decode_cmd(
    model: ModelOpt,
    inputs: InputsArg = None,
    beam: BeamOpt = 5,
    nbest: Annotated[int, typer.Option("--nbest", help="Hypotheses per line (text: tab-separated, best first).")] = 1,
    lenpen: LenpenOpt = 1.0,
    max_len_a: MaxLenAOpt = 1.5,
    max_len_b: MaxLenBOpt = 10,
    min_len: MinLenOpt = 1,
    no_repeat_ngram: NoRepeatOpt = 0,
    early_stop: EarlyStopOpt = False,
    format: Annotated[OutFormat, typer.Option("--format", "-f", help="text, or jsonl with scores, pieces and length terms.")] = OutFormat.text,
    echo: EchoOpt = False,
    attention: Annotated[bool, typer.Option("--attention", help="Add the attention matrix to each JSONL hypothesis.")] = False,
    attention_plot: Annotated[Optional[Path], typer.Option("--attention-plot", help="Draw the attention of one line as a heatmap (PNG; needs matplotlib).")] = None,
    plot_line: Annotated[int, typer.Option("--plot-line", help="Input line (from 1) that --attention-plot draws.", min=1)] = 1,
    max_tokens: MaxTokensOpt = 4000,
    max_sentences: Annotated[int, typer.Option("--max-sentences", help="Sentences per decoding batch.", min=1)] = 128,
    device: DeviceOpt = "auto",
    threads: ThreadsOpt = 0,
    strict_utf8: StrictUtf8Opt = False,
    text_field: TextFieldOpt = "text",
    line_buffered: LineBufferedOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Translate each input line (one output line per input line, in order)."""
    from nlpkit.corpus import read_lines
    from nlpkit.translate.beam import BeamConfig
    from nlpkit.translate.decode import translate_lines
    from nlpkit.translate.model import load_translator
    from nlpkit.device import set_threads
    from nlpkit.translate.output import check_plot, jsonl_record, text_record, with_plot

    set_threads(threads)
    want_attn = attention or attention_plot is not None
    config = BeamConfig(beam, nbest, lenpen, max_len_a, max_len_b, min_len, no_repeat_ngram, attention=want_attn, early_stop=early_stop)
    translator = load_translator(model, device)
    check_plot(translator, want_attn)
    writer = RecordWriter(line_buffered)
    lines = read_lines(inputs, strict_utf8=strict_utf8, text_field=text_field)
    chunk = 1 if writer.line_buffered else 256
    results = translate_lines(translator, lines, config, max_tokens=max_tokens, max_sentences=max_sentences, chunk_lines=chunk)
    if attention_plot is not None:
        results = with_plot(results, translator.vocabs.tgt, attention_plot, plot_line)
    for t in results:
        writer.write(jsonl_record(t, translator.vocabs.tgt, attention) if format is OutFormat.jsonl else text_record(t, echo))
    writer.close()


@app.command("train")
def train_cmd(
    output: OutputDirOpt,
    inputs: Annotated[Optional[list[str]], typer.Argument(help="Parallel TSV files (source<TAB>target), or use --src/--tgt.", show_default=False)] = None,
    arch: Annotated[Arch, typer.Option("--arch", help="rnn-attn (Bahdanau attention), rnn (no attention) or transformer.")] = Arch.rnn_attn,
    src: Annotated[Optional[Path], typer.Option("--src", help="Source side, one sentence per line (with --tgt).")] = None,
    tgt: Annotated[Optional[Path], typer.Option("--tgt", help="Target side, line-aligned with --src.")] = None,
    src_col: SrcColOpt = 1,
    tgt_col: TgtColOpt = 2,
    valid: ValidOpt = None,
    valid_src: Annotated[Optional[Path], typer.Option("--valid-src", help="Validation source file (with --valid-tgt).")] = None,
    valid_tgt: Annotated[Optional[Path], typer.Option("--valid-tgt", help="Validation target file.")] = None,
    vocab_size: Annotated[Optional[int], typer.Option("--vocab-size", help="WordPiece vocabulary size (per side, or joint; default 8000).", show_default=False)] = None,
    joint_vocab: Annotated[bool, typer.Option("--joint-vocab", help="One vocabulary for both sides.")] = False,
    lowercase: Annotated[bool, typer.Option("--lowercase", help="Lowercase both sides.")] = False,
    max_len: Annotated[Optional[int], typer.Option("--max-len", help="Drop training pairs longer than this (pieces; default 100); transformer position limit.", show_default=False)] = None,
    cell: Annotated[Optional[Cell], typer.Option("--cell", help="Recurrent cell (rnn, rnn-attn; default gru).", show_default=False)] = None,
    d_embed: Annotated[Optional[int], typer.Option("--d-embed", help="Embedding size (rnn, rnn-attn; default 256).", show_default=False)] = None,
    d_hidden: DHiddenOpt = None,
    d_attn: Annotated[Optional[int], typer.Option("--d-attn", help="Additive attention size (rnn-attn; default 256).", show_default=False)] = None,
    n_layers: NLayersOpt = None,
    d_model: DModelOpt = None,
    n_heads: NHeadsOpt = None,
    d_ff: DFfOpt = None,
    positions: Annotated[Optional[Positions], typer.Option("--positions", help="sinusoidal (default) or learned (transformer).", show_default=False)] = None,
    norm_first: Annotated[Optional[bool], typer.Option("--norm-first/--post-norm", help="Pre-LN (default, stable) or post-LN as in the paper (transformer).", show_default=False)] = None,
    share_embeddings: Annotated[bool, typer.Option("--share-embeddings", help="One embedding table for both sides (transformer, needs --joint-vocab).")] = False,
    dropout: DropoutOpt = None,
    max_tokens: Annotated[Optional[int], typer.Option("--max-tokens", help="Padded tokens per batch (default 4000 rnn, 2000 transformer); batches hold sentences of similar length.", show_default=False)] = None,
    label_smoothing: Annotated[Optional[float], typer.Option("--label-smoothing", help="Default 0 rnn, 0.1 transformer.", show_default=False)] = None,
    teacher_forcing: Annotated[Optional[float], typer.Option("--teacher-forcing", help="Probability of feeding the reference token; the floor of --scheduled-sampling (default 1 without a schedule, 0 with one).", show_default=False)] = None,
    scheduled_sampling: Annotated[Sampling, typer.Option("--scheduled-sampling", help="Curriculum from reference to model inputs: linear, exp or sigmoid.")] = Sampling.none,
    ss_k: Annotated[Optional[float], typer.Option("--ss-k", help="The schedule's k (linear: updates to the floor; exp: k<1; sigmoid: k>=1).")] = None,
    valid_metric: Annotated[Optional[Metric], typer.Option("--valid-metric", help="Keep the best model by greedy BLEU (default) or by loss.", show_default=False)] = None,
    valid_lines: Annotated[Optional[int], typer.Option("--valid-lines", help="Validation pairs translated for BLEU (default 500).", min=1, show_default=False)] = None,
    epochs: EpochsOpt = None,
    max_time: MaxTimeOpt = None,
    checkpoint_every: CheckpointEveryOpt = None,
    resume: ResumeOpt = False,
    force: ForceOpt = False,
    metrics: MetricsOpt = None,
    eval_every: EvalEveryOpt = None,
    patience: PatienceOpt = None,
    lr: Annotated[Optional[float], typer.Option("--lr", help="Peak learning rate (default 1e-3).", show_default=False)] = None,
    warmup: Annotated[Optional[float], typer.Option("--warmup", help="Linear warm-up steps (below 1: a share of all steps; default 0 rnn, 400 transformer).", min=0, show_default=False)] = None,
    schedule: Annotated[Optional[Schedule], typer.Option("--schedule", help="After warm-up (default constant rnn, inverse_sqrt transformer); see --help of the engine's flags in the README.", show_default=False)] = None,
    optimizer: OptimizerOpt = None,
    weight_decay: WeightDecayOpt = None,
    clip: ClipOpt = None,
    grad_accum: GradAccumOpt = None,
    precision: PrecisionOpt = None,
    log_every: LogEveryOpt = None,
    device: TrainDeviceOpt = None,
    threads: TrainThreadsOpt = None,
    seed: TrainSeedOpt = None,
    strict_utf8: StrictUtf8Opt = False,
    quiet: QuietOpt = False,
) -> None:
    """Train a translation model; writes config.json, model.safetensors and the tokenizer(s). Runs under torchrun."""
    from nlpkit.translate.config import TrainConfig
    from nlpkit.translate.data import ParallelSource
    from nlpkit.translate.train import train_translation

    cfg = TrainConfig(**config_values(
        arch=arch, max_tokens=max_tokens, label_smoothing=label_smoothing, teacher_forcing=teacher_forcing,
        scheduled_sampling=scheduled_sampling, ss_k=ss_k, valid_metric=valid_metric, valid_lines=valid_lines,
        vocab_size=vocab_size, joint_vocab=joint_vocab or None, lowercase=lowercase or None, max_len=max_len,
        epochs=epochs, max_time=max_time, checkpoint_every=checkpoint_every, eval_every=eval_every, patience=patience,
        lr=lr, warmup=warmup, schedule=schedule, optimizer=optimizer, weight_decay=weight_decay, clip=clip,
        grad_accum=grad_accum, precision=precision, log_every=log_every, device=device, threads=threads, seed=seed,
    ))
    source = ParallelSource(inputs, src, tgt, src_col, tgt_col, strict_utf8)
    valid_source = None
    if valid or valid_src is not None or valid_tgt is not None:
        valid_source = ParallelSource(valid, valid_src, valid_tgt, src_col, tgt_col, strict_utf8)
    model_options = config_values(
        cell=cell, d_embed=d_embed, d_hidden=d_hidden, d_attn=d_attn, d_model=d_model, n_heads=n_heads, d_ff=d_ff,
        positions=positions, norm_first=norm_first, share_embeddings=share_embeddings or None, n_layers=n_layers, dropout=dropout,
    )
    config = train_translation(source, output, model_options, cfg, valid=valid_source, run=run_options(resume, force, metrics, quiet))
    if config:
        bleu = config["train"].get("best_valid_bleu")
        log.info("wrote %s: %d steps in %.0f s%s", output, config["train"]["steps"], config["train"]["seconds"],
                 f", valid BLEU {bleu:.2f}" if bleu is not None else "")


@app.command("eval")
def eval_cmd(
    model: ModelOpt,
    src: Annotated[Path, typer.Option("--src", help="Source sentences, one per line.", show_default=False)],
    ref: Annotated[Path, typer.Option("--ref", help="Reference translations, line-aligned with --src.", show_default=False)],
    beam: Annotated[str, typer.Option("--beam", "-b", help="Comma-separated beam sizes, one row each.")] = "1,5",
    lenpen: LenpenOpt = 1.0,
    max_len_a: MaxLenAOpt = 1.5,
    max_len_b: MaxLenBOpt = 10,
    min_len: MinLenOpt = 1,
    no_repeat_ngram: NoRepeatOpt = 0,
    early_stop: EarlyStopOpt = False,
    format: Annotated[EvalFormat, typer.Option("--format", "-f", help="text (two TSV tables) or json.")] = EvalFormat.text,
    max_tokens: MaxTokensOpt = 4000,
    device: DeviceOpt = "auto",
    threads: ThreadsOpt = 0,
    strict_utf8: StrictUtf8Opt = False,
    quiet: QuietOpt = False,
) -> None:
    """Detokenised sacreBLEU per beam size, with its signature, and BLEU by source length."""
    from nlpkit.translate.beam import BeamConfig
    from nlpkit.translate.evaluate import evaluate, read_test_set
    from nlpkit.device import set_threads
    from nlpkit.translate.model import load_translator

    set_threads(threads)
    beams = _beam_list(beam)
    base = BeamConfig(beams[0], 1, lenpen, max_len_a, max_len_b, min_len, no_repeat_ngram, early_stop=early_stop)
    sources, references = read_test_set(src, ref, strict_utf8)
    result = evaluate(load_translator(model, device), sources, references, beams, base, max_tokens=max_tokens)
    if format is EvalFormat.json:
        from nlpkit_cli._records import dumps, rounded

        typer.echo(dumps(rounded(result)))
        return
    typer.echo("beam\tbleu\tbp\tsys_len\tref_len\tseconds\tsignature")
    for r in result["rows"]:
        typer.echo(f"{r['beam']}\t{r['bleu']:.2f}\t{r['bp']:.3f}\t{r['sys_len']}\t{r['ref_len']}\t{r['seconds']}\t{r['signature']}")
    typer.echo("beam\tsource_words\tsentences\tbleu")
    for r in result["by_length"]:
        typer.echo(f"{r['beam']}\t{r['bucket']}\t{r['sentences']}\t{r['bleu']:.2f}")


def _beam_list(text: str) -> list[int]:
    from nlpkit.errors import ConfigError

    try:
        beams = [int(b) for b in text.split(",") if b.strip()]
    except ValueError:
        raise ConfigError(f"--beam {text!r} is not a list of numbers", "write e.g. --beam 1,5,10") from None
    if not beams or min(beams) < 1:
        raise ConfigError(f"--beam {text!r}: beam sizes must be at least 1", "write e.g. --beam 1,5,10")
    return beams
