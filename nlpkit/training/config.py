"""The engine's settings, shared by every trainer, and the flag names they map to.

``TrainConfig`` holds what every neural trainer shares (``--epochs``, ``--lr``, ``--precision``,
...). A family subclasses it and adds its own fields (``batch_size``, ``arch``, ...); every field
is the flag of the same name (``grad_accum`` is ``--grad-accum``), and ``flag()`` builds the flag
from the field so that error messages cannot drift from the CLI. Fields marked with ``fixed()``
decide the data order or the model and must not change when a job is resumed.

This module imports no torch: CLI adapters build configs before anything heavy is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from nlpkit.durations import Cadence, parse_cadence, parse_duration
from nlpkit.errors import ConfigError

SCHEDULES = ("constant", "linear", "cosine", "inverse_sqrt", "plateau")
PRECISIONS = ("fp32", "bf16", "fp16")
OPTIMIZERS = ("adamw", "adam", "sgd")


def fixed(default: Any = None, **kw: Any) -> Any:
    """A dataclass field that a resumed job must keep (it decides the batches or the model)."""
    return field(default=default, metadata={"fixed": True}, **kw)


def flag(name: str) -> str:
    """The command-line flag of a config field: ``grad_accum`` -> ``--grad-accum``."""
    return "--" + name.replace("_", "-")


def flags(names: list[str] | tuple[str, ...]) -> str:
    return ", ".join(flag(n) for n in names)


def fixed_values(cfg: Any) -> dict[str, Any]:
    """The values of ``cfg``'s fixed fields, as a resumed job must find them again."""
    return {f.name: getattr(cfg, f.name) for f in fields(cfg) if f.metadata.get("fixed")}


@dataclass
class TrainConfig:
    """What the engine needs; a family's config inherits these fields and adds its own.

    ``None`` means "the family's default" and is resolved by the family's ``__post_init__``
    (for example a learning rate per architecture) before ``TrainConfig.__post_init__`` checks.
    """

    epochs: int = 10  # passes over the training data (the most: --max-time and early stopping may end sooner)
    max_time: float | str | None = None  # training time over all runs of the job (90, 90s, 15m, 2h); then stop and publish
    checkpoint_every: str = "500"  # resume checkpoint every N optimizer steps or every DURATION (0: epoch ends only)
    eval_every: str = "0"  # validate every N optimizer steps or every DURATION, besides each epoch's end (0: epoch ends)
    patience: int = 0  # evaluations without a better validation metric before stopping (0: never stop early)
    lr: float | None = None  # peak learning rate
    warmup: float = 0.0  # linear warm-up from 0: below 1 a share of all steps, from 1 a number of steps
    schedule: str = "constant"  # after warm-up: constant, linear (to 0), cosine (to 0), inverse_sqrt, plateau
    lr_decay: float = 0.5  # plateau: multiply the lr by this after an evaluation without improvement
    min_lr: float = 0.0  # plateau: the lr never falls below this
    optimizer: str = "adamw"  # adamw, adam or sgd
    weight_decay: float = 0.0  # decoupled (adamw) or L2 (adam, sgd) weight decay
    clip: float = 1.0  # clip the global gradient norm to this (0: off)
    grad_accum: int = fixed(1)  # micro-batches per optimizer step (each rank, under torchrun)
    precision: str | None = "fp32"  # fp32, bf16 (autocast, CPU too) or fp16 (autocast and loss scaling; CUDA only)
    log_every: int = 100  # optimizer steps between metrics records and log lines
    device: str = "auto"  # auto (CUDA when present), cpu, cuda, cuda:N, mps
    threads: int = 0  # CPU threads per process (0: all cores, shared among the processes of a torchrun job)
    seed: int = fixed(0)  # the same seed repeats a run; batches are a pure function of (seed, epoch)

    def __post_init__(self) -> None:
        self.max_time = parse_duration(self.max_time, flag("max_time"))
        self.checkpoint_every = str(self.checkpoint_every)
        self.eval_every = str(self.eval_every)
        self.checkpoint_cadence(), self.eval_cadence()  # refuse a bad cadence now, not after data loading
        if self.lr is None:
            raise ConfigError(f"{flag('lr')} has no default for this model", "give --lr")
        _at_least(self, 1, "epochs", "grad_accum", "log_every")
        _at_least(self, 0, "patience", "threads", "clip", "weight_decay", "warmup", "min_lr")
        if self.lr <= 0:
            raise ConfigError(f"{flag('lr')} must be positive")
        _choice(self, "schedule", SCHEDULES)
        if self.precision is not None:  # None: the family's choice once the device is known (open_job)
            _choice(self, "precision", PRECISIONS)
        _choice(self, "optimizer", OPTIMIZERS)
        if not 0 < self.lr_decay <= 1:
            raise ConfigError(f"{flag('lr_decay')} must be in (0, 1]")
        if self.schedule == "plateau" and self.warmup:
            raise ConfigError(f"{flag('schedule')} plateau takes no {flag('warmup')}", "use --warmup 0 or another --schedule")

    def checkpoint_cadence(self) -> Cadence:
        return parse_cadence(self.checkpoint_every, flag("checkpoint_every"))

    def eval_cadence(self) -> Cadence:
        return parse_cadence(self.eval_every, flag("eval_every"))


@dataclass
class RunOptions:
    """How to run a job, as opposed to what to train: not recorded as hyperparameters."""

    resume: bool = False  # continue from the checkpoint in the output directory
    force: bool = False  # discard a checkpoint (and replace a model) in the output directory
    metrics: str | None = None  # JSONL file for metrics records (rank 0 writes it)
    quiet: bool = False  # no progress on stderr

    def __post_init__(self) -> None:
        if self.resume and self.force:
            raise ConfigError("--resume and --force contradict each other", "--resume continues a job, --force starts it over")


def _at_least(cfg: Any, low: float, *names: str) -> None:
    for name in names:
        if getattr(cfg, name) < low:
            raise ConfigError(f"{flag(name)} must be {'at least 1' if low == 1 else '0 or more'}")


def _choice(cfg: Any, name: str, choices: tuple[str, ...]) -> None:
    if getattr(cfg, name) not in choices:
        raise ConfigError(f"unknown {flag(name)} {getattr(cfg, name)!r}", "use " + ", ".join(choices))
