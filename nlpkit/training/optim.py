"""The optimizer and its learning-rate schedule, both from ``torch.optim``.

The schedule is a ``LambdaLR`` whose factor is warm-up times the decay (``constant``, ``linear``
to 0, ``cosine`` to 0, ``inverse_sqrt``), stepped once per optimizer step; or, for ``plateau``,
a ``ReduceLROnPlateau`` stepped with the validation metric after every evaluation. Their state
dicts go into the checkpoint, so a resumed job continues the schedule where it stopped.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import torch
from torch import nn

from nlpkit.training.config import TrainConfig


def make_optimizer(params: list[nn.Parameter], cfg: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    return cls(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def warmup_steps(cfg: TrainConfig, total_steps: int) -> int:
    """``--warmup`` below 1 is a share of all steps, from 1 a number of steps."""
    return int(cfg.warmup * total_steps) if cfg.warmup < 1 else int(cfg.warmup)


def lr_factor(step: int, kind: str, warm: int, total: int) -> float:
    """The factor on the peak lr at optimizer step ``step`` (0-based)."""
    if step < warm:
        return (step + 1) / warm
    if kind == "inverse_sqrt":
        return math.sqrt(max(warm, 1) / (step + 1))
    done = (step - warm) / max(1, total - warm)
    if kind == "linear":
        return max(0.0, 1.0 - done)
    if kind == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, done)))
    return 1.0


def make_schedule(opt: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int) -> Any:
    if cfg.schedule == "plateau":
        mode = "min"  # the engine passes a metric where lower is better
        return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode=mode, factor=cfg.lr_decay, patience=0, threshold=1e-4,
                                                          threshold_mode="abs", min_lr=cfg.min_lr)
    warm = warmup_steps(cfg, total_steps)
    return torch.optim.lr_scheduler.LambdaLR(opt, partial(lr_factor, kind=cfg.schedule, warm=warm, total=total_steps))


def steps_each_step(schedule: Any) -> bool:
    """True for schedules stepped after each optimizer step (not after evaluations)."""
    return not isinstance(schedule, torch.optim.lr_scheduler.ReduceLROnPlateau)
