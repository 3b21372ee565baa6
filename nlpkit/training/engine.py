"""The training loop every neural family runs on.

The family builds the model and supplies a ``Task`` (see ``nlpkit.training``): the batches of an
epoch, one step's losses, and an evaluation. The engine does the rest: sharding batches among
torchrun ranks, gradient accumulation, precision, clipping, the optimizer and its schedule,
evaluations with best-on-valid weights and early stopping, the clock, checkpoints, metrics and
progress. A checkpoint holds everything the loop depends on (weights, optimizer, schedule, loss
scaler, position, RNG states), so a resumed job makes exactly the steps the killed one would have.
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from nlpkit.progress import Progress
from nlpkit.training import rng
from nlpkit.training.distributed import all_sum, any_rank, broadcast_object, gather_objects
from nlpkit.training.interrupts import DeferredSignals
from nlpkit.training.job import Job
from nlpkit.training.metrics import MetricsWriter
from nlpkit.training.optim import make_optimizer, make_schedule, steps_each_step
from nlpkit.training.task import Task

log = logging.getLogger("nlpkit")
EPOCH_SAVE_INTERVAL = 10.0  # seconds between epoch-end checkpoints: tiny epochs would otherwise spend their time writing
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class LoopState:
    step: int = 0  # optimizer steps done
    epoch: int = 0  # epochs done
    position: int = 0  # this rank's batches of the current epoch done
    elapsed: float = 0.0  # training seconds over all runs of the job
    best: float | None = None  # best validation metric so far
    best_step: int = 0
    bad_evals: int = 0  # evaluations since the best one
    saved_at: float = 0.0  # elapsed at the last checkpoint
    evaluated_at: float = 0.0  # elapsed at the last evaluation
    stopped: str = ""  # why training ended: epochs, max-time, early-stopping
    history: list[dict[str, Any]] = field(default_factory=list)  # the evaluation records


class Engine:
    def __init__(self, model: nn.Module, task: Task, job: Job, meta: dict[str, Any] | None = None) -> None:
        self.model, self.task, self.job, self.cfg, self.meta = model.to(job.device), task, job, job.cfg, meta or {}
        self.world, self.device = job.world, job.device
        self.net: nn.Module = model
        if self.world.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            unused = getattr(task, "find_unused_parameters", False)  # a model with parts the loss never reaches
            self.net = DistributedDataParallel(model, device_ids=ids, find_unused_parameters=unused)
        self.params = [p for p in model.parameters() if p.requires_grad]
        custom = getattr(task, "optimizer", None)  # a family may shape its own (parameter groups, betas, eps)
        self.opt = custom(model) if custom is not None else make_optimizer(self.params, self.cfg, self.device)
        self.per_epoch = self._steps(len(self._shard(task.batches(0))))
        self.schedule = make_schedule(self.opt, self.cfg, self.cfg.epochs * self.per_epoch)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.cfg.precision == "fp16")
        self.state = LoopState()
        self.best_weights: dict[str, torch.Tensor] | None = None
        self._rng: dict[str, Any] | None = None
        self._window: dict[str, Any] = {}  # sums since the last metrics record
        self._since_eval: dict[str, Any] = {}  # sums since the last evaluation
        self.lr = self.opt.param_groups[0]["lr"]
        log.info("training on %s: %d process(es), %d thread(s) each, %d steps an epoch, precision %s", self.device,
                 self.world.world_size, torch.get_num_threads(), self.per_epoch, self.cfg.precision)
        if job.ckpt:
            self.restore(job.ckpt)

    # -- checkpoints ------------------------------------------------------------------------------
    def restore(self, ckpt: dict[str, Any]) -> None:
        self.model.load_state_dict(ckpt["model"])
        self.opt.load_state_dict(ckpt["optimizer"])
        self.schedule.load_state_dict(ckpt["schedule"])
        self.scaler.load_state_dict(ckpt["scaler"])
        self.state = LoopState(**ckpt["loop"])
        self.best_weights = ckpt["best_weights"]
        self._rng = ckpt["rng"][self.world.rank]  # restored when the loop starts: building the rest must not disturb it
        sums = ckpt["sums"][self.world.rank]  # the metrics' running sums, so records match an uninterrupted run's
        self._window, self._since_eval = dict(sums["window"]), dict(sums["eval"])
        self.lr = self.opt.param_groups[0]["lr"]
        log.info("resuming at epoch %d, step %d", self.state.epoch + 1, self.state.step)

    def checkpoint(self) -> None:
        """Write the resume checkpoint (collective under torchrun: every rank's RNG is gathered)."""
        sums = {name: {k: float(v) for k, v in d.items()} for name, d in (("window", self._window), ("eval", self._since_eval))}
        ranks = gather_objects({"rng": rng.capture(self.device), "sums": sums}, self.world)
        self.state.saved_at = self.state.elapsed
        self.job.save_checkpoint({
            "model": self.model.state_dict(), "optimizer": self.opt.state_dict(), "schedule": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict(), "loop": asdict(self.state), "best_weights": self.best_weights,
            "rng": [r["rng"] for r in ranks], "sums": [r["sums"] for r in ranks], "config": asdict(self.cfg), "meta": self.meta,
        })

    # -- the loop ---------------------------------------------------------------------------------
    def run(self) -> LoopState:
        """Train until --epochs, --max-time or early stopping; leaves the best weights in the model."""
        st, cfg = self.state, self.cfg
        if self._rng is not None:
            rng.restore(self._rng, self.device)
        self._t0 = time.monotonic() - st.elapsed
        self._window_start = time.monotonic()
        self.metrics = MetricsWriter(self.job.run.metrics, self.world.is_main)
        quiet = self.job.run.quiet or not self.world.is_main
        self._signals = DeferredSignals(enabled=not self.world.distributed)
        try:
            time_left = None if cfg.max_time is None else max(cfg.max_time - st.elapsed, 0.0)
            bar_ = Progress("train", total=cfg.epochs * self.per_epoch, unit="steps", quiet=quiet, time_left=time_left)
            with self._signals, bar_ as bar:
                bar.advance(st.step)
                while st.epoch < cfg.epochs and not st.stopped:
                    self._epoch(self._shard(self.task.batches(st.epoch)), bar)
                    if st.stopped:
                        break
                    st.epoch, st.position = st.epoch + 1, 0
                    self._evaluate(epoch=st.epoch)
                    if not st.stopped and self._agree(st.elapsed - st.saved_at >= EPOCH_SAVE_INTERVAL):
                        self.checkpoint()
                if self._signals.pending is not None:  # arrived during the last evaluation
                    self.checkpoint()
                    self._signals.deliver()
        finally:
            self.metrics.close()
        st.stopped = st.stopped or "epochs"
        if self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
        return st

    def _shard(self, batches: Any) -> Any:
        """This rank's batches: every world_size-th, the remainder that would leave a rank idle dropped."""
        w = self.world
        if not w.distributed:
            return batches
        return batches[w.rank : len(batches) // w.world_size * w.world_size : w.world_size]

    def _steps(self, n_batches: int) -> int:
        return -(-n_batches // self.cfg.grad_accum)

    def _epoch(self, batches: Any, bar: Progress) -> None:
        st, cfg = self.state, self.cfg
        ckpt_every, eval_every = cfg.checkpoint_cadence(), cfg.eval_cadence()
        accum = cfg.grad_accum
        while st.position < len(batches):
            group = [batches[i] for i in range(st.position, min(st.position + accum, len(batches)))]
            self._step(group)
            st.step, st.position = st.step + 1, st.position + len(group)
            st.elapsed = time.monotonic() - self._t0
            bar.advance(1, epoch=st.epoch + 1)
            out_of_time, save_now, eval_now = self._agree_all(
                cfg.max_time is not None and st.elapsed >= cfg.max_time,
                ckpt_every.seconds is not None and st.elapsed - st.saved_at >= ckpt_every.seconds,
                eval_every.seconds is not None and st.elapsed - st.evaluated_at >= eval_every.seconds,
            )
            if st.step % cfg.log_every == 0:
                self._log(bar)
            mid_epoch = st.position < len(batches)  # the epoch's end evaluates anyway
            if out_of_time or (mid_epoch and (eval_now or (eval_every.count and st.step % eval_every.count == 0))):
                self._evaluate(epoch=st.epoch + 1)
            if out_of_time:
                st.stopped = "max-time"
                log.info("--max-time reached after %.0f s", st.elapsed)
            if st.stopped:
                return
            if self._signals.pending is not None:  # Ctrl-C or SIGTERM: stop at this step boundary
                log.info("interrupted at step %d; writing a checkpoint (resume with --resume)", st.step)
                self.checkpoint()
                self._signals.deliver()
            if save_now or (ckpt_every.count and st.step % ckpt_every.count == 0):
                self.checkpoint()

    def _autocast(self) -> Any:
        dtype = DTYPES.get(self.cfg.precision)
        return torch.autocast(self.device.type, dtype=dtype) if dtype is not None else nullcontext()

    def _step(self, group: list[Any]) -> None:
        """One optimizer step over ``group``'s micro-batches (gradients synchronised on the last one)."""
        self.net.train()
        n = len(group)
        for i, batch in enumerate(group):
            sync = self.net.no_sync() if self.world.distributed and i < n - 1 else nullcontext()
            with sync:
                with self._autocast():
                    out = self.task.step(self.net, batch)
                self.scaler.scale(out["loss"] / n).backward()
            self._add(out)
        if self.cfg.clip > 0:
            self.scaler.unscale_(self.opt)
            nn.utils.clip_grad_norm_(self.params, self.cfg.clip)
        self.lr = self.opt.param_groups[0]["lr"]
        self.scaler.step(self.opt)
        self.scaler.update()
        self.opt.zero_grad(set_to_none=True)
        if steps_each_step(self.schedule):
            self.schedule.step()

    def _add(self, out: dict[str, Any]) -> None:
        for sums in (self._window, self._since_eval):
            sums["batches"] = sums.get("batches", 0) + 1
            for k, v in out.items():
                v = v.detach().float() if isinstance(v, torch.Tensor) else float(v)
                sums[k] = sums.get(k, 0.0) + v

    def _means(self, sums: dict[str, Any], seconds: float) -> dict[str, float]:
        """Losses averaged over micro-batches (and ranks); ``n_X`` counts summed into ``X_per_s``."""
        keys = sorted(k for k in sums if k != "batches")
        totals = all_sum([float(sums[k]) for k in keys] + [float(sums.get("batches", 0))], self.world, self.device)
        n = max(totals[-1], 1.0)
        out = {}
        for k, v in zip(keys, totals):
            if k.startswith("n_"):
                out[k[2:] + "_per_s"] = v / max(seconds, 1e-9)
            else:
                out[k] = v / n
        sums.clear()
        return out

    def _record(self, event: str, epoch: int, values: dict[str, Any]) -> dict[str, Any]:
        st = self.state
        return {"event": event, "step": st.step, "epoch": epoch, "seconds": round(st.elapsed, 3), "lr": self.lr, **values}

    def _log(self, bar: Progress) -> None:
        now = time.monotonic()
        means = self._means(self._window, now - self._window_start)
        self._window_start = now
        record = self._record("log", self.state.epoch + 1, means)
        self.metrics.write(record)
        bar.advance(0, loss=means.get("loss", float("nan")), lr=self.lr)

    def _evaluate(self, epoch: int) -> None:
        st, task = self.state, self.task
        train = self._means(self._since_eval, 1.0)
        metrics: dict[str, float] = {}
        if self.world.is_main:
            self.model.eval()
            with torch.no_grad(), self._autocast():
                metrics = task.evaluate(self.model)
            self.model.train()
        metrics = broadcast_object(metrics, self.world)
        st.evaluated_at = st.elapsed
        record = self._record("eval", epoch, {"loss": train.get("loss"), **metrics})
        st.history.append(record)
        self.metrics.write(record)
        log.info("epoch %d, step %d: %s", epoch, st.step, ", ".join(f"{k} {v:.4g}" for k, v in record.items()
                                                                     if isinstance(v, float) and k not in ("seconds",)))
        if task.metric and task.metric in metrics:
            self._judge(metrics[task.metric])

    def _judge(self, value: float) -> None:
        """Keep the best weights (on CPU), count evaluations without progress, step a plateau schedule."""
        st, lower = self.state, -1.0 if self.task.higher_is_better else 1.0
        if not steps_each_step(self.schedule):
            self.schedule.step(lower * value)
        if st.best is None or lower * value < lower * st.best:
            st.best, st.best_step, st.bad_evals = value, st.step, 0
            self.best_weights = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
            return
        st.bad_evals += 1
        if self.cfg.patience and st.bad_evals >= self.cfg.patience and not st.stopped:
            st.stopped = "early-stopping"

    def _agree(self, flag: bool) -> bool:
        return self._agree_all(flag)[0]

    def _agree_all(self, *flags: bool) -> list[bool]:
        return any_rank(list(flags), self.world, self.device)

    def results(self) -> dict[str, Any]:
        """What the run did, for config.json's "train" section."""
        st = self.state
        return {
            "steps": st.step, "epochs_done": round(st.epoch + st.position / max(1, self.per_epoch * self.cfg.grad_accum), 3),
            "seconds": round(st.elapsed, 1), "stopped": st.stopped, "best_" + (self.task.metric or "metric"): st.best,
            "best_step": st.best_step, "world_size": self.world.world_size, "device_used": str(self.device),
            "torch_threads": torch.get_num_threads(),
        }
