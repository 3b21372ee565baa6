"""`nlpkit tag`: sequence tagging (named entities, chunks, parts of speech): train, predict, evaluate."""

from __future__ import annotations

import logging
from enum import Enum
from typing import Annotated, Any, Optional

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
    StrictOpt,
    StrictUtf8Opt,
    TrainInputsArg,
    default_group,
)
from nlpkit_cli._records import BadLines, dumps, fnum
from nlpkit_cli._train_opts import (
    CheckpointEveryOpt,
    ClipOpt,
    EpochsOpt,
    EvalEveryOpt,
    GradAccumOpt,
    LogEveryOpt,
    LrDecayOpt,
    LrOpt,
    MaxTimeOpt,
    MetricsOpt,
    MinLrOpt,
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
    help="Sequence tagging (named entities, chunks, POS). `nlpkit tag -m DIR [INPUT...]` tags one sentence per line "
    "(the `predict` command); `train` trains a BiLSTM-CRF or BERT tagger on CoNLL/JSONL data; `eval` scores one as conlleval does.",
)


class Arch(str, Enum):
    bilstm = "bilstm"
    unidirectional = "unidirectional"
    bert = "bert"


class Scheme(str, Enum):
    iob1 = "iob1"
    iob2 = "iob2"
    iobes = "iobes"


class CharEncoder(str, Enum):
    lstm = "lstm"
    cnn = "cnn"


class OutFormat(str, Enum):
    conll = "conll"
    jsonl = "jsonl"
    spans = "spans"


class InFormat(str, Enum):
    text = "text"
    conll = "conll"


class EvalFormat(str, Enum):
    text = "text"
    json = "json"


def _opt(flag: str, text: str, **kw: Any) -> Any:
    return typer.Option(flag, help=text, show_default=False, **kw)


WordColOpt = Annotated[Optional[int], _opt("--word-col", "CoNLL column of the words, from 0; negative counts from the end (default 0; eval/predict: the model's).")]
TagColOpt = Annotated[Optional[int], _opt("--tag-col", "CoNLL column of the tags (default -1, the last; eval: the model's; predict: gold tags to check and keep).")]
BatchOpt = Annotated[int, typer.Option("--batch-size", help="Sentences per batch.", min=1)]
ThreadsOpt = Annotated[Optional[int], _opt("--threads", "CPU threads for torch (default: torch's).")]


@app.command("train")
def train_cmd(
    inputs: TrainInputsArg,
    output: OutputDirOpt,
    valid: ValidOpt = None,
    arch: Annotated[Optional[Arch], _opt("--arch", "bilstm (default): bidirectional LSTM; unidirectional: left-to-right LSTM; bert: fine-tune --bert.")] = None,
    crf: Annotated[Optional[bool], _opt("--crf/--no-crf", "A CRF output layer with Viterbi decoding (default), or a softmax per token.")] = None,
    scheme: Annotated[Optional[Scheme], _opt("--scheme", "Chunk scheme to train in (default iob2); data may be in any, output goes back to the data's.")] = None,
    word_col: WordColOpt = None,
    tag_col: TagColOpt = None,
    batch_size: Annotated[Optional[int], _opt("--batch-size", "Sentences per step (default 16).", min=1)] = None,
    valid_fraction: Annotated[Optional[float], _opt("--valid-fraction", "Without --valid: hold out this share of the sentences (default 0.1).")] = None,
    min_count: Annotated[Optional[int], _opt("--min-count", "Rarer training words become <unk> (default 1).", min=1)] = None,
    unk_replace: Annotated[Optional[float], _opt("--unk-replace", "Chance that a word seen once is trained as <unk>, per epoch (default 0.5).")] = None,
    d_model: Annotated[Optional[int], _opt("--d-model", "Word embedding size (default 100; with --vectors, theirs).", min=1)] = None,
    d_hidden: Annotated[Optional[int], _opt("--d-hidden", "LSTM state size per direction (default 100).", min=1)] = None,
    n_layers: Annotated[Optional[int], _opt("--n-layers", "Stacked LSTM layers (default 1).", min=1)] = None,
    dropout: Annotated[Optional[float], _opt("--dropout", "Dropout on the LSTM's input and output (default 0.5); bert: on its output (0.1).")] = None,
    char_dim: Annotated[Optional[int], _opt("--char-dim", "Character features: character embedding size; each word gets 2x this (default 0: off).", min=0)] = None,
    char_encoder: Annotated[Optional[CharEncoder], _opt("--char-encoder", "lstm: a character BiLSTM per word (default); cnn: a convolution.")] = None,
    case_dim: Annotated[Optional[int], _opt("--case-dim", "Case-feature embedding size (default 4; 0: off).", min=0)] = None,
    lowercase: Annotated[Optional[bool], _opt("--lowercase/--no-lowercase", "Look words up lowercased (default on).")] = None,
    vectors: Annotated[Optional[str], _opt("--vectors", "Word vectors DIR from `nlpkit embed train`/`embed import` for the embeddings.")] = None,
    freeze_vectors: Annotated[bool, typer.Option("--freeze-vectors", help="Keep the --vectors embeddings fixed.")] = False,
    bert: Annotated[Optional[str], _opt("--bert", "--arch bert: encoder DIR from `nlpkit bert pretrain`/`bert import`.")] = None,
    max_len: Annotated[Optional[int], _opt("--max-len", "--arch bert: pieces per sentence (default 512 or the encoder's positions).", min=3)] = None,
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
    threads: TrainThreadsOpt = None,
    seed: TrainSeedOpt = None,
    strict_utf8: StrictUtf8Opt = False,
    quiet: QuietOpt = False,
) -> None:
    """Train a tagger on CoNLL columns or JSONL {"tokens", "tags"}; writes config.json, model.safetensors, the vocabulary."""
    from nlpkit.tag.config import TagConfig
    from nlpkit.tag.train import train_tagger

    cfg = TagConfig(**config_values(
        arch=arch, crf=crf, scheme=scheme, word_col=word_col, tag_col=tag_col, batch_size=batch_size,
        valid_fraction=valid_fraction, min_count=min_count, unk_replace=unk_replace, d_model=d_model, d_hidden=d_hidden,
        n_layers=n_layers, dropout=dropout, char_dim=char_dim, char_encoder=char_encoder, case_dim=case_dim,
        lowercase=lowercase, vectors=vectors, freeze_vectors=freeze_vectors or None, bert=bert, max_len=max_len,
        epochs=epochs, max_time=max_time, checkpoint_every=checkpoint_every, eval_every=eval_every, patience=patience,
        lr=lr, warmup=warmup, schedule=schedule, lr_decay=lr_decay, min_lr=min_lr, optimizer=optimizer,
        weight_decay=weight_decay, clip=clip, grad_accum=grad_accum, precision=precision, log_every=log_every,
        device=device, threads=threads, seed=seed,
    ))
    config = train_tagger(inputs, output, cfg, valid=valid, run=run_options(resume, force, metrics, quiet), strict_utf8=strict_utf8)
    if config:
        metric = "best_valid_accuracy" if config["scheme"] == "none" else "best_valid_f1"
        best = config["train"].get(metric)
        log.info("wrote %s (%s, %d tags%s)", output, cfg.arch, len(config["tags"]), f", {metric[5:]} {best:.4f}" if best is not None else "")


@app.command("predict")
def predict_cmd(
    model: ModelOpt,
    inputs: InputsArg = None,
    format: Annotated[OutFormat, typer.Option("--format", "-f", help="conll: token<TAB>tag lines, a blank line after each sentence; jsonl: {\"tokens\", \"tags\"}; spans: {\"text\", \"entities\"} with character offsets.")] = OutFormat.conll,
    input_format: Annotated[InFormat, typer.Option("--input-format", help="text: one sentence per line; conll: CoNLL columns (or JSONL {\"tokens\"}).")] = InFormat.text,
    tokenize: Annotated[bool, typer.Option("--tokenize", help="Text input: split punctuation off words (default: whitespace tokens).")] = False,
    word_col: WordColOpt = None,
    tag_col: TagColOpt = None,
    probs: Annotated[bool, typer.Option("--probs", help="Add each token's probability of its tag (CRF marginals).")] = False,
    batch_size: BatchOpt = 32,
    device: DeviceOpt = "auto",
    threads: ThreadsOpt = None,
    strict: StrictOpt = False,
    strict_utf8: StrictUtf8Opt = False,
    line_buffered: LineBufferedOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Tag every input sentence, in order: one record per sentence (per line for text input)."""
    from nlpkit.device import set_threads
    from nlpkit.tag.artifact import load_tagger
    from nlpkit.tag.predict import check_gold, predict

    set_threads(threads)
    tagger = load_tagger(model, device)
    items = _items(inputs, input_format, tokenize, word_col if word_col is not None else tagger.config["model"]["word_col"], tag_col, strict_utf8)
    if tag_col is not None:
        items = check_gold(items, tagger)
    writer, bad = RecordWriter(line_buffered), BadLines(strict)
    for tagged in predict(tagger, items, batch_size=batch_size, probs=probs, chunk_size=1 if writer.line_buffered else 1024):
        writer.write(_record(tagged, format, bad))
    writer.close()
    bad.summary()


def _items(inputs: Any, input_format: InFormat, tokenize: bool, word_col: int, tag_col: int | None, strict_utf8: bool) -> Any:
    from nlpkit.corpus import read_lines
    from nlpkit.tag.conll import Columns, read_sentences
    from nlpkit.tag.predict import sentence_item, text_item

    if input_format is InFormat.conll:
        return (sentence_item(s) for s in read_sentences(inputs, Columns(word_col, tag_col), strict_utf8=strict_utf8))
    if tag_col is not None:
        raise typer.BadParameter("--tag-col needs --input-format conll", param_hint="--tag-col")
    return (text_item(line, n, tokenize) for n, line in enumerate(read_lines(inputs, strict_utf8=strict_utf8), 1))


def _record(tagged: Any, format: OutFormat, bad: BadLines) -> str:
    item = tagged.item
    if item.error is not None:
        error = bad(item.lineno, item.text, item.error)
        if format is not OutFormat.conll:
            return dumps(error)
        return "".join("\t".join([*cols, "NA"]) + "\n" for cols in item.columns or [[t] for t in item.tokens])
    probs = [fnum(p) for p in tagged.probs] if tagged.probs is not None else None
    if format is OutFormat.jsonl:
        record = {"text": item.text, "tokens": item.tokens, "tags": tagged.tags}
        return dumps({**record, "probs": probs} if probs is not None else record)
    if format is OutFormat.spans:
        return dumps({"text": item.text, "entities": [{**e, "prob": fnum(e["prob"])} if "prob" in e else e for e in tagged.spans()]})
    rows = item.columns or [[t] for t in item.tokens]
    extra = [[f"{p}"] for p in probs] if probs is not None else [[] for _ in rows]
    return "".join("\t".join([*cols, tag, *x]) + "\n" for cols, tag, x in zip(rows, tagged.tags, extra))


@app.command("eval")
def eval_cmd(
    model: ModelOpt,
    inputs: Annotated[list[str], typer.Argument(help="Tagged test data: CoNLL columns or JSONL {\"tokens\", \"tags\"}.", show_default=False)],
    word_col: WordColOpt = None,
    tag_col: TagColOpt = None,
    format: Annotated[EvalFormat, typer.Option("--format", "-f", help="text or json.")] = EvalFormat.text,
    batch_size: BatchOpt = 64,
    device: DeviceOpt = "auto",
    threads: ThreadsOpt = None,
    strict_utf8: StrictUtf8Opt = False,
    quiet: QuietOpt = False,
) -> None:
    """Entity precision, recall and F1 per type and overall (as conlleval counts them) and token accuracy."""
    from nlpkit.device import set_threads
    from nlpkit.tag.evaluate import evaluate

    set_threads(threads)
    report = evaluate(model, inputs, word_col=word_col, tag_col=tag_col, device=device, batch_size=batch_size, strict_utf8=strict_utf8)
    typer.echo(dumps(report) if format is EvalFormat.json else "\n".join(_report_lines(report)))


def _report_lines(report: dict[str, Any]) -> list[str]:
    lines = [f"sentences\t{report['sentences']}", f"tokens\t{report['tokens']}", f"accuracy\t{100 * report['accuracy']:.2f}"]
    if "overall" not in report:
        return lines
    o = report["overall"]
    lines += [f"precision\t{100 * o['precision']:.2f}", f"recall\t{100 * o['recall']:.2f}", f"f1\t{100 * o['f1']:.2f}", "",
              "type\tprecision\trecall\tf1\tpredicted\tgold"]
    for name, c in report["per_type"].items():
        lines.append(f"{name}\t{100 * c['precision']:.2f}\t{100 * c['recall']:.2f}\t{100 * c['f1']:.2f}\t{c['predicted']}\t{c['gold']}")
    return lines
