"""`lm train --arch ngram`, `lm import` and `lm export`: count, estimate, write the binary model.

Artefact (kind ``ngram_lm``, format 2)::

    DIR/ngram.bin            the compact memory-mapped tables (``nlpkit.lm.binary``)
    DIR/vocab.txt            one word (or piece) per line, in id order
    DIR/model.arpa           standard ARPA, only with --arpa (``lm export --format arpa`` writes it later)
    DIR/tokenizer.json       with --tokenizer: the n-gram runs over its WordPiece pieces
    DIR/config.json          kind, NgramConfig, discounts, n-gram counts, data summary

Format 1 directories (``model.arpa`` + ``ngram.safetensors``) still load: their ARPA is read and the
tables are built in memory, with a warning to re-import them.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path

import numpy as np

from nlpkit.artifacts import artifact_writer, check_output, write_config
from nlpkit.corpus import ReadStats, read_lines, require_lines
from nlpkit.errors import ArtifactError, ConfigError
from nlpkit.lm.arpa import read_arpa, write_arpa
from nlpkit.lm.binary import NgramBinary
from nlpkit.lm.binary_write import write_binary_streamed
from nlpkit.lm.kneser_ney import NgramTables, check_prune, estimate
from nlpkit.lm.kneser_ney_stream import STREAM_ROW_BYTES, estimate_streamed
from nlpkit.lm.ngram_count import NgramCounts, count_ngrams, restrict_vocab
from nlpkit.lm.ngram_model import NgramModel, load_ngram, load_tokenizer  # noqa: F401 - load_ngram is re-exported
from nlpkit.lm.ngram_spill import parse_size
from nlpkit.locking import output_lock
from nlpkit.numpy_pages import no_huge_pages

log = logging.getLogger("nlpkit")

KIND = "ngram_lm"
FORMAT_VERSION = 2


@dataclass
class NgramConfig:
    order: int = 5  # n: the longest n-gram
    prune: list[int] = field(default_factory=list)  # per-order thresholds on adjusted counts (lmplz --prune)
    min_count: int = 1  # rarer words become <unk>
    vocab_limit: int | None = None  # keep only the most frequent words (others -> <unk>)
    lowercase: bool = False  # lowercase the text here and in lm score / lm generate
    tokenizer: str | None = None  # a WordPiece tokenizer: the n-gram runs over pieces (open vocabulary)
    quantize: int = 0  # 0: float32 probabilities; 8: one byte each (a codebook per order)
    arpa: bool = False  # also write DIR/model.arpa
    memory: str = "2G"  # RAM budget (lmplz -S): count runs beyond it spill to temp_dir; estimation beyond it works from files
    temp_dir: str | None = None  # where spilled runs and estimation files go (default: the system's temporary directory)

    def __post_init__(self) -> None:
        if self.order < 1:
            raise ConfigError(f"--order must be at least 1 (got {self.order})", "use e.g. --order 5")
        if self.min_count < 1:
            raise ConfigError("--min-count must be at least 1")
        if self.vocab_limit is not None and self.vocab_limit < 1:
            raise ConfigError("--vocab-limit must be at least 1")
        if self.quantize not in (0, 8):
            raise ConfigError(f"--quantize {self.quantize} is not supported", "use --quantize 8, or leave it out")
        self.prune = check_prune(self.prune, self.order) if self.prune else []
        parse_size(self.memory)


TOKEN_BYTES = 256  # peak bytes per token of a text chunk while it is counted (its strings, windows and sorts)
ESTIMATE_BYTES = 128  # peak bytes per n-gram of ``kneser_ney.estimate`` (all orders at once; ~130 measured, 5-gram)
# Above this the estimation from files is the faster one as well as the smaller: measured on 10M
# words (24.9M n-grams, 5-gram), 64.5 s and 1.15 GB peak from files against 112 s and 3.4 GB in memory.
IN_MEMORY_MAX = 256 << 20


def _chunk_rows(budget: int) -> int:
    return max(256, budget // STREAM_ROW_BYTES)


def _in_memory(counts: NgramCounts, budget: int) -> bool:
    """Estimate in memory: the counts are not files and the model is small (faster there)."""
    spilled = any(isinstance(r, np.memmap) for r in counts.rows)
    return not spilled and sum(map(len, counts.rows)) * ESTIMATE_BYTES <= min(budget, IN_MEMORY_MAX)


def _spill_to(counts: NgramCounts, budget: int, temp_dir: str | None, work: str) -> dict:
    """restrict_vocab's spill options: to files unless the model will be estimated in memory."""
    return {} if _in_memory(counts, budget) else {"memory": budget, "temp_dir": temp_dir, "out_dir": work}


def _estimate(counts: NgramCounts, prune: list[int], budget: int, work: str) -> NgramTables:
    """In memory for small models, else from files in ``work``, in chunks."""
    total = sum(len(r) for r in counts.rows)
    if _in_memory(counts, budget):
        return estimate(counts, prune)
    chunk = _chunk_rows(budget)
    log.info("estimating %d n-grams from files in %s, %d rows at a time", total, work, chunk)
    return estimate_streamed(counts, work, prune, chunk)


def _specials(tables: NgramTables) -> dict[str, int]:
    return {"unk_id": tables.unk_id, "bos_id": tables.bos_id, "eos_id": tables.eos_id}


def _save(tables: NgramTables, tmp: Path, quantize: int, arpa: bool | Path, chunk: int | None = None) -> None:
    if tables.suffix is not None and not quantize:  # streamed tables: write the binary in chunks too
        write_binary_streamed(tables, tmp / "ngram.bin", chunk or 1 << 22)
    else:
        NgramBinary.build(tables.rows, tables.logp, tables.backoff, len(tables.words), quantize,
                          suffix=tables.suffix).save(tmp / "ngram.bin")
    (tmp / "vocab.txt").write_text("".join(w + "\n" for w in tables.words), encoding="utf-8")
    if isinstance(arpa, Path):
        shutil.copyfile(arpa, tmp / "model.arpa")
    elif arpa:
        write_arpa(tables, tmp / "model.arpa")


def _pieces(lines: Iterable[str], tokenizer, lowercase: bool) -> Iterator[str]:  # noqa: ANN001
    """Lines as the model will see them (lowercased, or WordPiece pieces with [UNK] as <unk>)."""
    it = iter(lines)
    while batch := list(islice(it, 10_000)):
        if lowercase:
            batch = [line.lower() for line in batch]
        if tokenizer is None:
            yield from batch
        else:
            for e in tokenizer.encode_batch(batch, add_special_tokens=False):
                yield " ".join(e.tokens).replace("[UNK]", "<unk>")


def _piece_vocab(tokenizer) -> list[str]:  # noqa: ANN001
    """Every piece the tokenizer can produce, so that none is OOV (unseen ones get the uniform share)."""
    if tokenizer is None:
        return []
    vocab = tokenizer.get_vocab()
    return [p for p, _ in sorted(vocab.items(), key=lambda kv: kv[1]) if not (p.startswith("[") and p.endswith("]"))]


def train_ngram(inputs: list[str], out_dir: str | Path, config: NgramConfig, *, strict_utf8: bool = False,
                text_field: str = "text", chunk_tokens: int = 2_000_000, force: bool = False) -> dict:
    """Train an interpolated modified Kneser-Ney model; returns the config.json written.

    A finished n-gram model in ``out_dir`` is replaced only with ``force`` (files the user added
    there are kept); anything that is not ours is refused before the text is read.
    """
    check_output(out_dir, KIND, force)
    stats = ReadStats()
    tokenizer = load_tokenizer(config.tokenizer) if config.tokenizer else None
    budget = parse_size(config.memory)
    if config.temp_dir is not None and not Path(config.temp_dir).is_dir():
        raise ConfigError(f"--temp-dir {config.temp_dir} is not a directory", "create it, or leave --temp-dir out")
    with output_lock(out_dir), no_huge_pages(), tempfile.TemporaryDirectory(prefix="nlpkit-estimate-", dir=config.temp_dir) as work:
        lines = require_lines(read_lines(inputs, strict_utf8=strict_utf8, text_field=text_field, stats=stats), "training text")
        pieces = _piece_vocab(tokenizer)
        chunk_tokens = min(chunk_tokens, max(10_000, budget // (2 * TOKEN_BYTES)))  # two chunks in flight fit the budget
        counts = count_ngrams(_pieces(lines, tokenizer, config.lowercase), config.order, chunk_tokens=chunk_tokens,
                              vocab=pieces, memory=budget, temp_dir=config.temp_dir, out_dir=work)
        log.info("counted %d tokens in %d sentences, %d types", counts.tokens, counts.sentences, len(counts.words))
        counts = restrict_vocab(counts, config.min_count, config.vocab_limit, keep_first=3 + len(pieces),
                                **_spill_to(counts, budget, config.temp_dir, work))
        tables = _estimate(counts, config.prune, budget, work)
        with artifact_writer(out_dir, kind=KIND, force=force) as tmp:
            _save(tables, tmp, config.quantize, config.arpa, _chunk_rows(budget))
            if tokenizer is not None:
                tokenizer.save(str(tmp / "tokenizer.json"))
            return write_config(
                tmp, KIND, model=asdict(config), format_version=FORMAT_VERSION,
                train={"discounts": tables.discounts, "ngrams": [len(r) for r in tables.rows],
                       "words": counts.tokens, "sentences": counts.sentences},
                data=stats.summary(), specials=_specials(tables),
            )


def import_arpa(arpa: str | Path, out_dir: str | Path, *, quantize: int = 0, keep_arpa: bool = False, force: bool = False) -> dict:
    """Wrap any ARPA file as an nlpkit n-gram model directory."""
    check_output(out_dir, KIND, force)  # refused before the (long) read of the ARPA file
    tables = read_arpa(arpa)
    config = NgramConfig(order=tables.order, quantize=quantize, arpa=keep_arpa)
    plain = not str(arpa).endswith((".gz", ".bz2", ".xz"))
    with output_lock(out_dir), artifact_writer(out_dir, kind=KIND, force=force) as tmp:
        _save(tables, tmp, quantize, (Path(arpa) if plain else True) if keep_arpa else False)
        return write_config(
            tmp, KIND, model=asdict(config), format_version=FORMAT_VERSION,
            train={"imported_from": str(arpa), "ngrams": [len(r) for r in tables.rows]}, specials=_specials(tables),
        )


def model_tables(model: NgramModel) -> NgramTables:
    """The model's n-grams as sorted rows again (for ``lm export --format arpa``)."""
    rows, logp, backoff = model.tables.to_rows()
    tables = NgramTables(list(model.words), rows, logp, backoff)
    tables.unk_id, tables.bos_id, tables.eos_id = model.unk_id, model.bos_id, model.eos_id
    return tables


def export_arpa(model_dir: str | Path, out: str | Path) -> int:
    """Write the model in ``model_dir`` as an ARPA file; returns the number of n-grams.

    Written beside ``out`` and renamed: a full disk is one line and leaves no partial file.
    """
    import os

    from nlpkit.safeio import disk_full_guard, fix_mode

    tables = model_tables(load_ngram(model_dir))
    out = Path(out)
    if out.is_dir():
        raise ArtifactError(f"{out} is a directory", "give the ARPA file's name")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent)
    os.close(fd)
    try:
        with disk_full_guard(out, lambda: Path(tmp).stat().st_size, cleanup=False):
            write_arpa(tables, tmp)
        fix_mode(tmp)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return sum(len(r) for r in tables.rows)


def derive_model(src_dir: str | Path, tables: NgramTables, out_dir: str | Path, train: dict, force: bool = False) -> dict:
    """Write ``tables`` (pruned, filtered, ...) as a model with the text options of ``src_dir``."""
    from nlpkit.artifacts import read_config

    src = Path(src_dir)
    model = dict(read_config(src, {KIND: FORMAT_VERSION})["model"])
    with output_lock(out_dir), artifact_writer(out_dir, kind=KIND, force=force) as tmp:
        _save(tables, tmp, int(model.get("quantize") or 0), bool(model.get("arpa")))
        if (src / "tokenizer.json").exists():
            shutil.copyfile(src / "tokenizer.json", tmp / "tokenizer.json")
        return write_config(tmp, KIND, model=model, format_version=FORMAT_VERSION,
                            train={**train, "derived_from": str(src), "ngrams": [len(r) for r in tables.rows]},
                            specials=_specials(tables))
