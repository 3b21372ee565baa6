"""`lm train --arch ngram` and `lm import`: count, estimate, write ``model.arpa`` + the numpy form.

Artefact (kind ``ngram_lm``)::

    DIR/model.arpa           standard ARPA (KenLM, SRILM, ... load it)
    DIR/ngram.safetensors    hash tables per order (keys_k, logp_k, backoff_k), numpy-loadable
    DIR/vocab.txt            one word per line, in id order
    DIR/config.json          kind, NgramConfig, discounts, n-gram counts, data summary
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nlpkit.artifacts import artifact_writer, read_config, write_config
from nlpkit.corpus import ReadStats, read_lines, require_lines
from nlpkit.errors import ConfigError
from nlpkit.lm.arpa import read_arpa, write_arpa
from nlpkit.lm.kneser_ney import NgramTables, check_prune, estimate
from nlpkit.lm.ngram_count import count_ngrams, restrict_vocab
from nlpkit.lm.ngram_model import NgramModel
from nlpkit.locking import output_lock

log = logging.getLogger("nlpkit")

KIND = "ngram_lm"
FORMAT_VERSION = 1


@dataclass
class NgramConfig:
    order: int = 5  # n: the longest n-gram
    prune: list[int] = field(default_factory=list)  # per-order thresholds on adjusted counts (lmplz --prune)
    min_count: int = 1  # rarer words become <unk>
    vocab_limit: int | None = None  # keep only the most frequent words (others -> <unk>)

    def __post_init__(self) -> None:
        if self.order < 1:
            raise ConfigError(f"--order must be at least 1 (got {self.order})", "use e.g. --order 5")
        if self.min_count < 1:
            raise ConfigError("--min-count must be at least 1")
        if self.vocab_limit is not None and self.vocab_limit < 1:
            raise ConfigError("--vocab-limit must be at least 1")
        self.prune = check_prune(self.prune, self.order) if self.prune else []


def _save(tables: NgramTables, tmp: Path, arpa: Path | None = None) -> None:
    if arpa is None:
        write_arpa(tables, tmp / "model.arpa")
    else:
        shutil.copyfile(arpa, tmp / "model.arpa")
    NgramModel.from_tables(tables).save(tmp)


def _specials(tables: NgramTables) -> dict[str, int]:
    return {"unk_id": tables.unk_id, "bos_id": tables.bos_id, "eos_id": tables.eos_id}


def train_ngram(inputs: list[str], out_dir: str | Path, config: NgramConfig, *, strict_utf8: bool = False,
                text_field: str = "text", chunk_tokens: int = 2_000_000) -> dict:
    """Train an interpolated modified Kneser-Ney model; returns the config.json written."""
    stats = ReadStats()
    with output_lock(out_dir):
        lines = require_lines(read_lines(inputs, strict_utf8=strict_utf8, text_field=text_field, stats=stats), "training text")
        counts = count_ngrams(lines, config.order, chunk_tokens=chunk_tokens)
        log.info("counted %d words in %d sentences, %d types", counts.tokens, counts.sentences, len(counts.words))
        counts = restrict_vocab(counts, config.min_count, config.vocab_limit)
        tables = estimate(counts, config.prune)
        with artifact_writer(out_dir, force=True) as tmp:
            _save(tables, tmp)
            return write_config(
                tmp, KIND, model=asdict(config), format_version=FORMAT_VERSION,
                train={"discounts": tables.discounts, "ngrams": [len(r) for r in tables.rows],
                       "words": counts.tokens, "sentences": counts.sentences},
                data=stats.summary(), specials=_specials(tables),
            )


def import_arpa(arpa: str | Path, out_dir: str | Path, force: bool = False) -> dict:
    """Wrap any ARPA file as an nlpkit n-gram model directory."""
    tables = read_arpa(arpa)
    with output_lock(out_dir), artifact_writer(out_dir, kind=KIND, force=force) as tmp:
        _save(tables, tmp, Path(arpa) if not str(arpa).endswith((".gz", ".bz2", ".xz")) else None)
        config = NgramConfig(order=tables.order)
        return write_config(
            tmp, KIND, model=asdict(config), format_version=FORMAT_VERSION,
            train={"imported_from": str(arpa), "ngrams": [len(r) for r in tables.rows]}, specials=_specials(tables),
        )


def load_ngram(model_dir: str | Path) -> NgramModel:
    config = read_config(model_dir, {KIND: FORMAT_VERSION})
    return NgramModel.load(model_dir, config["specials"])
