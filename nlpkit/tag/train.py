"""``nlpkit tag train``: the tagger family on the training engine (``nlpkit.training``).

Batches are shuffled, length-bucketed lists of sentence indices, a pure function of (seed, epoch)
(``classify``'s ``epoch_batches``); each carries a key derived from (seed, epoch, position) that seeds
the ``--unk-replace`` draws (words seen once become ``<unk>`` with that probability, so ``<unk>``
is trained as in Lample et al. 2016), which keeps a resumed job exact. A step is the negative
log-likelihood per token (CRF or softmax). An evaluation tags the validation sentences and scores
them as conlleval does: ``valid_f1`` picks the best weights and drives early stopping
(``valid_accuracy`` for tags without chunks).
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nlpkit.classify.train import epoch_batches
from nlpkit.errors import ConfigError
from nlpkit.tag.artifact import save_tagger
from nlpkit.tag.build import build_for_training
from nlpkit.tag.config import KIND, TagConfig
from nlpkit.tag.data import load_data
from nlpkit.tag.encode import TagVocab, collate
from nlpkit.tag.metrics import chunk_scores
from nlpkit.tag.schemes import NONE
from nlpkit.training import RunOptions, unwrap
from nlpkit.training.engine import Engine
from nlpkit.training.job import open_job

log = logging.getLogger("nlpkit")
EVAL_BATCH = 64


class TagTask:
    higher_is_better = True

    def __init__(self, train: list[dict[str, Any]], valid: list[dict[str, Any]], cfg: TagConfig, device: torch.device,
                 tags: Sequence[str], scheme: str, singletons: set[int]) -> None:
        self.train, self.valid, self.cfg, self.device = train, valid, cfg, device
        self.tags, self.scheme, self.singletons = list(tags), scheme, singletons
        self.metric = "valid_accuracy" if scheme == NONE else "valid_f1"
        self.find_unused_parameters = cfg.arch == "bert"  # under DDP: BERT's pre-training heads get no gradient
        self.lengths = [len(x["tags"]) for x in train]

    def batches(self, epoch: int) -> list[tuple[int, list[int]]]:
        """(key, sentence indices) per batch; the key seeds this batch's <unk> replacement."""
        order = epoch_batches(self.lengths, self.cfg.batch_size, self.cfg.seed, epoch)
        return [((self.cfg.seed * 1_000_003 + epoch) * 1_000_003 + i, idx) for i, idx in enumerate(order)]

    def step(self, model: nn.Module, batch: tuple[int, list[int]]) -> dict[str, Any]:
        key, idx = batch
        unk = (random.Random(key), self.singletons, self.cfg.unk_replace) if self.singletons and self.cfg.unk_replace else None
        tensors = collate([self.train[i] for i in idx], self.device, unk)
        return {"loss": model(tensors), "n_tokens": int(tensors["mask"].sum())}

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        if not self.valid:
            return {}
        tagger = unwrap(model)
        order = sorted(range(len(self.valid)), key=lambda i: len(self.valid[i]["tags"]))
        pred: list[list[str]] = [[] for _ in self.valid]
        for start in range(0, len(order), EVAL_BATCH):
            idx = order[start : start + EVAL_BATCH]
            best, _ = tagger.decode(collate([self.valid[i] for i in idx], self.device))
            for i, row in zip(idx, best):
                pred[i] = [self.tags[k] for k in row]
        gold = [[self.tags[k] for k in x["tags"]] for x in self.valid]
        report = chunk_scores(gold, pred, chunks=self.scheme != NONE)
        out = {"valid_accuracy": report["accuracy"]}
        if "overall" in report:
            o = report["overall"]
            out.update(valid_f1=o["f1"], valid_precision=o["precision"], valid_recall=o["recall"])
        return out


def _singletons(train: Sequence[Sequence[str]], vocab: TagVocab) -> set[int]:
    counts = Counter(vocab.word_id(t) for tokens in train for t in tokens)
    return {w for w, n in counts.items() if n == 1 and w > 1}


def train_tagger(inputs: Sequence[str], output: str | Path, cfg: TagConfig, *, valid: Sequence[str] | None = None,
                 run: RunOptions | None = None, strict_utf8: bool = False) -> dict[str, Any]:
    """Train and publish a tagger; returns its config.json (on rank 0; ``{}`` on other ranks)."""
    run = run or RunOptions()
    with open_job(output, cfg, run, kind=KIND) as job:
        data = load_data(inputs, valid, cfg, cfg.seed, strict_utf8)
        if job.meta and job.meta["tags"] != data.tags:
            raise ConfigError("--resume with training data whose tags differ from the interrupted job's", "resume with the same data")
        model, encoder, model_cfg = build_for_training(cfg, data, job.meta["vocab"] if job.meta else None)
        train = [encoder.encode(s.tokens, s.tags) for s in data.train]
        held = [encoder.encode(s.tokens, s.tags) for s in data.valid]
        singletons = _singletons([s.tokens for s in data.train], encoder) if isinstance(encoder, TagVocab) else set()
        meta = {"tags": data.tags, "vocab": encoder.to_json() if isinstance(encoder, TagVocab) else None}
        task = TagTask(train, held, cfg, job.device, data.tags, data.scheme, singletons)
        engine = Engine(model, task, job, meta)
        state = engine.run()
        results = engine.results()
        best = results.get("best_" + task.metric)
        log.info("stopped (%s) after %d steps, %.0fs; best %s %s", state.stopped, state.step, state.elapsed, task.metric,
                 f"{best:.4f}" if best is not None else "n/a")
        if not job.world.is_main:
            return {}
        return save_tagger(output, model.cpu(), encoder, input_scheme=data.input_scheme,
                           train={**asdict(model_cfg), **results}, data=data.summary, history=state.history)
