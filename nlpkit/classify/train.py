"""``nlpkit classify train``: the classifier family on the training engine.

Batches are shuffled and length-bucketed, a pure function of (seed, epoch); a step is the
cross-entropy of a batch; an evaluation is validation accuracy (higher is better), which picks the
best weights and drives early stopping. The job writes its resume checkpoint into the output
directory and, on success, replaces that directory with the finished artefact (see ``artifact``).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nlpkit.classify.artifact import KIND, save_classifier
from nlpkit.classify.build import build_for_training, check_model_options
from nlpkit.classify.config import TrainConfig
from nlpkit.classify.data import load_datasets
from nlpkit.classify.encode import collate
from nlpkit.classify.predict import probabilities
from nlpkit.classify.transfer import check_init_options, init_model, read_init, resumed_model, unknown_share
from nlpkit.training import RunOptions
from nlpkit.training.engine import Engine
from nlpkit.training.job import open_job

log = logging.getLogger("nlpkit")
BUCKET = 50  # batches per length-sorted bucket: enough to cut padding, few enough to keep batches varied

__all__ = ["ClassifyTask", "TrainConfig", "epoch_batches", "train_classifier"]


def epoch_batches(lengths: Sequence[int], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Example indices of each batch: shuffled, sorted by length inside buckets, batches shuffled."""
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches = []
    span = batch_size * BUCKET
    for start in range(0, len(order), span):
        bucket = sorted(order[start : start + span], key=lambda i: lengths[i])
        batches += [bucket[i : i + batch_size] for i in range(0, len(bucket), batch_size)]
    rng.shuffle(batches)
    return batches


class ClassifyTask:
    metric, higher_is_better = "valid_accuracy", True

    def __init__(self, train: tuple[list[list[int]], list[int]], valid: tuple[list[list[int]], list[int]], pad_id: int,
                 cfg: TrainConfig, device: torch.device) -> None:
        (self.x, self.y), (self.valid_x, self.valid_y) = train, valid
        self.pad_id, self.cfg, self.device = pad_id, cfg, device
        self.lengths = [len(s) for s in self.x]
        self.find_unused_parameters = cfg.arch == "bert"  # the encoder's MLM/NSP heads get no gradient

    def batches(self, epoch: int) -> list[list[int]]:
        return epoch_batches(self.lengths, self.cfg.batch_size, self.cfg.seed, epoch)

    def step(self, model: nn.Module, idx: list[int]) -> dict[str, Any]:
        ids, lengths = collate([self.x[i] for i in idx], self.pad_id, self.device)  # (B, T), (B,)
        y = torch.as_tensor([self.y[i] for i in idx], device=self.device)  # (B,)
        loss = nn.functional.cross_entropy(model(ids, lengths).float(), y)
        return {"loss": loss, "n_examples": len(idx)}

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        if not self.valid_x:
            return {}
        pred = probabilities(model, self.valid_x, self.pad_id, self.device).argmax(dim=1)  # (N,)
        return {"valid_accuracy": int((pred == torch.as_tensor(self.valid_y)).sum()) / len(self.valid_y)}


def _model(cfg: TrainConfig, options: dict[str, Any], train: list[Any], labels: list[str], meta: dict[str, Any] | None) -> tuple[nn.Module, Any]:
    """A fresh model, one from --init, or the model a checkpoint was written from."""
    if not cfg.init:
        return build_for_training(cfg, options, train, len(labels), meta)
    return resumed_model(cfg.arch, meta) if meta else init_model(cfg.init, cfg.arch, options, labels)


def train_classifier(
    inputs: list[str], output: str | Path, model_options: dict[str, Any], cfg: TrainConfig, *,
    valid: list[str] | None = None, run: RunOptions | None = None, strict_utf8: bool = False,
) -> dict[str, Any]:
    """Train and publish a classifier; returns its config.json (on rank 0; ``{}`` on other ranks)."""
    run = run or RunOptions()
    if cfg.init:
        check_init_options(model_options)
    else:
        check_model_options(cfg.arch, model_options)
    with open_job(output, cfg, run, model_options, kind=KIND) as job:
        if cfg.init and not job.meta:
            read_init(cfg.init, cfg.arch)  # a bad DIR fails before the data is read
        data = load_datasets(inputs, valid, cfg, strict_utf8)
        labels = job.meta["labels"] if job.meta else data.labels
        model, encoder = _model(cfg, model_options, data.train, labels, job.meta)
        y = {label: i for i, label in enumerate(labels)}
        started = time.monotonic()
        train = (encoder.encode_batch([e.text for e in data.train]), [y[e.label] for e in data.train])
        held = (encoder.encode_batch([e.text for e in data.valid]), [y[e.label] for e in data.valid])
        log.info("encoded %d training and %d validation texts in %.1fs", len(data.train), len(data.valid), time.monotonic() - started)
        if cfg.init:
            log.info("%.1f%% of the training words are unknown to the --init vocabulary (<unk>)", 100 * unknown_share(train[0]))
        meta = {"labels": labels, "vocab": getattr(getattr(encoder, "vocab", None), "tokens", None),
                "vector_rows": getattr(getattr(model, "cfg", None), "vector_rows", 0), "model_cfg": asdict(model.cfg)}
        engine = Engine(model, ClassifyTask(train, held, encoder.pad_id, cfg, job.device), job, meta)
        state = engine.run()
        results = engine.results()
        best = results["best_valid_accuracy"]
        log.info("stopped (%s) after %d steps, %.0fs; best valid accuracy %s", state.stopped, state.step, state.elapsed,
                 f"{best:.4f}" if best is not None else "n/a")
        if not job.world.is_main:
            return {}
        return save_classifier(output, model.cpu(), encoder, labels, arch=cfg.arch, train={**asdict(cfg), **results},
                               data=data.summary, history=state.history)
