"""`bert pretrain`: masked LM + next-sentence prediction, one process or many under ``torchrun``.

AdamW with BERT's warm-up/linear-decay schedule, gradient accumulation, autocast precision,
``--metrics`` JSONL, resume checkpoints that restore the step, optimiser, loss scaler, every rank's
RNG and the data position (so a resumed run computes the same losses as an uninterrupted one).
Under ``torchrun`` each rank trains on its own shard of documents with DistributedDataParallel;
only rank 0 writes checkpoints, metrics and the artefact.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch

from nlpkit.artifacts import load_checkpoint, save_checkpoint
from nlpkit.bert.artifact import SpecialIds, save_bert, special_ids
from nlpkit.bert.config import DATA_FIELDS, PretrainConfig
from nlpkit.bert.data import PairSpec
from nlpkit.bert.distributed import World, close_world, init_world
from nlpkit.bert.masking import MaskingSpec
from nlpkit.bert.model import Bert, BertConfig, count_parameters
from nlpkit.bert.stream import StreamSpec, batches, example_stream, prefetch
from nlpkit.bert.trainer import Trainer
from nlpkit.device import resolve_device, seed_everything, set_threads
from nlpkit.errors import ConfigError, CorpusError
from nlpkit.locking import output_lock
from nlpkit.progress import Progress

log = logging.getLogger("nlpkit")


def pretrain(
    inputs: Sequence[str | Path],
    output: str | Path,
    model_cfg: BertConfig,
    cfg: PretrainConfig,
    *,
    valid: Sequence[str | Path] | None = None,
    metrics: str | Path | None = None,
    resume: bool = False,
    strict_utf8: bool = False,
    text_field: str = "text",
    quiet: bool = False,
) -> dict[str, Any]:
    """Train and publish a ``bert`` artefact in ``output``; returns the last metrics record."""
    world, device = init_world(resolve_device(cfg.device))
    try:
        with output_lock(output) if world.is_main else nullcontext():
            return _pretrain(inputs, Path(output), model_cfg, cfg, world, device, valid, metrics, resume, strict_utf8, text_field, quiet)
    finally:
        close_world(world)


def _pretrain(inputs, output, model_cfg, cfg, world, device, valid, metrics, resume, strict_utf8, text_field, quiet):  # noqa: ANN001
    set_threads(cfg.threads)
    ckpt = load_checkpoint(output) if resume else None
    if resume and ckpt is None:
        log.info("no checkpoint in %s: starting from scratch", output)
    if not resume and (output / "checkpoint.pt").exists():
        log.info("starting over: the checkpoint in %s is ignored (pass --resume to continue it)", output)
    tok = _tokenizer(inputs, cfg, ckpt, strict_utf8, text_field)
    ids = special_ids(tok)
    model_cfg = replace(model_cfg, vocab_size=tok.get_vocab_size(with_added_tokens=True), pad_id=ids.pad)
    if model_cfg.max_position < cfg.max_seq_len:
        raise ConfigError(f"--max-seq-len {cfg.max_seq_len} exceeds --max-position {model_cfg.max_position}")
    if ckpt is not None:
        _check_resumable(ckpt, model_cfg, cfg)
    seed_everything(cfg.seed + world.rank)
    model = Bert(model_cfg).to(device)
    log.info("BERT: %s parameters, %d layers, hidden %d, vocabulary %d", f"{count_parameters(model):,}", model_cfg.layers, model_cfg.hidden, model_cfg.vocab_size)
    trainer = Trainer(model, cfg, world, device)
    if ckpt is not None:
        trainer.restore(ckpt)
        log.info("resumed from step %d (%d examples consumed)", trainer.step, trainer.consumed)
    spec = StreamSpec(inputs, cfg.documents, cfg.seed, world.rank, world.world_size, cfg.masking == "static", cfg.shuffle_buffer, strict_utf8, text_field)
    pairs, masking = _specs(cfg, tok, ids)
    stream = example_stream(spec, tok, pairs, masking)
    if trainer.consumed:
        stream = itertools.islice(stream, trainer.consumed, None)  # replay the data up to where the job stopped
    train_batches = prefetch(batches(stream, cfg.batch_size, ids.pad))
    eval_batches = _valid_batches(valid, cfg, tok, pairs, masking, ids, strict_utf8, text_field) if valid else None
    record = _loop(trainer, train_batches, eval_batches, output, metrics, tok, model_cfg, quiet)
    # Stopped by --max-time: keep a checkpoint beside the model (not listed in config.json) so that
    # --resume can go on to --steps.
    state = trainer.state(tok.to_str()) if trainer.step < cfg.steps else None  # collective under DDP
    if world.is_main:
        save_bert(output, model, tok, train=_train_record(cfg, inputs, valid), data=spec.stats.summary(), results=record, force=True)
        if state is not None:
            save_checkpoint(output, state)
    return record


def _loop(trainer: Trainer, train_batches, eval_batches, output: Path, metrics, tok, model_cfg: BertConfig, quiet: bool) -> dict[str, Any]:  # noqa: ANN001
    cfg, world = trainer.cfg, trainer.world
    sink = open(metrics, "a", encoding="utf-8") if metrics and world.is_main else None  # noqa: SIM115
    start = time.monotonic()
    record: dict[str, Any] = {}
    try:
        with Progress("pretrain", total=cfg.steps, unit="steps", quiet=quiet or not world.is_main) as progress:
            progress.advance(trainer.step)
            while trainer.step < cfg.steps:
                # Every rank must stop at the same step; the vote is a collective, so only when needed.
                if cfg.max_time is not None and trainer.agree(time.monotonic() - start >= cfg.max_time):
                    log.info("--max-time reached at step %d", trainer.step)
                    break
                trainer.train_step(train_batches)
                progress.advance(1, loss=trainer.last_loss, lr=trainer.lr)
                record = _after_step(trainer, eval_batches, output, sink, tok) or record
        if not record or record.get("step") != trainer.step:
            record = trainer.flush_metrics() or record
            _write(sink, record)
    finally:
        if sink is not None:
            sink.close()
    return record


def _after_step(trainer: Trainer, eval_batches, output: Path, sink, tok) -> dict[str, Any] | None:  # noqa: ANN001
    cfg, step = trainer.cfg, trainer.step
    record = None
    if step % cfg.log_every == 0 or step == cfg.steps:
        record = trainer.flush_metrics()
        if eval_batches is not None and (step % cfg.eval_every == 0 or step == cfg.steps) and cfg.eval_every:
            record.update(trainer.evaluate(eval_batches))
        _write(sink, record)
        if trainer.world.is_main:
            log.info("step %d  %s", step, "  ".join(f"{k} {v:.4g}" for k, v in record.items() if k != "step" and isinstance(v, float)))
    if cfg.checkpoint_every and step % cfg.checkpoint_every == 0 and step < cfg.steps:
        state = trainer.state(tok.to_str())  # collective: every rank takes part
        if trainer.world.is_main:
            save_checkpoint(output, state)
    return record


def _write(sink, record: dict[str, Any]) -> None:  # noqa: ANN001
    if sink is not None and record:
        sink.write(json.dumps(record) + "\n")
        sink.flush()


def _tokenizer(inputs, cfg: PretrainConfig, ckpt, strict_utf8: bool, text_field: str):  # noqa: ANN001, ANN202
    from tokenizers import Tokenizer

    from nlpkit.corpus import read_lines, require_lines
    from nlpkit.wordpiece import WordPieceConfig, load_tokenizer, train_wordpiece

    if ckpt is not None and ckpt.get("tokenizer"):
        return Tokenizer.from_str(ckpt["tokenizer"])  # the exact vocabulary the job started with
    if cfg.tokenizer:
        return load_tokenizer(cfg.tokenizer)
    if any(str(i) == "-" for i in inputs) or not inputs:
        raise CorpusError("training a tokenizer on the fly needs to read the corpus twice, and stdin can be read once", "pass --tokenizer DIR or give the corpus as a file")
    log.info("training a WordPiece vocabulary of %d on the input (pass --tokenizer to reuse one)", cfg.vocab_size)
    lines = require_lines(read_lines(inputs, strict_utf8=strict_utf8, text_field=text_field), "corpus")
    return train_wordpiece(lines, WordPieceConfig(vocab_size=cfg.vocab_size, seed=cfg.seed))


def _specs(cfg: PretrainConfig, tok, ids: SpecialIds) -> tuple[PairSpec, MaskingSpec]:  # noqa: ANN001
    vocab = tok.get_vocab(with_added_tokens=True)
    pairs = PairSpec(cfg.max_seq_len, cfg.short_seq_prob, cfg.nsp, ids.cls, ids.sep, cfg.doc_window)
    masking = MaskingSpec(
        mask_id=ids.mask,
        vocab_size=tok.get_vocab_size(with_added_tokens=True),
        special_ids=frozenset({ids.pad, ids.cls, ids.sep}),
        continuation=frozenset(i for t, i in vocab.items() if t.startswith("##")),
        mlm_prob=cfg.mlm_prob,
        whole_word=cfg.whole_word_mask,
        first_random_id=1 + max(asdict(ids).values()),
    )
    return pairs, masking


def _valid_batches(valid, cfg: PretrainConfig, tok, pairs: PairSpec, masking: MaskingSpec, ids: SpecialIds, strict_utf8: bool, text_field: str) -> list:  # noqa: ANN001
    """A fixed held-out set: the first ``eval_batches`` batches, with fixed pairs and masks."""
    spec = StreamSpec(valid, cfg.documents, cfg.seed, 0, 1, True, 1, strict_utf8, text_field)
    from nlpkit.bert.stream import epoch_examples

    examples = epoch_examples(spec, tok, pairs, masking, epoch=0)
    out = list(itertools.islice(batches(examples, cfg.batch_size, ids.pad), cfg.eval_batches))
    log.info("held-out set: %d batches", len(out))
    return out


def _check_resumable(ckpt: dict[str, Any], model_cfg: BertConfig, cfg: PretrainConfig) -> None:
    if ckpt.get("model_config") != asdict(model_cfg):
        raise ConfigError("the checkpoint was written for a different model size", "resume with the same --layers/--hidden/... or drop --resume")
    old = ckpt.get("train_config", {})
    changed = [f for f in DATA_FIELDS if old.get(f) != getattr(cfg, f)]
    if changed:
        flags = ", ".join("--" + f.replace("_", "-") for f in changed)
        raise ConfigError(f"{flags} differ from the checkpoint's", "resume with the same options or drop --resume")


def _train_record(cfg: PretrainConfig, inputs, valid) -> dict[str, Any]:  # noqa: ANN001
    return {**asdict(cfg), "inputs": [str(i) for i in inputs], "valid": [str(v) for v in valid or []]}
