"""``nlpkit translate train``: the translation family on the training engine.

Batches are length-bucketed pairs of at most ``--max-tokens`` padded tokens, shuffled: a pure
function of (seed, epoch) and the (fixed) data options, so a resumed job's position indexes the
same batches. A step is token-level cross-entropy (label smoothing optional) averaged over real
target tokens, with scheduled sampling (Bengio et al. 2015) feeding the model's own predictions
with probability 1 - eps at the current optimizer step; the metrics record that ``teacher_forcing``
probability. An evaluation scores the validation pairs by greedy BLEU (higher is better) or by
loss; the best weights are what the artefact holds.
"""

from __future__ import annotations

import logging
import random
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nlpkit.corpus import ReadStats
from nlpkit.errors import CorpusError
from nlpkit.training import RunOptions, unwrap
from nlpkit.training.engine import Engine
from nlpkit.training.job import open_job
from nlpkit.translate.artifact import save_translation
from nlpkit.translate.config import TrainConfig
from nlpkit.translate.data import ParallelSource, bucket, make_batch, read_pairs
from nlpkit.translate.model import KIND, Translator, build_model, model_config
from nlpkit.translate.schedule import gold_probability
from nlpkit.translate.vocab import BOS_ID, EOS_ID, PAD_ID, Vocabs, encode, train_vocabs, vocabs_from_strings, vocabs_to_strings

log = logging.getLogger("nlpkit")

__all__ = ["TrainConfig", "TranslateTask", "epoch_batches", "train_translation"]


def epoch_batches(lengths: list[tuple[int, int]], max_tokens: int, seed: int, epoch: int) -> list[list[int]]:
    """Pair indices of each batch of ``epoch``: length-bucketed, ties broken and batches shuffled by (seed, epoch)."""
    return bucket(lengths, max_tokens, random.Random(seed * 1000 + epoch))


class TranslateTask:
    def __init__(self, pairs: tuple[list[list[int]], list[list[int]]], valid: tuple[list[str], list[str]] | None,
                 vocabs: Vocabs, cfg: TrainConfig, device: torch.device) -> None:
        self.src_ids, self.tgt_ids = pairs
        self.lengths = [(len(s), len(t)) for s, t in zip(self.src_ids, self.tgt_ids)]
        self.valid, self.vocabs, self.cfg, self.device = valid, vocabs, cfg, device
        self.metric = "" if valid is None else f"valid_{cfg.valid_metric}"
        self.higher_is_better = cfg.valid_metric == "bleu"
        self.engine: Engine | None = None  # set once built: the schedule of scheduled sampling runs on its step count

    def optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        # the Transformer's betas (Vaswani et al. 2017); Adam's defaults for the RNNs
        betas = (0.9, 0.98) if self.cfg.arch == "transformer" else (0.9, 0.999)
        cls = torch.optim.AdamW if self.cfg.optimizer == "adamw" else torch.optim.Adam
        if self.cfg.optimizer == "sgd":
            return torch.optim.SGD(model.parameters(), lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)
        return cls(model.parameters(), lr=self.cfg.lr, betas=betas, weight_decay=self.cfg.weight_decay)

    def batches(self, epoch: int) -> list[list[int]]:
        return epoch_batches(self.lengths, self.cfg.max_tokens, self.cfg.seed, epoch)

    def teacher_forcing(self) -> float:
        step = self.engine.state.step if self.engine is not None else 0
        return gold_probability(step, self.cfg.scheduled_sampling, self.cfg.ss_k, self.cfg.teacher_forcing)

    def step(self, model: nn.Module, index: list[int]) -> dict[str, Any]:
        batch = make_batch(self.src_ids, self.tgt_ids, index, pad_id=PAD_ID, bos_id=BOS_ID, eos_id=EOS_ID).to(self.device)
        gold = self.teacher_forcing()
        logits = model(batch.src, batch.src_mask, batch.tgt_in, gold_prob=gold)  # (B, T, V)
        loss = F.cross_entropy(logits.float().flatten(0, 1), batch.tgt_out.flatten(), ignore_index=PAD_ID,
                               label_smoothing=self.cfg.label_smoothing)
        return {"loss": loss, "teacher_forcing": gold, "n_tokens": batch.n_tokens}

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        if self.valid is None:
            return {}
        out = {"valid_loss": self.valid_loss(model)}
        if self.cfg.valid_metric == "bleu":
            out["valid_bleu"] = self.valid_bleu(model)
        return out

    def valid_loss(self, model: nn.Module) -> float:
        src = encode(self.vocabs.src, self.valid[0], self.cfg.max_len)
        tgt = encode(self.vocabs.tgt, self.valid[1], self.cfg.max_len)
        total, tokens = 0.0, 0
        for index in bucket([(len(s), len(t)) for s, t in zip(src, tgt)], self.cfg.max_tokens):
            batch = make_batch(src, tgt, index, pad_id=PAD_ID, bos_id=BOS_ID, eos_id=EOS_ID).to(self.device)
            logits = model(batch.src, batch.src_mask.clone(), batch.tgt_in)  # (B, T, V)
            total += float(F.cross_entropy(logits.float().flatten(0, 1), batch.tgt_out.flatten(), ignore_index=PAD_ID, reduction="sum"))
            tokens += batch.n_tokens
        return total / max(tokens, 1)

    def valid_bleu(self, model: nn.Module) -> float:
        from nlpkit.translate.beam import BeamConfig
        from nlpkit.translate.bleu import corpus_bleu
        from nlpkit.translate.decode import translate_texts

        n = self.cfg.valid_lines
        translator = Translator(unwrap(model), self.vocabs, {"model": asdict(unwrap(model).config)}, self.device)
        hyps = translate_texts(translator, self.valid[0][:n], BeamConfig(beam=1), max_tokens=self.cfg.max_tokens)
        return corpus_bleu(hyps, self.valid[1][:n]).score


def encode_pairs(vocabs: Vocabs, pairs: tuple[list[str], list[str]], max_len: int) -> tuple[list[list[int]], list[list[int]], int]:
    """Piece ids of both sides, pairs with a side longer than ``max_len`` pieces dropped; and how many were."""
    src, tgt = encode(vocabs.src, pairs[0]), encode(vocabs.tgt, pairs[1])
    keep = [i for i in range(len(src)) if 0 < len(src[i]) <= max_len and 0 < len(tgt[i]) <= max_len]
    if not keep:
        raise CorpusError(f"no training pair has at most {max_len} pieces per side", "raise --max-len")
    if len(keep) < len(src):
        log.info("dropped %d training pair(s) longer than --max-len %d pieces", len(src) - len(keep), max_len)
    return [src[i] for i in keep], [tgt[i] for i in keep], len(src) - len(keep)


def train_translation(
    source: ParallelSource, output: str | Path, model_options: dict[str, Any], cfg: TrainConfig, *,
    valid: ParallelSource | None = None, run: RunOptions | None = None,
) -> dict[str, Any]:
    """Train and publish a translation model at ``output``; returns its config.json (``{}`` on ranks other than 0)."""
    run = run or RunOptions()
    with open_job(output, cfg, run, model_options, kind=KIND) as job:
        stats = ReadStats()
        pairs = read_pairs(source, "training data", stats)
        valid_pairs = read_pairs(valid, "validation data") if valid is not None else None
        if job.meta:
            vocabs = vocabs_from_strings(job.meta["vocabs"])
        else:
            vocabs = train_vocabs(pairs[0], pairs[1], vocab_size=cfg.vocab_size, joint=cfg.joint_vocab, lowercase=cfg.lowercase)
        src_ids, tgt_ids, dropped = encode_pairs(vocabs, pairs, cfg.max_len)
        sizes = {"src_vocab_size": vocabs.src_size, "tgt_vocab_size": vocabs.tgt_size, "max_len": cfg.max_len}
        model_cfg = model_config(cfg.arch, {**{k: v for k, v in model_options.items() if v is not None}, **sizes})
        model = build_model(model_cfg)
        task = TranslateTask((src_ids, tgt_ids), valid_pairs, vocabs, cfg, job.device)
        engine = Engine(model, task, job, meta={"vocabs": vocabs_to_strings(vocabs)})
        task.engine = engine
        state = engine.run()
        results = {**engine.results(), "parameters": sum(p.numel() for p in model.parameters()), "dropped_long_pairs": dropped}
        log.info("stopped (%s) after %d steps, %.0f s", state.stopped, state.step, state.elapsed)
        if not job.world.is_main:
            return {}
        data = {**stats.summary(), "pairs": len(pairs[0]), "source": source.describe()}
        return save_translation(output, model.cpu(), vocabs, model_cfg, train={**asdict(cfg), **results}, data=data, history=state.history)
