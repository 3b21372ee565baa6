"""``lm train --arch nplm|rnn|gru|lstm|transformer``: data, vocabulary, model, the engine, the artefact."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from nlpkit.artifacts import artifact_writer
from nlpkit.corpus import ReadStats, read_lines, require_lines
from nlpkit.errors import ConfigError
from nlpkit.lm.neural import KIND, build_model, check_options, make_config, save_neural
from nlpkit.lm.train import LmTask, TrainConfig, encode_sentences
from nlpkit.lm.vocab import PieceVocab, WordVocab
from nlpkit.training.config import RunOptions

log = logging.getLogger("nlpkit")


def _vocab(lines: list[str], cfg: TrainConfig, saved: list[str] | None) -> WordVocab | PieceVocab:
    if cfg.tokenizer:
        from nlpkit.wordpiece import load_tokenizer

        return PieceVocab(load_tokenizer(cfg.tokenizer))
    if saved is not None:  # resuming: the ids must mean what they meant
        return WordVocab(saved)
    return WordVocab.build(lines, cfg.min_count, cfg.max_vocab)


def _read(inputs: list[str], what: str, strict_utf8: bool, text_field: str, stats: ReadStats | None = None) -> list[str]:
    return list(require_lines(read_lines(inputs, strict_utf8=strict_utf8, text_field=text_field, stats=stats), what))


def train_neural(
    inputs: list[str], out_dir: str | Path, arch: str, model_options: dict[str, Any], cfg: TrainConfig, *,
    valid: list[str] | None = None, run: RunOptions | None = None, strict_utf8: bool = False, text_field: str = "text",
) -> dict:
    """Train a neural LM; returns the config.json written (``{}`` on torchrun ranks other than 0)."""
    from nlpkit.training.engine import Engine
    from nlpkit.training.job import open_job

    options = {k: v for k, v in model_options.items() if v is not None}
    check_options(arch, options)
    resolved = {k: v for k, v in asdict(make_config(arch, options)).items() if k not in ("vocab_size", "eos_id")}
    with open_job(out_dir, cfg, run or RunOptions(), {"arch": arch, **resolved}, kind=KIND) as job:
        stats = ReadStats()
        lines = _read(inputs, "training text", strict_utf8, text_field, stats)
        vocab = _vocab(lines, cfg, job.meta["vocab"] if job.meta else None)
        train = encode_sentences(lines, vocab)
        held = encode_sentences(_read(valid, "--valid text", strict_utf8, text_field), vocab) if valid else []
        if not train:
            raise ConfigError("the training text has no sentences", "give a file with one sentence per line")
        model = build_model(arch, make_config(arch, {**options, "vocab_size": len(vocab), "eos_id": vocab.eos_id}))
        n_params = sum(p.numel() for p in model.parameters())
        log.info("%s: %d parameters, vocabulary %d, %d training sentences", arch, n_params, len(vocab), len(train))
        meta = {"vocab": vocab.pieces if isinstance(vocab, WordVocab) else None}
        engine = Engine(model, LmTask(train, held, vocab.eos_id, cfg, job.device), job, meta)
        state = engine.run()
        if not job.world.is_main:
            return {}
        train_info = {**asdict(cfg), "valid": valid, "parameters": n_params, **engine.results(), "history": state.history}
        with artifact_writer(out_dir, kind=KIND, force=True) as tmp:  # --force was the job's call
            return save_neural(tmp, arch, model.cpu(), vocab, train_info, stats.summary())

