"""`nlpkit classify`: train a text classifier (avg, bilstm, bert), predict labels, evaluate."""

from __future__ import annotations

import json
import logging
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from nlpkit_cli._common import (
    DeviceOpt,
    InputsArg,
    LineBufferedOpt,
    ModelOpt,
    OutputDirOpt,
    QuietOpt,
    RecordWriter,
    SeedOpt,
    StrictUtf8Opt,
    TextFieldOpt,
    TrainInputsArg,
    default_group,
)
from nlpkit_cli._common import EchoOpt, ForceOpt, StrictOpt
from nlpkit_cli._train_opts import (
    CheckpointEveryOpt,
    ClipOpt,
    EpochsOpt,
    EvalEveryOpt,
    GradAccumOpt,
    LogEveryOpt,
    MaxTimeOpt,
    MetricsOpt,
    OptimizerOpt,
    PatienceOpt,
    PrecisionOpt,
    ResumeOpt,
    ScheduleOpt,
    TrainDeviceOpt,
    TrainSeedOpt,
    ValidOpt,
    WarmupOpt,
    WeightDecayOpt,
    config_values,
    run_options,
)
from nlpkit_cli._train_opts import ThreadsOpt as TrainThreadsOpt

log = logging.getLogger("nlpkit")

app = typer.Typer(
    cls=default_group("predict"),
    no_args_is_help=True,
    help="Text classification. `nlpkit classify -m DIR [INPUT...]` predicts a label per line (the `predict` "
    "command); `train` trains a classifier on label<TAB>text data; `eval` measures one on labelled data.",
)


class Arch(str, Enum):
    avg = "avg"
    bilstm = "bilstm"
    bert = "bert"


class PredictFormat(str, Enum):
    text = "text"
    tsv = "tsv"
    jsonl = "jsonl"


class InputFormat(str, Enum):
    text = "text"
    tsv = "tsv"


class EvalFormat(str, Enum):
    text = "text"
    json = "json"


LabelColOpt = Annotated[Optional[int], typer.Option("--label-col", min=1, help="Column of the label, counting from 1 (default 1; eval: the model's).", show_default=False)]
TextColOpt = Annotated[Optional[int], typer.Option("--text-col", min=1, help="Column of the text, counting from 1 (default 2; eval/predict: the model's).", show_default=False)]
BatchOpt = Annotated[int, typer.Option("--batch-size", help="Texts per batch.", min=1)]
ThreadsOpt = Annotated[Optional[int], typer.Option("--threads", help="CPU threads for torch (0: all cores; default: torch's).", min=0, show_default=False)]


@app.command("predict")
def predict_cmd(
    model: ModelOpt,
    inputs: InputsArg = None,
    format: Annotated[PredictFormat, typer.Option("--format", "-f", help="text (the label), tsv (label<TAB>probability) or jsonl ({\"text\", \"label\", \"score\", \"scores\"}).")] = PredictFormat.text,
    input_format: Annotated[Optional[InputFormat], typer.Option("--input-format", help="text: classify whole lines (tabs included); tsv: classify column --text-col (default: tsv when --text-col is given, else text).", show_default=False)] = None,
    text_col: Annotated[Optional[int], typer.Option("--text-col", min=1, help="With tsv input: the column of the text, from 1 (default: the model's training column).", show_default=False)] = None,
    echo: EchoOpt = False,
    strict: StrictOpt = False,
    batch_size: BatchOpt = 64,
    device: DeviceOpt = "auto",
    threads: ThreadsOpt = None,
    strict_utf8: StrictUtf8Opt = False,
    text_field: TextFieldOpt = "text",
    line_buffered: LineBufferedOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Predict a label for every input line, in order; score: the probability of that label.

    A tsv line without the --text-col column is a bad line: an error record (jsonl) or an empty row
    and a warning; --strict stops there instead.
    """
    from nlpkit.classify.artifact import load_classifier
    from nlpkit.classify.data import check_text_col
    from nlpkit.classify.predict import predict_lines
    from nlpkit.corpus import read_lines
    from nlpkit.device import set_threads
    from nlpkit_cli._records import BadLines

    set_threads(threads)
    clf = load_classifier(model, device)
    col = text_col or clf.config.get("train", {}).get("text_col", 2)
    check_text_col(col)
    how = (input_format or (InputFormat.tsv if text_col else InputFormat.text)).value
    writer = RecordWriter(line_buffered)
    bad = BadLines(strict)
    lines = read_lines(inputs, strict_utf8=strict_utf8, text_field=text_field)
    results = predict_lines(clf, lines, how, col, batch_size, chunk_size=1 if writer.line_buffered else 4096)
    for lineno, r in enumerate(results, 1):
        if r.error is not None:
            bad(lineno, r.line, r.error)
        writer.write(_format_prediction(r, format, echo))
    writer.close()
    bad.summary()


def _format_prediction(r: Any, format: PredictFormat, echo: bool) -> str:
    from nlpkit_cli._records import NA, dumps, fnum, tsv_row

    p = r.prediction
    if format is PredictFormat.jsonl:
        if p is None:
            return dumps({"text": r.line, "error": r.error})
        scores = {k: fnum(v) for k, v in p.scores.items()}
        return dumps({"text": r.line, "label": p.label, "score": fnum(p.score), "scores": scores})
    echoed = r.line if echo else None
    if format is PredictFormat.tsv:
        return tsv_row(["", NA] if p is None else [p.label, float(p.score)], echoed)
    return tsv_row(["" if p is None else p.label], echoed)


@app.command("train")
def train_cmd(
    inputs: TrainInputsArg,
    output: OutputDirOpt,
    arch: Annotated[Arch, typer.Option("--arch", help="avg: averaged word embeddings; bilstm: bidirectional RNN; bert: fine-tune --bert.")] = Arch.avg,
    valid: ValidOpt = None,
    valid_fraction: Annotated[Optional[float], typer.Option("--valid-fraction", help="Without --valid: hold out this share of the training data.", show_default=False)] = None,
    label_col: LabelColOpt = None,
    text_col: TextColOpt = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Examples per step (default 32).", min=1, show_default=False)] = None,
    min_count: Annotated[Optional[int], typer.Option("--min-count", help="Rarer training words become <unk> (avg, bilstm; default 2).", show_default=False)] = None,
    max_vocab: Annotated[Optional[int], typer.Option("--max-vocab", help="Most words kept (default 0: all).", show_default=False)] = None,
    d_model: Annotated[Optional[int], typer.Option("--d-model", help="Word embedding size (default 64 avg, 128 bilstm).", show_default=False)] = None,
    d_hidden: Annotated[Optional[int], typer.Option("--d-hidden", help="bilstm: state size per direction (default 128).", show_default=False)] = None,
    n_layers: Annotated[Optional[int], typer.Option("--n-layers", help="bilstm: stacked layers (default 1).", show_default=False)] = None,
    cell: Annotated[Optional[str], typer.Option("--cell", help="bilstm: lstm (default) or gru.", show_default=False)] = None,
    pooling: Annotated[Optional[str], typer.Option("--pooling", help="bilstm: max (default), mean or last.", show_default=False)] = None,
    dropout: Annotated[Optional[float], typer.Option("--dropout", help="Dropout (default 0 avg, 0.3 bilstm, 0.1 bert).", show_default=False)] = None,
    max_len: Annotated[Optional[int], typer.Option("--max-len", help="Tokens per text kept (default: all for avg, 400 bilstm, 256 bert or the encoder's positions if fewer).", show_default=False)] = None,
    vectors: Annotated[Optional[str], typer.Option("--vectors", help="Initialise embeddings from `nlpkit embed train` vectors (DIR).", show_default=False)] = None,
    freeze_vectors: Annotated[bool, typer.Option("--freeze-vectors", help="Keep the --vectors embeddings fixed.")] = False,
    bert: Annotated[Optional[str], typer.Option("--bert", help="bert: encoder DIR from `nlpkit bert pretrain`.", show_default=False)] = None,
    init: Annotated[Optional[str], typer.Option("--init", help="avg, bilstm: start from this trained classifier (DIR, same --arch) and fine-tune it: its vocabulary (new words become <unk>), sizes and weights; labels it lacks get new output rows. Only --dropout and --max-len of the model flags may be given.", show_default=False)] = None,
    epochs: EpochsOpt = None,
    max_time: MaxTimeOpt = None,
    checkpoint_every: CheckpointEveryOpt = None,
    resume: ResumeOpt = False,
    force: ForceOpt = False,
    metrics: MetricsOpt = None,
    eval_every: EvalEveryOpt = None,
    patience: PatienceOpt = None,
    lr: Annotated[Optional[float], typer.Option("--lr", help="Peak AdamW learning rate (default 5e-3 avg, 2e-3 bilstm, 3e-5 bert).", show_default=False)] = None,
    warmup: WarmupOpt = None,
    schedule: ScheduleOpt = None,
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
    """Train a classifier on label<TAB>text lines; writes config.json, model.safetensors and the vocabulary."""
    from nlpkit.classify.config import TrainConfig
    from nlpkit.classify.train import train_classifier

    cfg = TrainConfig(**config_values(
        arch=arch, epochs=epochs, max_time=max_time, checkpoint_every=checkpoint_every, eval_every=eval_every,
        patience=patience, lr=lr, warmup=warmup, schedule=schedule, optimizer=optimizer, weight_decay=weight_decay,
        clip=clip, grad_accum=grad_accum, precision=precision, log_every=log_every, device=device, threads=threads,
        seed=seed, batch_size=batch_size, valid_fraction=valid_fraction, min_count=min_count, max_vocab=max_vocab,
        label_col=label_col, text_col=text_col, vectors=vectors, freeze_vectors=freeze_vectors or None, init=init,
    ))
    model_options = {"d_model": d_model, "d_hidden": d_hidden, "n_layers": n_layers, "cell": cell,
                     "pooling": pooling, "dropout": dropout, "max_len": max_len, "bert": bert}
    config = train_classifier(inputs, output, model_options, cfg, valid=valid, run=run_options(resume, force, metrics, quiet),
                              strict_utf8=strict_utf8)
    if config:
        best = config["train"].get("best_valid_accuracy")
        log.info("wrote %s (%s, %d labels%s)", output, arch.value, len(config["labels"]), f", valid accuracy {best:.4f}" if best is not None else "")


@app.command("eval")
def eval_cmd(
    model: ModelOpt,
    inputs: InputsArg = None,
    label_col: LabelColOpt = None,
    text_col: TextColOpt = None,
    format: Annotated[EvalFormat, typer.Option("--format", "-f", help="text or json.")] = EvalFormat.text,
    batch_size: BatchOpt = 64,
    device: DeviceOpt = "auto",
    threads: ThreadsOpt = None,
    strict_utf8: StrictUtf8Opt = False,
    quiet: QuietOpt = False,
) -> None:
    """Accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix on labelled data."""
    from nlpkit.classify.evaluate import evaluate
    from nlpkit.device import set_threads

    set_threads(threads)
    report = evaluate(model, inputs, label_col=label_col, text_col=text_col, device=device, batch_size=batch_size, strict_utf8=strict_utf8)
    if format is EvalFormat.json:
        from nlpkit_cli._records import dumps, rounded

        typer.echo(dumps(rounded(report)))
        return
    typer.echo("\n".join(_report_lines(report)))


def _report_lines(report: dict[str, Any]) -> list[str]:
    labels = report["labels"]
    lines = [f"examples\t{report['examples']}", f"accuracy\t{report['accuracy']:.4f}", f"macro_f1\t{report['macro_f1']:.4f}", ""]
    lines.append("label\tprecision\trecall\tf1\tsupport")
    for label, c in report["per_class"].items():
        lines.append(f"{label}\t{c['precision']:.4f}\t{c['recall']:.4f}\t{c['f1']:.4f}\t{c['support']}")
    lines += ["", "confusion (rows: gold, columns: predicted)", "\t" + "\t".join(labels)]
    lines += [label + "\t" + "\t".join(str(n) for n in row) for label, row in zip(labels, report["confusion"])]
    return lines
