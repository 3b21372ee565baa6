"""Training loop for the neural LMs: truncated BPTT over a token stream, clipping, plateau decay.

The training text becomes one stream ``</s> sentence </s> sentence </s> ...`` cut into
``batch_size`` parallel rows; each step takes the next ``bptt`` columns. The recurrent state is
carried from one segment to the next and detached, so gradients stop at the segment boundary
(truncated backpropagation through time). Validation perplexity is measured on the --valid stream
every ``eval_every`` steps and at every epoch end; when it does not improve, the learning rate is
multiplied by ``lr_decay``. The best-on-valid weights are what the artefact holds. A resume
checkpoint (weights, optimizer, position, best weights) is written at every evaluation.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nlpkit.errors import ConfigError

log = logging.getLogger("nlpkit")


@dataclass
class TrainConfig:
    epochs: int = 10
    max_time: float | None = None  # seconds; stop then and keep the best-on-valid model
    batch_size: int = 20
    bptt: int = 35  # tokens per truncated-BPTT segment
    optimizer: str = "adam"  # adam or sgd
    lr: float = 1e-3
    lr_decay: float = 0.5  # multiply the lr by this when valid perplexity does not improve
    min_lr: float = 1e-6
    clip: float = 0.25  # max gradient norm (against exploding gradients); 0 = off
    weight_decay: float = 0.0
    eval_every: int = 0  # steps between validations (0: once per epoch)
    amp: bool = True  # bfloat16 autocast on CUDA (ignored elsewhere)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.bptt < 1:
            raise ConfigError("--epochs, --batch-size and --bptt must be at least 1")
        if self.optimizer not in ("adam", "sgd"):
            raise ConfigError(f"unknown optimizer {self.optimizer!r}", "use adam or sgd")
        if self.lr <= 0 or not 0 < self.lr_decay <= 1:
            raise ConfigError("--lr must be positive and --lr-decay in (0, 1]")
        if self.max_time is not None and self.max_time <= 0:
            raise ConfigError("--max-time must be positive")


def batchify(stream: torch.Tensor, batch_size: int) -> torch.Tensor:
    """(N,) -> (B, N // B): row b is the b-th contiguous slice of the stream."""
    n = len(stream) // batch_size
    if n < 2:
        raise ConfigError(f"the text is too short for --batch-size {batch_size}", "use a smaller --batch-size or more text")
    return stream[: n * batch_size].view(batch_size, n)


def detach_state(state: Any) -> Any:
    """Cut the graph at the segment boundary, keeping the values (truncated BPTT)."""
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def segments(data: torch.Tensor, bptt: int, start: int = 0):
    """(x, y) pairs of (B, <=bptt) columns; y is x shifted by one token."""
    for i in range(start, data.shape[1] - 1, bptt):
        t = min(bptt, data.shape[1] - 1 - i)
        yield i, data[:, i : i + t], data[:, i + 1 : i + 1 + t]


@torch.no_grad()
def evaluate(model: nn.Module, data: torch.Tensor, bptt: int) -> float:
    """Mean negative log-likelihood (nats per token) over a batchified stream."""
    model.eval()
    state = model.init_state(data.shape[0], data.device)
    total, count = 0.0, 0
    for _, x, y in segments(data, bptt):
        logits, state = model(x, state)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1), reduction="sum").item()
        count += y.numel()
    model.train()
    return total / max(count, 1)


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


def train_step(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, state: Any,
               cfg: TrainConfig) -> tuple[float, Any]:
    """One segment: forward from the detached state, backward, clip, step. Returns (loss, state)."""
    state = detach_state(state)
    use_amp = cfg.amp and x.device.type == "cuda"
    with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=use_amp):
        logits, state = model(x, state)  # (B, T, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if cfg.clip > 0:
        nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
    opt.step()
    return loss.item(), state


class Trainer:
    """Holds the run's mutable state so that it can be checkpointed and resumed."""

    def __init__(self, model: nn.Module, cfg: TrainConfig, train: torch.Tensor, valid: torch.Tensor | None,
                 out_dir: Path, quiet: bool = False) -> None:
        self.model, self.cfg, self.train, self.valid = model, cfg, train, valid
        self.out_dir, self.quiet = out_dir, quiet
        self.opt = make_optimizer(model, cfg)
        self.epoch, self.position, self.step = 0, 0, 0
        self.elapsed = 0.0
        self.best_valid = math.inf
        self.best_state: dict[str, torch.Tensor] | None = None
        self.history: list[dict[str, float]] = []
        self.extra: dict[str, Any] = {}

    # -- checkpoints ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(), "optimizer": self.opt.state_dict(), "epoch": self.epoch,
            "position": self.position, "step": self.step, "elapsed": self.elapsed, "best_valid": self.best_valid,
            "best_model": self.best_state, "history": self.history, **self.extra,
        }

    def load_state_dict(self, ckpt: dict[str, Any]) -> None:
        self.model.load_state_dict(ckpt["model"])
        self.opt.load_state_dict(ckpt["optimizer"])
        self.epoch, self.position, self.step = ckpt["epoch"], ckpt["position"], ckpt["step"]
        self.elapsed, self.best_valid = ckpt["elapsed"], ckpt["best_valid"]
        self.best_state, self.history = ckpt["best_model"], ckpt["history"]

    def checkpoint(self) -> None:
        from nlpkit.artifacts import save_checkpoint

        save_checkpoint(self.out_dir, self.state_dict())

    # -- the loop ------------------------------------------------------------------------------
    def lr(self) -> float:
        return self.opt.param_groups[0]["lr"]

    def validate(self, train_loss: float) -> None:
        """Measure valid perplexity, keep the best weights, decay the lr on a plateau, checkpoint."""
        valid = evaluate(self.model, self.valid, self.cfg.bptt) if self.valid is not None else train_loss
        epoch = self.epoch + self.position / self.train.shape[1]
        record = {"epoch": round(epoch, 3), "step": self.step, "train_ppl": math.exp(min(train_loss, 50)),
                  "valid_ppl": math.exp(min(valid, 50)), "lr": self.lr(), "seconds": round(self.elapsed, 1)}
        self.history.append(record)
        log.info("epoch %.2f step %d: train ppl %.2f, valid ppl %.2f, lr %.3g, %.0f s", record["epoch"], self.step,
                 record["train_ppl"], record["valid_ppl"], record["lr"], self.elapsed)
        if valid < self.best_valid - 1e-4 or self.valid is None:
            self.best_valid = valid
            self.best_state = {k: v.detach().clone().cpu() for k, v in self.model.state_dict().items()}
        else:
            for group in self.opt.param_groups:
                group["lr"] = max(self.cfg.min_lr, group["lr"] * self.cfg.lr_decay)
        self.checkpoint()

    def out_of_time(self) -> bool:
        return self.cfg.max_time is not None and self.elapsed >= self.cfg.max_time

    def run(self) -> None:
        from nlpkit.progress import Progress

        cfg, model = self.cfg, self.model
        model.train()
        self._clock = (time.monotonic(), self.elapsed)  # wall time, evaluations included, across resumes
        per_epoch = self.train.numel()
        with Progress("train", total=cfg.epochs * per_epoch, unit="tokens", quiet=self.quiet) as progress:
            progress.advance(self.epoch * per_epoch + self.position * self.train.shape[0])
            while self.epoch < cfg.epochs and not self.out_of_time():
                self._epoch(progress)

    def _epoch(self, progress: Any) -> None:
        cfg, model = self.cfg, self.model
        state = model.init_state(self.train.shape[0], self.train.device)
        loss_sum, n, since_eval = 0.0, 0, 0.0
        for i, x, y in segments(self.train, cfg.bptt, self.position):
            loss, state = train_step(model, self.opt, x, y, state, cfg)
            self.elapsed = self._clock[1] + time.monotonic() - self._clock[0]
            loss_sum, n, self.step = loss_sum + loss, n + 1, self.step + 1
            self.position = i + x.shape[1]
            progress.advance(x.numel(), loss=round(loss, 3), lr=self.lr())
            if cfg.eval_every and self.step % cfg.eval_every == 0:
                self.validate(loss_sum / n)
            if self.out_of_time():
                log.info("--max-time reached after %.0f s", self.elapsed)
                self.validate(loss_sum / max(n, 1))
                return
        self.epoch, self.position = self.epoch + 1, 0
        self.validate(loss_sum / max(n, 1))

