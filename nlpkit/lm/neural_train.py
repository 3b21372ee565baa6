"""`lm train --arch nplm|rnn|gru|lstm|transformer`: data, vocabulary, resume, artefact."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from nlpkit.artifacts import artifact_writer, load_checkpoint
from nlpkit.corpus import ReadStats, read_lines, require_lines
from nlpkit.device import resolve_device, seed_everything
from nlpkit.errors import ConfigError
from nlpkit.lm.neural import build_model, make_config, save_neural
from nlpkit.lm.train import Trainer, TrainConfig, batchify
from nlpkit.lm.vocab import PieceVocab, WordVocab
from nlpkit.locking import output_lock

log = logging.getLogger("nlpkit")


def token_stream(lines: list[str], vocab: WordVocab | PieceVocab) -> torch.Tensor:
    """``</s> s1 </s> s2 </s> ...`` as one (N,) id tensor; every sentence starts after a boundary."""
    ids = [vocab.eos_id]
    for line in lines:
        if line.strip():
            ids.extend(vocab.encode(line))
            ids.append(vocab.eos_id)
    return torch.tensor(ids, dtype=torch.long)


def _vocab(lines: list[str], tokenizer: str | None, min_count: int, max_vocab: int | None, saved: list[str] | None):
    if tokenizer:
        from nlpkit.wordpiece import load_tokenizer

        return PieceVocab(load_tokenizer(tokenizer))
    if saved is not None:  # resuming: the ids must mean what they meant
        return WordVocab(saved)
    return WordVocab.build(lines, min_count, max_vocab)


def train_neural(
    inputs: list[str], out_dir: str | Path, arch: str, model_options: dict[str, Any], cfg: TrainConfig, *,
    valid: str | None = None, tokenizer: str | None = None, min_count: int = 1, max_vocab: int | None = None,
    device: str = "auto", resume: bool = False, quiet: bool = False, strict_utf8: bool = False, text_field: str = "text",
) -> dict:
    """Train a neural LM; returns the config.json written."""
    out_dir = Path(out_dir)
    dev = resolve_device(device)
    if min_count < 1:
        raise ConfigError("--min-count must be at least 1")
    with output_lock(out_dir):
        ckpt = load_checkpoint(out_dir) if resume else None
        if resume and ckpt is None:
            log.info("no checkpoint in %s; starting from scratch", out_dir)
        seed_everything(cfg.seed + (ckpt["step"] if ckpt else 0))
        stats = ReadStats()
        lines = list(require_lines(read_lines(inputs, strict_utf8=strict_utf8, text_field=text_field, stats=stats), "training text"))
        vocab = _vocab(lines, tokenizer, min_count, max_vocab, ckpt.get("vocab") if ckpt else None)
        options = dict(ckpt["model_config"]) if ckpt else {**model_options, "vocab_size": len(vocab), "eos_id": vocab.eos_id}
        model = build_model(arch, make_config(arch, options)).to(dev)
        train = batchify(token_stream(lines, vocab), cfg.batch_size).to(dev)
        valid_data = None
        if valid:
            valid_lines = list(require_lines(read_lines([valid], strict_utf8=strict_utf8, text_field=text_field), "--valid text"))
            valid_data = batchify(token_stream(valid_lines, vocab), min(10, cfg.batch_size)).to(dev)
        n_params = sum(p.numel() for p in model.parameters())
        log.info("%s: %d parameters, vocabulary %d, %d training tokens, device %s", arch, n_params, len(vocab), train.numel(), dev)
        trainer = Trainer(model, cfg, train, valid_data, out_dir, quiet=quiet)
        trainer.extra = {"vocab": vocab.pieces if isinstance(vocab, WordVocab) else None,
                         "model_config": asdict(model.config), "arch": arch}
        if ckpt:
            trainer.load_state_dict(ckpt)
            log.info("resumed at epoch %d, step %d", trainer.epoch, trainer.step)
        trainer.run()
        if trainer.best_state is not None:
            model.load_state_dict(trainer.best_state)
        train_info = {**asdict(cfg), "min_count": min_count, "max_vocab": max_vocab, "tokenizer": tokenizer,
                      "valid": valid, "parameters": n_params, "seconds": round(trainer.elapsed, 1),
                      "best_valid_ppl": trainer.history and min(h["valid_ppl"] for h in trainer.history),
                      "history": trainer.history}
        with artifact_writer(out_dir, force=True) as tmp:
            return save_neural(tmp, arch, model.cpu(), vocab, train_info, stats.summary())
