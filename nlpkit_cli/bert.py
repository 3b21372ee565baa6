"""`nlpkit bert`: pretrain (masked LM + NSP), fill-mask, embed, export to / import from HuggingFace."""

from __future__ import annotations

import json
import logging
import re
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from nlpkit.errors import ConfigError
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

log = logging.getLogger("nlpkit")

app = typer.Typer(no_args_is_help=True, help="BERT: pretrain (masked LM + next sentence), fill-mask, embed, export/import (HuggingFace).")


class Precision(str, Enum):
    fp32 = "fp32"
    bf16 = "bf16"
    fp16 = "fp16"


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


def parse_duration(text: str | None) -> float | None:
    """'90' or '90s', '15m', '2h', '1h30m' -> seconds."""
    if text is None:
        return None
    parts = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*", text)
    if not text.strip() or parts is None or not any(parts.groups()):
        raise ConfigError(f"--max-time {text!r} is not a duration", "write e.g. 900, 15m, 2h or 1h30m")
    h, m, s = (float(g) if g else 0.0 for g in parts.groups())
    return h * 3600 + m * 60 + s


@app.command("pretrain")
def pretrain_cmd(
    inputs: TrainInputsArg,
    output: OutputDirOpt,
    tokenizer: Annotated[Optional[str], typer.Option("--tokenizer", help="Tokenizer DIR (from `nlpkit tokenize train`) or a BERT vocab.txt; default: train one on the input.", show_default=False)] = None,
    vocab_size: Annotated[int, typer.Option("--vocab-size", help="Vocabulary size of a tokenizer trained on the fly.")] = 30000,
    documents: Annotated[Documents, typer.Option("--documents", help="blank-lines: blank lines separate documents, a sentence per line (BERT's format); lines: one document per line, split into sentences.")] = Documents.blank_lines,
    nsp: Annotated[bool, typer.Option("--nsp/--no-nsp", help="Next-sentence prediction (B is a random other document half of the time).")] = True,
    max_seq_len: Annotated[int, typer.Option("--max-seq-len", help="Tokens per example, [CLS]/[SEP] included.")] = 128,
    short_seq_prob: Annotated[float, typer.Option("--short-seq-prob", help="Probability of a shorter random target length.")] = 0.1,
    mlm_prob: Annotated[float, typer.Option("--mlm-prob", help="Share of tokens predicted (80% [MASK], 10% random, 10% kept).")] = 0.15,
    whole_word_mask: Annotated[bool, typer.Option("--whole-word-mask", help="Mask all pieces of a word together.")] = False,
    masking: Annotated[Masking, typer.Option("--masking", help="dynamic: new masks each epoch; static: the same masks every epoch.")] = Masking.dynamic,
    layers: Annotated[int, typer.Option("--layers", help="Transformer layers.")] = 4,
    hidden: Annotated[int, typer.Option("--hidden", help="Hidden size.")] = 256,
    heads: Annotated[int, typer.Option("--heads", help="Attention heads.")] = 4,
    intermediate: Annotated[int, typer.Option("--intermediate", help="Feed-forward size.")] = 1024,
    dropout: Annotated[float, typer.Option("--dropout", help="Dropout everywhere.")] = 0.1,
    max_position: Annotated[int, typer.Option("--max-position", help="Learned positions (the longest input the model takes).")] = 512,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate (AdamW).")] = 1e-4,
    warmup: Annotated[int, typer.Option("--warmup", help="Linear warm-up steps, then linear decay to 0 at --steps.")] = 1000,
    steps: Annotated[int, typer.Option("--steps", help="Optimizer steps.")] = 10000,
    max_time: Annotated[Optional[str], typer.Option("--max-time", help="Stop and save after this long (900, 15m, 2h); the schedule still spans --steps.", show_default=False)] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Sequences per micro-batch and process.")] = 32,
    grad_accum: Annotated[int, typer.Option("--grad-accum", help="Micro-batches per optimizer step.")] = 1,
    weight_decay: Annotated[float, typer.Option("--weight-decay", help="AdamW weight decay.")] = 0.01,
    clip_norm: Annotated[float, typer.Option("--clip-norm", help="Gradient-norm clipping (0: off).")] = 1.0,
    precision: Annotated[Precision, typer.Option("--precision", help="fp32, bf16 (CUDA or CPU) or fp16 (CUDA).")] = Precision.fp32,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    valid: Annotated[Optional[list[str]], typer.Option("--valid", help="Held-out text, evaluated every --eval-every steps (repeatable).", show_default=False)] = None,
    metrics: Annotated[Optional[Path], typer.Option("--metrics", help="Append a JSONL record per logging step to FILE.", show_default=False)] = None,
    log_every: Annotated[int, typer.Option("--log-every", help="Steps between metrics records.")] = 50,
    eval_every: Annotated[int, typer.Option("--eval-every", help="Steps between held-out evaluations.")] = 500,
    eval_batches: Annotated[int, typer.Option("--eval-batches", help="Held-out batches per evaluation.")] = 20,
    checkpoint_every: Annotated[int, typer.Option("--checkpoint-every", help="Steps between resume checkpoints (0: none).")] = 500,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the checkpoint in the output directory.")] = False,
    shuffle_buffer: Annotated[int, typer.Option("--shuffle-buffer", help="Examples in the streaming shuffle buffer.")] = 10000,
    doc_window: Annotated[int, typer.Option("--doc-window", help="Nearby documents random B segments are drawn from.")] = 1000,
    threads: Annotated[Optional[int], typer.Option("--threads", help="Torch CPU threads.", show_default=False)] = None,
    strict_utf8: StrictUtf8Opt = False,
    text_field: TextFieldOpt = "text",
    quiet: QuietOpt = False,
) -> None:
    """Pre-train BERT with masked LM + next-sentence prediction; runs under torchrun for DDP."""
    from nlpkit.bert.config import PretrainConfig
    from nlpkit.bert.model import BertConfig
    from nlpkit.bert.pretrain import pretrain

    model_cfg = BertConfig(hidden=hidden, layers=layers, heads=heads, intermediate=intermediate, dropout=dropout, max_position=max_position)
    cfg = PretrainConfig(
        tokenizer=tokenizer, vocab_size=vocab_size, documents=documents.value, nsp=nsp, max_seq_len=max_seq_len,
        short_seq_prob=short_seq_prob, mlm_prob=mlm_prob, whole_word_mask=whole_word_mask, masking=masking.value,
        lr=lr, warmup=warmup, steps=steps, max_time=parse_duration(max_time), batch_size=batch_size, grad_accum=grad_accum,
        weight_decay=weight_decay, clip_norm=clip_norm, precision=precision.value, device=device, seed=seed,
        log_every=log_every, checkpoint_every=checkpoint_every, eval_every=eval_every, eval_batches=eval_batches,
        shuffle_buffer=shuffle_buffer, doc_window=doc_window, threads=threads,
    )
    record = pretrain(inputs, output, model_cfg, cfg, valid=valid, metrics=metrics, resume=resume, strict_utf8=strict_utf8, text_field=text_field, quiet=quiet)
    log.info("wrote %s (step %s, loss %.4f)", output, record.get("step"), record.get("loss") or float("nan"))


def _texts(texts: list[str] | None):  # noqa: ANN202
    from nlpkit.corpus import read_lines

    return iter(texts) if texts else read_lines(None)


def _fill_text(record: dict) -> str:
    preds = record["predictions"]
    groups = preds if preds and isinstance(preds[0], list) else [preds]
    return "\t".join(" ".join(f"{p['token']} {p['score']:.4f}" for p in group) for group in groups)


@app.command("fill-mask")
def fill_mask_cmd(
    model: ModelOpt,
    texts: Annotated[Optional[list[str]], typer.Argument(help="Texts with [MASK]; none: one text per stdin line.", show_default=False)] = None,
    topk: Annotated[int, typer.Option("--topk", help="Predictions per [MASK].", min=1)] = 5,
    format: Annotated[FillFormat, typer.Option("--format", "-f", help="text (token score pairs; a tab between [MASK]s) or jsonl.")] = FillFormat.text,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Texts per forward pass.", min=1)] = 32,
    device: DeviceOpt = "auto",
    line_buffered: LineBufferedOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Predict the tokens behind [MASK]: one output line per input text."""
    from nlpkit.bert.artifact import load_bert
    from nlpkit.bert.use import fill_mask
    from nlpkit.device import resolve_device

    net, tok, _ = load_bert(model, resolve_device(device))
    writer = RecordWriter(line_buffered)
    for record in fill_mask(net, tok, _texts(texts), topk=topk, batch_size=1 if writer.line_buffered else batch_size):
        writer.write(json.dumps(record, ensure_ascii=False) if format is FillFormat.jsonl else _fill_text(record))
    writer.close()


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
        writer.write(json.dumps(record, ensure_ascii=False))
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
