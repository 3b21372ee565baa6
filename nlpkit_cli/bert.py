"""`nlpkit bert`: pretrain (masked LM + NSP), fill-mask, embed, export to / import from HuggingFace."""

from __future__ import annotations

import json
import logging
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from nlpkit.errors import ConfigError
from nlpkit_cli._common import (
    DeviceOpt,
    ForceOpt,
    InputsArg,
    LineBufferedOpt,
    ModelOpt,
    OutputDirOpt,
    ForceOpt,
    QuietOpt,
    RecordWriter,
    StrictUtf8Opt,
    TextFieldOpt,
    TrainInputsArg,
)
from nlpkit_cli._common import EchoOpt, StrictOpt, TopKAliasOpt, pick_alias
from nlpkit_cli._records import dumps, rounded
from nlpkit_cli._train_opts import (
    CheckpointEveryOpt,
    ClipOpt,
    EvalEveryOpt,
    GradAccumOpt,
    LogEveryOpt,
    MaxTimeOpt,
    MetricsOpt,
    PatienceOpt,
    PrecisionOpt,
    ResumeOpt,
    ScheduleOpt,
    TrainDeviceOpt,
    TrainSeedOpt,
    ValidOpt,
    config_values,
    run_options,
)
from nlpkit_cli._train_opts import ThreadsOpt as TrainThreadsOpt

log = logging.getLogger("nlpkit")

app = typer.Typer(no_args_is_help=True, help="BERT: pretrain (masked LM + next sentence), fill-mask, embed, export/import (HuggingFace).")


class Masking(str, Enum):
    dynamic = "dynamic"
    static = "static"


class Documents(str, Enum):
    blank_lines = "blank-lines"
    lines = "lines"


class FillFormat(str, Enum):
    text = "text"
    jsonl = "jsonl"


class EmbedFormat(str, Enum):
    jsonl = "jsonl"
    npy = "npy"


class Pool(str, Enum):
    cls = "cls"
    mean = "mean"
    none = "none"


class ExportFormat(str, Enum):
    hf = "hf"


@app.command("pretrain")
def pretrain_cmd(
    inputs: TrainInputsArg,
    output: OutputDirOpt,
    tokenizer: Annotated[Optional[str], typer.Option("--tokenizer", help="Tokenizer DIR (from `nlpkit tokenize train`) or a BERT vocab.txt; default: train one on the input.", show_default=False)] = None,
    vocab_size: Annotated[Optional[int], typer.Option("--vocab-size", help="Vocabulary size of a tokenizer trained on the fly (default 30000).", show_default=False)] = None,
    documents: Annotated[Optional[Documents], typer.Option("--documents", help="blank-lines (default): blank lines separate documents, a sentence per line (BERT's format); lines: one document per line, split into sentences.", show_default=False)] = None,
    nsp: Annotated[Optional[bool], typer.Option("--nsp/--no-nsp", help="Next-sentence prediction (default on: B is a random other document half of the time).", show_default=False)] = None,
    max_seq_len: Annotated[Optional[int], typer.Option("--max-seq-len", help="Tokens per example, [CLS]/[SEP] included (default 128).", show_default=False)] = None,
    short_seq_prob: Annotated[Optional[float], typer.Option("--short-seq-prob", help="Probability of a shorter random target length (default 0.1).", show_default=False)] = None,
    mlm_prob: Annotated[Optional[float], typer.Option("--mlm-prob", help="Share of tokens predicted (default 0.15: 80% [MASK], 10% random, 10% kept).", show_default=False)] = None,
    whole_word_mask: Annotated[bool, typer.Option("--whole-word-mask", help="Mask all pieces of a word together.")] = False,
    masking: Annotated[Optional[Masking], typer.Option("--masking", help="dynamic (default): new masks each epoch; static: the same masks every epoch.", show_default=False)] = None,
    n_layers: Annotated[Optional[int], typer.Option("--n-layers", help="Transformer layers (default 4).", min=1, show_default=False)] = None,
    d_model: Annotated[Optional[int], typer.Option("--d-model", help="Model width (default 256).", min=1, show_default=False)] = None,
    n_heads: Annotated[Optional[int], typer.Option("--n-heads", help="Attention heads (default 4).", min=1, show_default=False)] = None,
    d_ff: Annotated[Optional[int], typer.Option("--d-ff", help="Feed-forward size (default 1024).", min=1, show_default=False)] = None,
    dropout: Annotated[Optional[float], typer.Option("--dropout", help="Dropout everywhere (default 0.1).", show_default=False)] = None,
    max_position: Annotated[Optional[int], typer.Option("--max-position", help="Learned positions: the longest input the model takes (default 512).", show_default=False)] = None,
    steps: Annotated[Optional[int], typer.Option("--steps", help="Optimizer steps (default 10000); the schedule spans them.", show_default=False)] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Sequences per micro-batch and process (default 32).", show_default=False)] = None,
    lr: Annotated[Optional[float], typer.Option("--lr", help="Peak learning rate (AdamW; default 1e-4).", show_default=False)] = None,
    warmup: Annotated[Optional[float], typer.Option("--warmup", help="Linear warm-up steps (below 1: a share of --steps; default 1000), then the --schedule.", min=0, show_default=False)] = None,
    schedule: ScheduleOpt = None,
    weight_decay: Annotated[Optional[float], typer.Option("--weight-decay", help="AdamW weight decay, not on biases and LayerNorms (default 0.01).", min=0, show_default=False)] = None,
    clip: ClipOpt = None,
    grad_accum: GradAccumOpt = None,
    precision: PrecisionOpt = None,
    max_time: MaxTimeOpt = None,
    checkpoint_every: CheckpointEveryOpt = None,
    resume: ResumeOpt = False,
    force: ForceOpt = False,
    metrics: MetricsOpt = None,
    valid: ValidOpt = None,
    eval_every: EvalEveryOpt = None,
    eval_batches: Annotated[Optional[int], typer.Option("--eval-batches", help="Held-out batches per evaluation (default 20).", show_default=False)] = None,
    patience: PatienceOpt = None,
    log_every: LogEveryOpt = None,
    shuffle_buffer: Annotated[Optional[int], typer.Option("--shuffle-buffer", help="Examples in the streaming shuffle buffer (default 10000).", show_default=False)] = None,
    doc_window: Annotated[Optional[int], typer.Option("--doc-window", help="Nearby documents random B segments are drawn from (default 1000).", show_default=False)] = None,
    device: TrainDeviceOpt = None,
    threads: TrainThreadsOpt = None,
    seed: TrainSeedOpt = None,
    strict_utf8: StrictUtf8Opt = False,
    text_field: TextFieldOpt = "text",
    quiet: QuietOpt = False,
) -> None:
    """Pre-train BERT with masked LM + next-sentence prediction; runs under torchrun for DDP."""
    from nlpkit.bert.config import PretrainConfig
    from nlpkit.bert.train import pretrain

    cfg = PretrainConfig(**config_values(
        tokenizer=tokenizer, vocab_size=vocab_size, documents=documents, nsp=nsp, max_seq_len=max_seq_len,
        short_seq_prob=short_seq_prob, mlm_prob=mlm_prob, whole_word_mask=whole_word_mask or None, masking=masking,
        steps=steps, batch_size=batch_size, lr=lr, warmup=warmup, schedule=schedule, weight_decay=weight_decay, clip=clip,
        grad_accum=grad_accum, precision=precision, max_time=max_time, checkpoint_every=checkpoint_every, eval_every=eval_every,
        eval_batches=eval_batches, patience=patience, log_every=log_every, shuffle_buffer=shuffle_buffer, doc_window=doc_window,
        device=device, threads=threads, seed=seed,
    ))
    model_options = {"d_model": d_model, "n_layers": n_layers, "n_heads": n_heads, "d_ff": d_ff, "dropout": dropout, "max_position": max_position}
    config = pretrain(inputs, output, model_options, cfg, valid=valid, run=run_options(resume, force, metrics, quiet),
                      strict_utf8=strict_utf8, text_field=text_field)
    if config:
        log.info("wrote %s (%d steps, %s)", output, config["train"]["steps"], config["train"]["stopped"])


def _texts(texts: list[str] | None):  # noqa: ANN202
    from nlpkit.corpus import read_lines

    return iter(texts) if texts else read_lines(None)


def _fill_text(record: dict, echo: bool) -> str:
    from nlpkit_cli._records import ftext, tsv_row

    preds = record.get("predictions", [])
    groups = preds if preds and isinstance(preds[0], list) else [preds]
    cells = ["" if "error" in record else " ".join(f"{p['token']} {ftext(p['score'], 4)}" for p in group) for group in groups]
    return tsv_row(cells, record["text"] if echo else None)


@app.command("fill-mask")
def fill_mask_cmd(
    model: ModelOpt,
    texts: Annotated[Optional[list[str]], typer.Argument(help="Texts with [MASK]; none: one text per stdin line.", show_default=False)] = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Predictions per [MASK] (score: probability).", min=1)] = 5,
    topk: TopKAliasOpt = None,
    format: Annotated[FillFormat, typer.Option("--format", "-f", help="text (token score pairs; a tab between [MASK]s) or jsonl.")] = FillFormat.text,
    echo: EchoOpt = False,
    strict: StrictOpt = False,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Texts per forward pass.", min=1)] = 32,
    device: DeviceOpt = "auto",
    line_buffered: LineBufferedOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Predict the tokens behind [MASK]: one output line per input text.

    A text without [MASK] gets an error record (jsonl) or an empty row and a warning; --strict
    stops there instead.
    """
    from nlpkit.bert.artifact import load_bert
    from nlpkit.bert.use import fill_mask
    from nlpkit.device import resolve_device
    from nlpkit_cli._records import BadLines

    net, tok, _ = load_bert(model, resolve_device(device))
    writer = RecordWriter(line_buffered)
    bad = BadLines(strict)
    records = fill_mask(net, tok, _texts(texts), topk=pick_alias(top_k, topk), batch_size=1 if writer.line_buffered else batch_size)
    for lineno, record in enumerate(records, 1):
        if "error" in record:
            bad(lineno, record["text"], record["error"])
        writer.write(dumps(rounded(record)) if format is FillFormat.jsonl else _fill_text(record, echo))
    writer.close()
    bad.summary()


@app.command("embed")
def embed_cmd(
    model: ModelOpt,
    inputs: InputsArg = None,
    pool: Annotated[Pool, typer.Option("--pool", help="cls or mean: a vector per line; none: a vector per token (jsonl only).")] = Pool.mean,
    layer: Annotated[int, typer.Option("--layer", help="Hidden layer: 0 embeddings .. L last; negative counts from the end.")] = -1,
    format: Annotated[EmbedFormat, typer.Option("--format", "-f", help="jsonl on stdout, or npy (an (N, hidden) float32 array in --output).")] = EmbedFormat.jsonl,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="The .npy file for --format npy.", show_default=False)] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Lines per forward pass.", min=1)] = 32,
    device: DeviceOpt = "auto",
    strict_utf8: StrictUtf8Opt = False,
    text_field: TextFieldOpt = "text",
    line_buffered: LineBufferedOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Contextual vectors from a BERT model, per line (--pool cls|mean) or per token (--pool none)."""
    from nlpkit.bert.artifact import load_bert
    from nlpkit.bert.use import embed, save_npy
    from nlpkit.corpus import read_lines
    from nlpkit.device import resolve_device

    if format is EmbedFormat.npy and (output is None or pool is Pool.none):
        raise ConfigError("--format npy needs --output FILE.npy and --pool cls or mean", "or use --format jsonl")
    net, tok, _ = load_bert(model, resolve_device(device))
    writer = RecordWriter(line_buffered)
    batch_size = 1 if writer.line_buffered and format is EmbedFormat.jsonl else batch_size  # answer each line as it comes
    records = embed(net, tok, read_lines(inputs, strict_utf8=strict_utf8, text_field=text_field), pool=pool.value, layer=layer, batch_size=batch_size)
    if format is EmbedFormat.npy:
        n = save_npy(records, output)
        log.info("wrote %d vectors to %s", n, output)
        return
    for record in records:
        writer.write(dumps(rounded(record)))
    writer.close()


@app.command("export")
def export_cmd(
    model: ModelOpt,
    output: OutputDirOpt,
    format: Annotated[ExportFormat, typer.Option("--format", "-f", help="hf: a transformers BertForPreTraining directory.")] = ExportFormat.hf,
    force: ForceOpt = False,
) -> None:
    """Write a directory that transformers' BertForPreTraining / BertForMaskedLM .from_pretrained() loads."""
    from nlpkit.bert.hf import export_hf

    export_hf(model, output, force=force)
    log.info("wrote %s", output)


@app.command("import")
def import_cmd(
    source: Annotated[Path, typer.Argument(help="A HuggingFace BERT directory (config.json, model.safetensors or pytorch_model.bin, vocab.txt).", show_default=False)],
    output: OutputDirOpt,
    force: ForceOpt = False,
) -> None:
    """Turn a HuggingFace BERT directory into an nlpkit bert model."""
    from nlpkit.bert.hf import import_hf

    import_hf(source, output, force=force)
    log.info("wrote %s", output)
