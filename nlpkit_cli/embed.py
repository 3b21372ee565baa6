"""`nlpkit embed`: train word vectors (word2vec, GloVe), evaluate, export, import, debias."""

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
    SeedOpt,
    StrictUtf8Opt,
    TextFieldOpt,
    TrainInputsArg,
)

log = logging.getLogger("nlpkit")

app = typer.Typer(
    no_args_is_help=True,
    help="Word embeddings: `train` (word2vec skip-gram/CBOW, GloVe), `eval`, `export`, `import`, `debias`, `phrases`. "
    "Queries: `nlpkit analogy` and `nlpkit similar`.",
)


class Algo(str, Enum):
    sg = "sg"
    cbow = "cbow"
    glove = "glove"


class Loss(str, Enum):
    ns = "ns"
    hs = "hs"


class Kernel(str, Enum):
    auto = "auto"
    numba = "numba"
    torch = "torch"


class Scoring(str, Enum):
    default = "default"
    npmi = "npmi"


class Method(str, Enum):
    add = "add"
    mul = "mul"


class ReportFormat(str, Enum):
    text = "text"
    json = "json"


class ExportFormat(str, Enum):
    word2vec = "word2vec"
    word2vec_bin = "word2vec-bin"
    glove = "glove"


@app.command("train")
def train_cmd(
    inputs: TrainInputsArg,
    output: OutputDirOpt,
    algo: Annotated[Algo, typer.Option("--algo", help="sg (skip-gram), cbow or glove.")] = Algo.sg,
    loss: Annotated[Loss, typer.Option("--loss", help="word2vec: ns (negative sampling) or hs (hierarchical softmax).")] = Loss.ns,
    dim: Annotated[int, typer.Option("--dim", help="Vector dimension.")] = 100,
    window: Annotated[int, typer.Option("--window", help="Context window (word2vec samples 1..window per centre word).")] = 5,
    negative: Annotated[int, typer.Option("--negative", help="Noise words per pair (negative sampling).")] = 5,
    ns_exponent: Annotated[float, typer.Option("--ns-exponent", help="Noise distribution: unigram^exponent.")] = 0.75,
    negative_pool: Annotated[int, typer.Option("--negative-pool", help="Noise words drawn per group of 32 centre words and shared by them.")] = 64,
    min_count: Annotated[int, typer.Option("--min-count", help="Ignore words seen fewer times.")] = 5,
    max_vocab: Annotated[Optional[int], typer.Option("--max-vocab", help="Keep at most this many of the most frequent words.")] = None,
    sample: Annotated[float, typer.Option("--sample", help="Frequent-word subsampling threshold (word2vec); 0 = off.")] = 1e-3,
    epochs: Annotated[int, typer.Option("--epochs", help="Passes over the corpus.")] = 5,
    lr: Annotated[Optional[float], typer.Option("--lr", help="Start learning rate (default 0.025 skip-gram, 0.05 CBOW and GloVe).", show_default=False)] = None,
    min_lr: Annotated[float, typer.Option("--min-lr", help="Learning rate at the end of the linear decay (word2vec).")] = 0.0001,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Centre words (word2vec) or co-occurrences (GloVe) per step; default 256 / 8192.", show_default=False)] = None,
    threads: Annotated[int, typer.Option("--threads", help="Worker threads on CPU; 0 = all cores.")] = 0,
    subwords: Annotated[str, typer.Option("--subwords", help="word2vec: also learn character n-gram vectors of MIN-MAX characters (fastText), e.g. 3-6; empty = none.")] = "",
    buckets: Annotated[int, typer.Option("--buckets", help="Hash buckets for the --subwords n-grams.")] = 2_000_000,
    kernel: Annotated[Kernel, typer.Option("--kernel", help="word2vec: numba (compiled, one pair at a time, CPU), torch (batched, any device) or auto (numba on CPU).")] = Kernel.auto,
    x_max: Annotated[float, typer.Option("--x-max", help="GloVe weighting cut-off.")] = 100.0,
    alpha: Annotated[float, typer.Option("--alpha", help="GloVe weighting exponent.")] = 0.75,
    lowercase: Annotated[bool, typer.Option("--lowercase", help="Lowercase the text (queries are then lowercased too).")] = False,
    phrases: Annotated[Optional[Path], typer.Option("--phrases", help="Join phrases learned by `nlpkit embed phrases` (new york -> new_york) while reading.", exists=True, file_okay=False)] = None,
    max_time: Annotated[Optional[str], typer.Option("--max-time", help="Stop after this much training (90, 90s, 15m, 2h; summed over resumed runs) and write the model.", show_default=False)] = None,
    checkpoint_every: Annotated[str, typer.Option("--checkpoint-every", help="Checkpoint every N words (5000000) or every DURATION (10m, 1h); 0 = never.")] = "10m",
    resume: Annotated[bool, typer.Option("--resume", help="Continue a killed job from the checkpoint in the output directory.")] = False,
    force: ForceOpt = False,
    metrics: Annotated[Optional[Path], typer.Option("--metrics", help="Append JSONL records (step, epoch, words, seconds, loss, lr) at each checkpoint and epoch end.", show_default=False)] = None,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 1,
    strict_utf8: StrictUtf8Opt = False,
    text_field: TextFieldOpt = "text",
    quiet: QuietOpt = False,
) -> None:
    """Train word vectors on whitespace-tokenised text (one sentence per line); writes a model directory."""
    from nlpkit.durations import parse_cadence, parse_duration
    from nlpkit.embeddings.training import RunOptions

    parse_cadence(checkpoint_every, "--checkpoint-every")  # a bad value fails before the corpus is read
    run = RunOptions(
        checkpoint_every=checkpoint_every, max_time=parse_duration(max_time, "--max-time"), resume=resume, force=force,
        metrics=metrics, quiet=quiet, strict_utf8=strict_utf8, text_field=text_field, phrases=str(phrases) if phrases else None,
    )
    common = dict(dim=dim, window=window, min_count=min_count, max_vocab=max_vocab, epochs=epochs, threads=threads, device=device, seed=seed, lowercase=lowercase)
    common.update({k: v for k, v in (("lr", lr), ("batch_size", batch_size)) if v is not None})  # else the algorithm's default
    if algo == Algo.glove:
        from nlpkit.embeddings.glove import GloVeConfig, train_glove

        cfg = GloVeConfig(**common, x_max=x_max, alpha=alpha)
        stats = train_glove(inputs, output, cfg, run)
    else:
        from nlpkit.embeddings.word2vec import Word2VecConfig, train_word2vec

        cfg = Word2VecConfig(
            **common, algo=algo.value, loss=loss.value, negative=negative, ns_exponent=ns_exponent, negative_pool=negative_pool,
            sample=sample, min_lr=min_lr, kernel=kernel.value, subwords=subwords, buckets=buckets,
        )
        stats = train_word2vec(inputs, output, cfg, run)
    log.info("wrote %s: %s words in %.1f s (%s words/s)", output, f"{stats['words']:,}", stats["seconds"], f"{stats['words_per_second']:,}")


@app.command("eval")
def eval_cmd(
    model: ModelOpt,
    analogies: Annotated[Optional[Path], typer.Option("--analogies", help="Google questions-words.txt style file.", exists=True, dir_okay=False)] = None,
    pairs: Annotated[Optional[list[Path]], typer.Option("--pairs", help="word1 word2 score file (WordSim-353, SimLex-999); repeatable.", exists=True, dir_okay=False)] = None,
    restrict_vocab: Annotated[int, typer.Option("--restrict-vocab", help="Only the N most frequent words answer analogies.")] = 300000,
    case_insensitive: Annotated[bool, typer.Option("--case-insensitive", help="Compare words in lower case.")] = False,
    method: Annotated[Method, typer.Option("--method", help="add (3CosAdd) or mul (3CosMul).")] = Method.add,
    format: Annotated[ReportFormat, typer.Option("--format", "-f", help="text or json.")] = ReportFormat.text,
    subwords: Annotated[bool, typer.Option("--subwords/--no-subwords", help="Word pairs: give words outside the vocabulary their n-gram vector (models trained with --subwords).")] = True,
) -> None:
    """Analogy accuracy (per section, semantic/syntactic, total) and word-pair correlations."""
    from nlpkit.embeddings.evaluate import evaluate_analogies, evaluate_pairs
    from nlpkit.embeddings.vectors import WordVectors
    from nlpkit.errors import ConfigError

    if analogies is None and not pairs:
        raise ConfigError("nothing to evaluate", "give --analogies FILE and/or --pairs FILE")
    wv = WordVectors.load(model, subwords=subwords)
    result: dict[str, object] = {"model": str(model)}
    if analogies is not None:
        report = evaluate_analogies(wv, analogies, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive, method=method.value)
        result["analogies"] = {"file": str(analogies), "method": method.value, "restrict_vocab": restrict_vocab, **report.as_dict()}
    if pairs:
        result["pairs"] = [{"file": str(p), **evaluate_pairs(wv, p, case_insensitive=case_insensitive)} for p in pairs]
    typer.echo(_json(result) if format == ReportFormat.json else _eval_text(result))


def _json(report: dict) -> str:
    """A report as one line of JSON, floats at 6 significant digits (README, Conventions)."""
    from nlpkit_cli._records import dumps, rounded

    return dumps(rounded(report))


def _eval_text(result: dict) -> str:
    lines = []
    if "analogies" in result:
        a = result["analogies"]
        lines.append(f"analogies ({a['file']}, {a['method']}, restrict {a['restrict_vocab']}):")
        for s in a["sections"] + [a["semantic"], a["syntactic"], a["total"]]:
            lines.append(f"  {s['section']:<30} {100 * s['accuracy']:6.2f}%  {s['correct']:>6}/{s['total']:<6} oov {s['oov']}")
    for p in result.get("pairs", []):
        rho = "n/a" if p["spearman"] is None else f"{p['spearman']:.4f}"
        r = "n/a" if p["pearson"] is None else f"{p['pearson']:.4f}"
        lines.append(f"pairs {p['file']}: spearman {rho}  pearson {r}  ({p['pairs'] - p['oov']}/{p['pairs']} pairs, oov {p['oov']})")
    return "\n".join(lines)


@app.command("export")
def export_cmd(
    model: ModelOpt,
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file ('-' for stdout).", show_default=False)],
    format: Annotated[ExportFormat, typer.Option("--format", "-f", help="word2vec (text), word2vec-bin or glove.")] = ExportFormat.word2vec,
    words: Annotated[Optional[Path], typer.Option("--words", help="Export only these words (one per line), in order; with --subwords models, unseen words too.", exists=True, dir_okay=False)] = None,
    subwords: Annotated[bool, typer.Option("--subwords/--no-subwords", help="With --words: give unseen words their n-gram vector.")] = True,
) -> None:
    """Write the vectors as word2vec text/binary or GloVe text (gensim, fastText and word2vec tools read them)."""
    from nlpkit.embeddings.formats import export_model

    wanted = [w.strip() for w in words.read_text(encoding="utf-8").splitlines() if w.strip()] if words else None
    info = export_model(model, output, format.value, words=wanted, subwords=subwords)
    if info["missing"]:
        log.warning("warning: %d of the --words have no vector (not in the vocabulary%s)", info["missing"], "" if subwords else ", --no-subwords")
    log.info("wrote %s: %d words x %d (%s)", output, info["words"], info["dim"], info["format"])


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="word2vec text or binary, GloVe text, fastText .vec or .bin with its n-gram table (detected).", show_default=False)],
    output: OutputDirOpt,
    force: ForceOpt = False,
) -> None:
    """Turn a vector file into an nlpkit model directory (for analogy, similar, eval, debias)."""
    from nlpkit.embeddings.formats import import_model

    info = import_model(file, output, force=force)
    log.info("wrote %s: %d words x %d (read as %s)", output, info["words"], info["dim"], info["format"])


@app.command("debias")
def debias_cmd(
    model: ModelOpt,
    output: OutputDirOpt,
    analogies: Annotated[Optional[Path], typer.Option("--analogies", help="questions-words file for the before/after accuracy.", exists=True, dir_okay=False)] = None,
    restrict_vocab: Annotated[int, typer.Option("--restrict-vocab", help="Analogy candidates: the N most frequent words.")] = 30000,
    gender_specific: Annotated[Optional[Path], typer.Option("--gender-specific", help="Words to leave gendered (JSON list or one per line); default: the shipped 1,441-word list.", exists=True, dir_okay=False)] = None,
    format: Annotated[ReportFormat, typer.Option("--format", "-f", help="Report as text or json.")] = ReportFormat.text,
    force: ForceOpt = False,
) -> None:
    """Hard-debias (Bolukbasi et al. 2016): gender direction from definitional pairs, neutralise, equalise."""
    from nlpkit.embeddings.debias import debias_model, report_text

    report = debias_model(model, output, analogies=analogies, restrict_vocab=restrict_vocab, gender_specific=gender_specific, force=force)
    typer.echo(_json(report) if format == ReportFormat.json else report_text(report))


@app.command("phrases")
def phrases_cmd(
    inputs: InputsArg = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Learn: write the phrases model here.", show_default=False)] = None,
    model: Annotated[Optional[Path], typer.Option("--model", "-m", help="Apply: rewrite the inputs with this phrases model.", show_default=False)] = None,
    scoring: Annotated[Scoring, typer.Option("--scoring", help="default (Mikolov et al., scaled as gensim) or npmi.")] = Scoring.default,
    threshold: Annotated[Optional[float], typer.Option("--threshold", help="Keep pairs scoring above this; default 10 (default scoring) or 0.5 (npmi).", show_default=False)] = None,
    min_count: Annotated[int, typer.Option("--min-count", help="Ignore pairs seen fewer times (and the score's delta).")] = 5,
    passes: Annotated[int, typer.Option("--passes", help="Passes over the text; pass k can build phrases of up to 2^k words.")] = 1,
    delimiter: Annotated[str, typer.Option("--delimiter", help="Joins the words of a phrase.")] = "_",
    max_vocab: Annotated[int, typer.Option("--max-vocab", help="Count-table entries held in memory before the rarest are pruned.")] = 40_000_000,
    lowercase: Annotated[bool, typer.Option("--lowercase", help="Lowercase the text first (learning and applying).")] = False,
    strict_utf8: StrictUtf8Opt = False,
    text_field: TextFieldOpt = "text",
    line_buffered: LineBufferedOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Learn collocations (`-o PHRASES`) or join them in text (`-m PHRASES`, one line out per line in)."""
    from nlpkit.errors import ConfigError

    if (output is None) == (model is None):
        raise ConfigError("give either -o PHRASES (learn) or -m PHRASES (apply)", "nlpkit embed phrases corpus.txt -o phrases")
    if model is not None:
        from nlpkit.corpus import read_lines
        from nlpkit.embeddings.phrases import phrase_lines
        from nlpkit_cli._common import RecordWriter

        writer = RecordWriter(line_buffered)
        for line in phrase_lines(model, read_lines(inputs or ["-"], strict_utf8=strict_utf8, text_field=text_field)):
            writer.write(line)
        writer.close()
        return
    from nlpkit.embeddings.phrases import PhrasesConfig, train_phrases

    if not inputs:
        raise ConfigError("no input to learn phrases from", "give files, or '-' for stdin")
    cfg = PhrasesConfig(scoring=scoring.value, threshold=threshold, min_count=min_count, passes=passes, delimiter=delimiter,
                        max_vocab=max_vocab, lowercase=lowercase)
    stats = train_phrases(inputs, output, cfg, strict_utf8=strict_utf8, text_field=text_field)
    log.info("wrote %s: %d phrases from %s words", output, stats["phrases"], f"{stats['passes'][0]['words']:,}")
