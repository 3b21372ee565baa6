"""`translate train`: vocabularies, then teacher-forced training with validation and checkpoints.

One update per length-bucketed batch; the loss is token-level cross-entropy (label smoothing
optional) averaged over real target tokens, gradients clipped by norm. After each epoch (or every
``valid_every`` updates, and when ``max_time`` runs out) the model is scored on the validation
pairs, by greedy BLEU or by loss, and the best weights are kept: they are what the artefact holds.
A checkpoint (weights, optimiser, position in the epoch, best so far, vocabularies) is written
every ``checkpoint_every`` seconds and at each validation, so ``resume`` continues a killed job.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nlpkit.errors import ConfigError
from nlpkit.translate.data import ParallelSource, read_pairs
from nlpkit.translate.schedule import check_sampling

log = logging.getLogger("nlpkit")


@dataclass
class TrainConfig:
    epochs: int = 10
    max_time: float | None = None  # seconds of training (over all resumed runs); best model kept
    max_tokens: int = 4000  # padded tokens per batch (longer side)
    lr: float | None = None  # peak learning rate; None: 1e-3 (rnn), 5e-4 (transformer)
    warmup: int | None = None  # warm-up updates, then inverse sqrt; None: 0 (rnn), 1000 (transformer)
    label_smoothing: float | None = None  # None: 0.0 (rnn), 0.1 (transformer)
    clip_norm: float = 1.0  # gradient clipping by total norm (0: off)
    teacher_forcing: float | None = None  # probability of feeding the reference token (floor of the schedule);
    # None: 1.0 without a schedule, 0.0 with one (a schedule runs all the way to the model's own tokens)
    scheduled_sampling: str = "none"  # none, linear, exp, sigmoid
    ss_k: float | None = None  # the schedule's k (see schedule.py)
    valid_every: int = 0  # updates between validations; 0: after each epoch
    valid_metric: str = "bleu"  # bleu (greedy, on valid_lines pairs) or loss
    valid_lines: int = 500
    checkpoint_every: float = 300.0  # seconds between resume checkpoints
    vocab_size: int = 8000
    joint_vocab: bool = False
    lowercase: bool = False
    max_len: int = 100  # training pairs with a longer side (in pieces) are dropped
    seed: int = 0
    amp: bool | None = None  # bfloat16 autocast; None: on for CUDA

    def __post_init__(self) -> None:
        if self.epochs < 1 and self.max_time is None:
            raise ConfigError("--epochs must be at least 1")
        if self.max_time is not None and self.max_time <= 0:
            raise ConfigError("--max-time must be positive (seconds)")
        if self.valid_metric not in ("bleu", "loss"):
            raise ConfigError(f"unknown --valid-metric {self.valid_metric!r}", "use bleu or loss")
        if self.max_tokens < 8 or self.max_len < 1 or self.valid_lines < 1:
            raise ConfigError("--max-tokens, --max-len and --valid-lines are too small")
        if self.label_smoothing is not None and not 0 <= self.label_smoothing < 1:
            raise ConfigError("--label-smoothing must be in [0, 1)")
        check_sampling(self.scheduled_sampling, self.ss_k, self.teacher_forcing)

    def resolved(self, arch: str) -> TrainConfig:
        """Fill the per-architecture defaults."""
        transformer = arch == "transformer"
        values = asdict(self)
        if self.lr is None:
            values["lr"] = 5e-4 if transformer else 1e-3
        if self.warmup is None:
            values["warmup"] = 1000 if transformer else 0
        if self.label_smoothing is None:
            values["label_smoothing"] = 0.1 if transformer else 0.0
        if self.teacher_forcing is None:
            values["teacher_forcing"] = 1.0 if self.scheduled_sampling == "none" else 0.0
        return TrainConfig(**values)


def train_translation(
    source: ParallelSource,
    output: str | Path,
    arch: str,
    model_values: dict[str, Any],
    config: TrainConfig,
    *,
    valid: ParallelSource | None = None,
    device: str = "auto",
    resume: bool = False,
    quiet: bool = False,
) -> dict[str, Any]:
    """Train and publish a model directory at ``output``; returns the training summary."""
    from nlpkit.artifacts import load_checkpoint
    from nlpkit.corpus import ReadStats
    from nlpkit.device import resolve_device, seed_everything
    from nlpkit.locking import output_lock
    from nlpkit.translate.trainer import Trainer

    config = config.resolved(arch)
    with output_lock(output):
        stats = ReadStats()
        pairs = read_pairs(source, "training data", stats)
        valid_pairs = read_pairs(valid, "validation data") if valid is not None else None
        checkpoint = load_checkpoint(output) if resume else None
        if resume and checkpoint is None:
            log.info("no checkpoint in %s; starting from scratch", output)
        seed_everything(config.seed)
        random.seed(config.seed)
        trainer = Trainer(pairs, valid_pairs, arch, model_values, config, resolve_device(device), checkpoint, quiet)
        summary = trainer.run(Path(output), time.monotonic())
        trainer.publish(Path(output), {**stats.summary(), "pairs": len(pairs[0]), "source": source.describe()})
    return summary
