"""The training flags every neural trainer shares, defined once.

Each alias maps to the ``nlpkit.training.TrainConfig`` field of the same name (``--grad-accum`` is
``grad_accum``) or, for the model sizes, to the model config's field. Every option defaults to
``None`` ("not given"): ``config_values`` drops those, so the defaults are the config dataclasses'
own (resolved per architecture where they differ), never the adapter's.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from nlpkit.training.config import OPTIMIZERS, PRECISIONS, SCHEDULES

Schedule = Enum("Schedule", {s: s for s in SCHEDULES}, type=str)  # type: ignore[misc]
Precision = Enum("Precision", {p: p for p in PRECISIONS}, type=str)  # type: ignore[misc]
Optimizer = Enum("Optimizer", {o: o for o in OPTIMIZERS}, type=str)  # type: ignore[misc]


def _opt(flag: str, text: str, **kw: Any) -> Any:
    return typer.Option(flag, help=text, show_default=False, **kw)


EpochsOpt = Annotated[Optional[int], _opt("--epochs", "Most passes over the training data.", min=1)]
MaxTimeOpt = Annotated[Optional[str], _opt("--max-time", "Stop after this much training over all runs of the job (90, 90s, 15m, 2h) and publish the model.")]
CheckpointEveryOpt = Annotated[Optional[str], _opt("--checkpoint-every", "Resume checkpoint every N optimizer steps or every DURATION (15m), besides epoch ends; 0: epoch ends only.")]
ResumeOpt = Annotated[bool, typer.Option("--resume", help="Continue the interrupted job whose checkpoint is in --output (same options).")]
MetricsOpt = Annotated[Optional[Path], _opt("--metrics", "Append JSONL metrics records (step, epoch, seconds, loss, lr, validation metrics) to FILE.")]
ValidOpt = Annotated[Optional[list[str]], _opt("--valid", "Validation data: evaluations, the best model, early stopping.")]
EvalEveryOpt = Annotated[Optional[str], _opt("--eval-every", "Also validate every N optimizer steps or every DURATION (0: at epoch ends only).")]
PatienceOpt = Annotated[Optional[int], _opt("--patience", "Stop after this many evaluations without a better validation metric (0: never).", min=0)]
LrOpt = Annotated[Optional[float], _opt("--lr", "Peak learning rate.")]
WarmupOpt = Annotated[Optional[float], _opt("--warmup", "Linear warm-up: below 1 a share of all steps, from 1 a number of steps.", min=0)]
ScheduleOpt = Annotated[Optional[Schedule], _opt("--schedule", "Learning rate after warm-up: constant, linear or cosine decay to 0, inverse_sqrt, or plateau (--lr-decay after an evaluation without progress).")]
LrDecayOpt = Annotated[Optional[float], _opt("--lr-decay", "plateau schedule: lr factor after an evaluation without progress.")]
MinLrOpt = Annotated[Optional[float], _opt("--min-lr", "plateau schedule: the lowest lr.", min=0)]
OptimizerOpt = Annotated[Optional[Optimizer], _opt("--optimizer", "adamw, adam or sgd.")]
WeightDecayOpt = Annotated[Optional[float], _opt("--weight-decay", "Weight decay (decoupled for adamw).", min=0)]
ClipOpt = Annotated[Optional[float], _opt("--clip", "Clip the global gradient norm to this (0: off).", min=0)]
GradAccumOpt = Annotated[Optional[int], _opt("--grad-accum", "Micro-batches per optimizer step.", min=1)]
PrecisionOpt = Annotated[Optional[Precision], _opt("--precision", "fp32; bf16 autocast (CPU and CUDA); fp16 autocast with loss scaling (CUDA).")]
LogEveryOpt = Annotated[Optional[int], _opt("--log-every", "Optimizer steps between metrics records and log lines.", min=1)]
TrainDeviceOpt = Annotated[Optional[str], _opt("--device", "auto (CUDA when present), cpu, cuda, cuda:N or mps.")]
ThreadsOpt = Annotated[Optional[int], _opt("--threads", "CPU threads per process (0: all cores, shared among torchrun processes).", min=0)]
TrainSeedOpt = Annotated[Optional[int], _opt("--seed", "Random seed: the same seed repeats a run.")]

DModelOpt = Annotated[Optional[int], _opt("--d-model", "Embedding / model width.", min=1)]
DHiddenOpt = Annotated[Optional[int], _opt("--d-hidden", "Hidden units of a recurrent or feed-forward layer.", min=1)]
NLayersOpt = Annotated[Optional[int], _opt("--n-layers", "Stacked layers.", min=1)]
NHeadsOpt = Annotated[Optional[int], _opt("--n-heads", "Attention heads.", min=1)]
DFfOpt = Annotated[Optional[int], _opt("--d-ff", "Transformer feed-forward size.", min=1)]
DropoutOpt = Annotated[Optional[float], _opt("--dropout", "Dropout rate.")]


def config_values(**values: Any) -> dict[str, Any]:
    """The options that were given, Enum choices as their strings, for a config's constructor."""
    return {k: (v.value if isinstance(v, Enum) else v) for k, v in values.items() if v is not None}


def run_options(resume: bool, force: bool, metrics: Path | None, quiet: bool) -> Any:
    from nlpkit.training.config import RunOptions

    return RunOptions(resume=resume, force=force, metrics=str(metrics) if metrics else None, quiet=quiet)
