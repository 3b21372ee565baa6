"""One training engine for every neural model family.

A family (classify, lm, translate, bert, tag, ...) supplies four things and the engine does the
rest. The family

1. builds its model (``nn.Module``);
2. gives ``batches(epoch)``: the epoch's batches as a *pure function of (seed, epoch)*, so a
   resumed job rebuilds the same list and skips the positions it already trained on;
3. gives ``step(model, batch) -> {"loss": tensor, ...}``: the loss of one micro-batch (plus any
   floats to average into the metrics; ``n_tokens``-style counts become ``tokens_per_s``);
4. gives ``evaluate(model) -> {"valid_x": float, ...}`` and names the metric that picks the best
   weights and drives early stopping (``metric``, ``higher_is_better``).

See ``task.Task`` for the exact protocol. The engine owns the clock (``--max-time`` counted over
all runs of a job), checkpoint and evaluation cadences, early stopping and the best-on-valid
weights (kept on CPU), gradient clipping and accumulation, precision (fp32, bf16 autocast on CPU
and CUDA, fp16 autocast with a GradScaler on CUDA), the optimizer and a ``torch.optim.lr_scheduler``
schedule, RNG capture and restore (python, numpy, torch CPU and CUDA), ``--metrics`` JSONL, progress
and logs, and DDP under torchrun.

A family's trainer, in full::

    @dataclass
    class FooConfig(TrainConfig):              # inherits --epochs, --lr, --precision, ... (config.py)
        batch_size: int = fixed(32)            # fixed(): must not change on resume
        lr: float | None = None                # None: resolved per architecture in __post_init__

        def __post_init__(self):
            if self.lr is None:
                self.lr = 1e-3
            super().__post_init__()            # the engine's checks, messages built with flag()

    def train_foo(inputs, output, cfg: FooConfig, model_options: dict, run: RunOptions) -> dict:
        with open_job(output, cfg, run, model_options) as job:   # device, torchrun, lock, resume policy
            vocab = job.meta["vocab"] if job.meta else build_vocab(...)
            model = build(...)                                    # same seed, same init
            engine = Engine(model, FooTask(...), job, meta={"vocab": vocab})
            engine.run()                                          # best weights left in the model
            if job.world.is_main:
                return save_foo(output, model.cpu(), ..., train={**asdict(cfg), **engine.results()})

Notes for a family: build the model *inside* ``open_job`` (it seeds every generator first) and
from ``job.meta`` when resuming (``job.ckpt`` is the checkpoint or None); the engine moves the model
to ``job.device``, restores the weights and optimizer, and only then the RNG states, so building
may draw random numbers freely. ``step`` receives the DDP-wrapped model under torchrun: call it,
reach its attributes through ``unwrap(model)``; it runs under autocast and should return the loss
in float32 (``logits.float()``). ``evaluate`` runs on rank 0 only, in eval mode, without grad.
Set ``find_unused_parameters = True`` on the task when some parameters get no gradient (a kept
pre-training head). Return ``{}`` from ``evaluate`` without validation data: there are then no best
weights (the last weights are published) and no early stopping. Only rank 0 publishes; other ranks
return after ``engine.run()``. ``engine.results()`` and ``engine.state.history`` (the evaluation
records) belong in ``config.json``'s "train" section. Tests to copy: ``tests/test_classify_train.py``
(a "crash after step k" hook: monkeypatch ``Engine._step``), ``tests/test_training_processes.py``
(kill -9 of the CLI, two gloo ranks), ``tests/test_training_flags.py`` (add the trainer to
``TRAINERS``); ``bench/throughput.py`` takes one ``@family`` function per family.

A CLI builds the config from the shared options of ``nlpkit_cli/_train_opts.py`` (every trainer
spells ``--epochs``, ``--max-time``, ``--checkpoint-every``, ``--resume``, ``--force``,
``--metrics``, ``--valid``, ``--eval-every``, ``--patience``, ``--lr``, ``--warmup``,
``--schedule``, ``--clip``, ``--grad-accum``, ``--precision``, ``--device``, ``--threads``,
``--seed``, ``--quiet`` and the model sizes ``--d-model``, ``--d-hidden``, ``--n-layers``,
``--n-heads``, ``--d-ff``, ``--dropout`` the same way; ``--force`` is ``_common.ForceOpt``). Every
option defaults to ``None``; ``config_values(epochs=epochs, ...)`` keeps the given ones, so
defaults live in the config dataclasses, not in the adapters::

    cfg = FooConfig(**config_values(epochs=epochs, max_time=max_time, lr=lr, precision=precision, ...))
    train_foo(inputs, output, cfg, model_options, run_options(resume, force, metrics, quiet))

Checkpoints: ``DIR/checkpoint.pt`` in the output directory, written (by rank 0) every
``--checkpoint-every`` N optimizer steps or DURATION of training, and at epoch ends (at most one
per 10 s). It holds weights, optimizer, schedule, loss scaler, loop position, best weights, every
rank's RNG states, the fixed values and world size, and the family's ``meta``. ``--resume``
continues it; a fixed value or world size that differs is refused naming its flag; a checkpoint
left without ``--resume`` is refused (hint: ``--resume`` or ``--force``); ``--force`` discards it.
Resume is exact: kill -9 at any moment, and ``--resume`` ends with weights identical
(``torch.equal``) to an uninterrupted run (CPU, same seed, ``--threads 1``). A finished job
publishes its artefact in place of the directory, checkpoint included; a directory holding a
finished model is replaced only with ``--force``.

Metrics (``--metrics FILE``, rank 0): JSONL, ``{"event": "log"|"eval", "step", "epoch" (from 1),
"seconds", "lr", "loss", ...}``, one record every ``--log-every`` steps and one per evaluation
(with the family's validation metrics).

torchrun: ``torchrun --nproc-per-node N --no-python nlpkit <family> train ...`` runs the same job
as N ranks (NCCL on GPUs, one GPU per local rank; gloo on CPU). Rank r trains on every N-th batch
(DDP averages the gradients), rank 0 evaluates, logs and writes checkpoints, metrics and the
artefact. ``--batch-size`` is per rank; a resumed job needs the same N (recorded as
``world_size``).
"""

from __future__ import annotations

from typing import Any

from nlpkit.training.config import RunOptions, TrainConfig, fixed, fixed_values, flag

__all__ = ["Engine", "Job", "RunOptions", "Task", "TrainConfig", "fixed", "fixed_values", "flag", "open_job", "unwrap"]


def unwrap(model: Any) -> Any:
    """The module inside a DistributedDataParallel wrapper (the model itself otherwise)."""
    return model.module if type(model).__name__ == "DistributedDataParallel" else model


def __getattr__(name: str) -> Any:  # torch is imported only when the engine itself is asked for
    if name == "Engine":
        from nlpkit.training.engine import Engine

        return Engine
    if name in ("Job", "open_job"):
        from nlpkit.training import job

        return getattr(job, name)
    if name == "Task":
        from nlpkit.training.task import Task

        return Task
    raise AttributeError(name)
