"""A training job's surroundings: device, torchrun world, threads, seed, lock and checkpoint policy.

``open_job`` is entered once per run. It resolves ``--device`` (joining the torchrun process group
when there is one), sets the threads and seeds, takes the output lock (rank 0), and decides what
to do with a checkpoint left in the output directory:

- none: a fresh start (``--resume`` without a checkpoint starts fresh too, with a log line), but
  a finished model there is only replaced with ``--force``;
- one, without ``--resume``: refused with a hint (``--resume`` or ``--force``);
- one, with ``--force``: discarded, a fresh start;
- one, with ``--resume``: loaded, after checking that every fixed value (``fixed_values(cfg)``
  plus the family's model options) and the world size are what the checkpoint recorded;
  a changed one is refused naming its flag.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from nlpkit.artifacts import CHECKPOINT, CONFIG, check_output as check_artifact_dir, load_checkpoint, save_checkpoint
from nlpkit.errors import ConfigError
from nlpkit.training.config import RunOptions, TrainConfig, fixed_values, flag, flags
from nlpkit.training.distributed import World, barrier, close_world, init_world

log = logging.getLogger("nlpkit")


@dataclass
class Job:
    out_dir: Path
    cfg: TrainConfig
    run: RunOptions
    device: torch.device
    world: World
    fixed: dict[str, Any]  # the values a resumed run must keep, by config field / model option
    ckpt: dict[str, Any] | None = None  # the checkpoint to resume from
    kind: str | None = None  # the artefact kind the job publishes (another kind in the output is refused)

    @property
    def meta(self) -> dict[str, Any] | None:
        """What the family stored beside the weights (vocabulary, labels, ...) when resuming."""
        return self.ckpt["meta"] if self.ckpt else None

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        if self.world.is_main:
            save_checkpoint(self.out_dir, {**state, "fixed": self.fixed, "world_size": self.world.world_size})


@contextmanager
def open_job(
    out_dir: str | Path, cfg: TrainConfig, run: RunOptions, model_options: dict[str, Any] | None = None, *, kind: str | None = None,
) -> Iterator[Job]:
    """Set up the job (see the module docstring); ``model_options`` must also not change on resume.

    ``kind``: the artefact kind the family publishes; an output holding another kind of model, or
    files that are not an nlpkit model, is refused before anything else happens.
    """
    from nlpkit.device import resolve_device, seed_everything, set_threads
    from nlpkit.locking import output_lock

    out = Path(out_dir)
    check_output(out, kind)
    world, device = init_world(resolve_device(cfg.device))
    if not world.is_main:  # one copy of the logs: rank 0's (warnings and errors still show from every rank)
        logging.getLogger("nlpkit").setLevel(logging.WARNING)
    with ExitStack() as stack:
        stack.callback(close_world, world)
        if cfg.precision is None:
            cfg.precision = "bf16" if device.type == "cuda" else "fp32"
        if cfg.precision == "fp16" and device.type != "cuda":
            raise ConfigError(f"{flag('precision')} fp16 needs a CUDA device", "use fp32, or bf16 (also on CPU)")
        set_threads(cfg.threads, world.local_world_size)  # 0: the machine's cores, shared by its ranks
        if world.is_main:
            stack.enter_context(output_lock(out))
        fixed = {**fixed_values(cfg), **{k: _plain(v) for k, v in (model_options or {}).items()}}
        job = Job(out, cfg, run, device, world, fixed, kind=kind)
        job.ckpt = _checkpoint_for(job)
        seed_everything(cfg.seed)
        yield job


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value


def check_output(out: Path, kind: str | None = None) -> None:
    """Refuse at the start, not after training, an output that the artefact may not replace.

    A foreign directory (a ``config.json`` that is not an nlpkit model's, files we did not write) or
    another kind of model is refused here; a finished model of the same kind is the checkpoint
    policy's call (``--force``), so ``artifacts.check_output`` is asked with ``force=True``.
    """
    check_artifact_dir(out, kind, force=True)


def _checkpoint_for(job: Job) -> dict[str, Any] | None:
    out, run = job.out_dir, job.run
    check_output(out, job.kind)
    present = (out / CHECKPOINT).exists()
    if present and run.force and not run.resume:
        barrier(job.world)  # every rank has seen the checkpoint before rank 0 removes it
        if job.world.is_main:
            (out / CHECKPOINT).unlink()
            log.info("--force: discarded the checkpoint in %s", out)
        return None
    if present and not run.resume:
        raise ConfigError(f"{out} holds the checkpoint of an unfinished job", "add --resume to continue it, or --force to start over")
    finished = (out / CONFIG).exists() and not present
    if finished and not run.force:
        what = "nothing to resume" if run.resume else "a new job would replace it"
        raise ConfigError(f"{out} holds a finished model ({what})", "add --force to train it again, or choose another output")
    if not run.resume:
        return None
    ckpt = load_checkpoint(out)
    if ckpt is None:
        log.info("no checkpoint in %s; starting from the beginning", out)
        return None
    if ckpt.get("world_size", 1) != job.world.world_size:
        raise ConfigError(f"the checkpoint in {out} was written by {ckpt.get('world_size', 1)} process(es), not {job.world.world_size}",
                          "resume with the same number of processes (torchrun --nproc-per-node)")
    before = ckpt.get("fixed", {})
    changed = sorted(k for k in set(before) | set(job.fixed) if before.get(k) != job.fixed.get(k))
    if changed:
        raise ConfigError(f"--resume with different {flags(changed)} than the interrupted job",
                          "rerun with the same options, or add --force to start over")
    return ckpt
