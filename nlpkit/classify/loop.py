"""The training loop: shuffled length-bucketed batches, AdamW, validation, early stopping, checkpoints.

Batches of an epoch are a pure function of (seed, epoch), so a resumed job rebuilds the epoch's
batch order and skips the batches it already did. Validation accuracy is measured at the end of
every epoch (and every ``eval_every`` steps); the best weights are kept, and training stops after
``patience`` evaluations without a new best. ``max_time`` counts the seconds of all runs of a job.
Checkpoints are written every ``checkpoint_every`` steps and at epoch ends (at most one per
``EPOCH_SAVE_INTERVAL`` seconds there).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from nlpkit.classify.encode import collate
from nlpkit.classify.predict import probabilities
from nlpkit.progress import Progress

log = logging.getLogger("nlpkit")
EPOCH_SAVE_INTERVAL = 10.0  # seconds: tiny epochs would otherwise spend their time writing checkpoints
BUCKET = 50  # batches per length-sorted bucket: enough to cut padding, few enough to keep batches varied


@dataclass
class LoopState:
    step: int = 0  # optimizer steps done
    epoch: int = 0  # current epoch (0-based)
    batch: int = 0  # batches of the current epoch done
    elapsed: float = 0.0  # training seconds over all runs
    best_accuracy: float = -1.0
    best_step: int = 0
    bad_evals: int = 0  # evaluations since the best one
    stopped: str = ""  # why training ended
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class LoopData:
    train: Sequence[Sequence[int]]
    train_y: Sequence[int]
    valid: Sequence[Sequence[int]] = ()
    valid_y: Sequence[int] = ()
    pad_id: int = 0


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


def accuracy(model: nn.Module, seqs: Sequence[Sequence[int]], gold: Sequence[int], pad_id: int, device: torch.device) -> float:
    pred = probabilities(model, seqs, pad_id, device).argmax(dim=1)  # (N,)
    return int((pred == torch.as_tensor(list(gold))).sum()) / len(gold)


class Trainer:
    """Runs the loop on ``model``; ``save`` is called with a checkpoint dict when one is due."""

    def __init__(self, model: nn.Module, data: LoopData, cfg: Any, device: torch.device, save: Callable[[dict[str, Any]], None], quiet: bool = False) -> None:
        self.model, self.data, self.cfg, self.device, self.save, self.quiet = model, data, cfg, device, save, quiet
        params = [p for p in model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.lengths = [len(s) for s in data.train]
        self.per_epoch = -(-len(data.train) // cfg.batch_size)
        self.total_steps = cfg.epochs * self.per_epoch
        self.state = LoopState()
        self.best_weights: dict[str, torch.Tensor] | None = None

    def lr_at(self, step: int) -> float:
        warm = int(self.cfg.warmup * self.total_steps)
        if step < warm:
            return self.cfg.lr * (step + 1) / warm
        if self.cfg.schedule == "linear":
            return self.cfg.lr * max(0.0, (self.total_steps - step) / max(1, self.total_steps - warm))
        return self.cfg.lr

    def restore(self, ckpt: dict[str, Any]) -> None:
        self.model.load_state_dict(ckpt["model"])
        self.opt.load_state_dict(ckpt["optimizer"])
        self.state = LoopState(**ckpt["loop"])
        self.best_weights = ckpt.get("best_weights")
        torch.set_rng_state(ckpt["rng"])
        log.info("resuming at epoch %d, step %d", self.state.epoch + 1, self.state.step)

    def checkpoint(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(), "optimizer": self.opt.state_dict(), "loop": asdict(self.state),
            "best_weights": self.best_weights, "rng": torch.get_rng_state(),
        }

    def _save(self) -> None:
        self.save(self.checkpoint())
        self._saved = time.monotonic()

    def run(self) -> LoopState:
        """Train until ``epochs``, ``max_time`` or early stopping; leaves the best weights in the model."""
        st = self.state
        self._t0, self._saved = time.monotonic() - st.elapsed, time.monotonic()
        with Progress("train", total=self.total_steps, unit="batches", quiet=self.quiet) as bar:
            bar.advance(st.step)
            while st.epoch < self.cfg.epochs and not st.stopped:
                batches = epoch_batches(self.lengths, self.cfg.batch_size, self.cfg.seed, st.epoch)
                loss_sum, seen = self._epoch(batches, bar)
                if st.stopped:
                    break
                st.epoch, st.batch = st.epoch + 1, 0
                self._evaluate(loss_sum / max(1, seen), end_of_epoch=True)
                st.elapsed = time.monotonic() - self._t0
                if time.monotonic() - self._saved >= EPOCH_SAVE_INTERVAL:
                    self._save()
        if not st.stopped:
            st.stopped = "epochs"
        if self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
        return st

    def _epoch(self, batches: list[list[int]], bar: Progress) -> tuple[float, int]:
        st, cfg = self.state, self.cfg
        self.model.train()
        loss_sum, seen = 0.0, 0
        for idx in batches[st.batch :]:
            loss = self._step(idx)
            loss_sum, seen = loss_sum + loss * len(idx), seen + len(idx)
            st.step, st.batch, st.elapsed = st.step + 1, st.batch + 1, time.monotonic() - self._t0
            bar.advance(1, epoch=st.epoch + 1, loss=loss)
            if cfg.eval_every and st.step % cfg.eval_every == 0 and st.batch < len(batches):
                self._evaluate(loss_sum / max(1, seen), end_of_epoch=False)
                self.model.train()
            if cfg.max_time is not None and st.elapsed >= cfg.max_time:
                st.stopped = "max-time"
                self._evaluate(loss_sum / max(1, seen), end_of_epoch=False)
            if st.stopped:
                break
            if cfg.checkpoint_every and st.step % cfg.checkpoint_every == 0:
                self._save()
        return loss_sum, seen

    def _step(self, idx: list[int]) -> float:
        ids, lengths = collate([self.data.train[i] for i in idx], self.data.pad_id, self.device)  # (B, T), (B,)
        y = torch.as_tensor([self.data.train_y[i] for i in idx], device=self.device)  # (B,)
        for group in self.opt.param_groups:
            group["lr"] = self.lr_at(self.state.step)
        loss = nn.functional.cross_entropy(self.model(ids, lengths), y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.clip_norm > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip_norm)
        self.opt.step()
        return loss.item()

    def _evaluate(self, train_loss: float, end_of_epoch: bool) -> None:
        st = self.state
        record: dict[str, Any] = {"epoch": st.epoch if end_of_epoch else st.epoch + st.batch / self.per_epoch, "step": st.step, "train_loss": round(train_loss, 5)}
        if self.data.valid:
            acc = accuracy(self.model, self.data.valid, self.data.valid_y, self.data.pad_id, self.device)
            record["valid_accuracy"] = round(acc, 5)
            if acc > st.best_accuracy:
                st.best_accuracy, st.best_step, st.bad_evals = acc, st.step, 0
                self.best_weights = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
            else:
                st.bad_evals += 1
                if st.bad_evals >= self.cfg.patience and not st.stopped:
                    st.stopped = "early-stopping"
        st.history.append(record)
        valid = f", valid accuracy {record['valid_accuracy']:.4f}" if "valid_accuracy" in record else ""
        log.info("epoch %.2f, step %d: train loss %.4f%s", record["epoch"], st.step, train_loss, valid)
