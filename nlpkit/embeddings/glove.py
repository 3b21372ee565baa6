"""GloVe (Pennington et al. 2014) trained with batched torch and AdaGrad.

Loss over co-occurrence entries (i, j, X_ij):  sum f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2
with f(x) = min(1, (x / x_max)^alpha). Counts come from ``cooccur`` (bounded memory, buckets on
disk under ``DIR/cooccurrence/`` while the job runs). Each epoch visits the buckets in a random
order and the entries of each bucket shuffled, in batches shared out to ``threads`` lock-free
workers, as the reference implementation does with its threads. Output vectors are W + W~.

Checkpoints are taken after counting and between buckets; ``--resume`` reuses the counts.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nlpkit.artifacts import save_checkpoint
from nlpkit.embeddings.batches import encode_chunks
from nlpkit.embeddings.cooccur import CooccurrenceCounter, load_bucket
from nlpkit.embeddings.training import (
    CheckpointClock,
    RunOptions,
    Stopped,
    config_dict,
    corpus_lines,
    corpus_source,
    metrics_writer,
    out_of_time,
    publish_vectors,
    resume_state,
    scan_vocab,
    worker_threads,
)
from nlpkit.embeddings.vocab import Vocab
from nlpkit.errors import ConfigError
from nlpkit.locking import output_lock
from nlpkit.progress import Progress

log = logging.getLogger("nlpkit")

WORKDIR = "cooccurrence"
RUNTIME_FIELDS = ("threads", "device")


@dataclass
class GloVeConfig:
    """Hyperparameters of ``nlpkit embed train --algo glove``; each field is a CLI flag."""

    algo: str = "glove"
    dim: int = 100
    window: int = 5  # symmetric window, counts weighted 1/distance
    min_count: int = 5
    max_vocab: int | None = None
    x_max: float = 100.0
    alpha: float = 0.75
    epochs: int = 5
    lr: float = 0.05  # AdaGrad initial learning rate
    batch_size: int = 8192  # co-occurrence entries per step
    threads: int = 0
    device: str = "auto"
    seed: int = 1
    lowercase: bool = False

    def __post_init__(self) -> None:
        for ok, message in [
            (self.dim >= 1, f"--dim must be at least 1 (got {self.dim})"),
            (self.window >= 1, f"--window must be at least 1 (got {self.window})"),
            (self.min_count >= 1, "--min-count must be at least 1"),
            (self.x_max > 0 and self.alpha > 0, "--x-max and --alpha must be positive"),
            (self.epochs >= 1, "--epochs must be at least 1"),
            (self.lr > 0, "--lr must be positive"),
            (self.batch_size >= 1, "--batch-size must be at least 1"),
        ]:
            if not ok:
                raise ConfigError(message)


def _model_fields(cfg: GloVeConfig) -> dict[str, Any]:
    return {k: v for k, v in config_dict(cfg).items() if k not in RUNTIME_FIELDS}


def count_cooccurrences(sources: list[str], vocab: Vocab, cfg: GloVeConfig, workdir: Path, run: RunOptions) -> list[Path]:
    """Count the corpus into buckets under ``workdir``."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    counter = CooccurrenceCounter(len(vocab), cfg.window, workdir, run.max_cooccurrences)
    lines = corpus_lines(sources, run)
    counter.add_chunks(encode_chunks(lines, vocab.index, lowercase=cfg.lowercase))
    buckets = counter.finish()
    log.info("co-occurrences counted: %d bucket(s), %d spilled run(s)", len(buckets), len(counter.runs))
    return buckets


def train_glove(inputs: list[str], out_dir: str | Path, cfg: GloVeConfig, run: RunOptions | None = None) -> dict[str, Any]:
    """Count, train and publish a ``word_vectors`` artefact in ``out_dir``; returns train stats."""
    from nlpkit.device import resolve_device

    run = run or RunOptions()
    out = Path(out_dir)
    device = resolve_device(cfg.device)
    with output_lock(out), corpus_source(inputs, out, run.resume) as sources:
        state = resume_state(out, run, _model_fields(cfg))
        workdir = out / WORKDIR
        if state:
            vocab = Vocab(list(state["words"]), state["counts"].numpy())
            buckets = [workdir / name for name in state["buckets"]]
        else:
            vocab = scan_vocab(sources, cfg.lowercase, cfg.min_count, cfg.max_vocab, run)
            out.mkdir(parents=True, exist_ok=True)
            buckets = count_cooccurrences(sources, vocab, cfg, workdir, run)
        trainer = GloVeTrainer(cfg, vocab, buckets, device, state)
        if not state:
            trainer.save(out)  # the counts survive a kill from here on
        stats = trainer.train(out, run)
        publish_vectors(out, vocab, trainer.vectors(), config_dict(cfg), stats, run.stats.summary())
    return stats


class GloVeTrainer:
    def __init__(self, cfg: GloVeConfig, vocab: Vocab, buckets: list[Path], device: Any, state: dict[str, Any] | None = None) -> None:
        import torch

        self.cfg, self.vocab, self.buckets, self.device = cfg, vocab, buckets, device
        v, d = len(vocab), cfg.dim
        gen = torch.Generator().manual_seed(cfg.seed)
        # GloVe's initialisation: uniform in [-0.5, 0.5] / dim; AdaGrad sums start at 1
        self.w = ((torch.rand(2, v, d, generator=gen) - 0.5) / d).to(device)  # (2, V, D): W and W~
        self.b = ((torch.rand(2, v, generator=gen) - 0.5) / d).to(device)  # (2, V)
        self.gw = torch.ones(2, v, d, device=device)
        self.gb = torch.ones(2, v, device=device)
        self.epoch = self.bucket = 0
        self.seconds = 0.0
        self.epoch_loss, self.epoch_entries = 0.0, 0  # this epoch's summed loss and entries so far
        self.losses: list[float] = []  # mean loss per entry, per epoch
        if state:
            for name in ("w", "b", "gw", "gb"):
                getattr(self, name).copy_(state[name])
            self.epoch, self.bucket, self.seconds = int(state["epoch"]), int(state["bucket"]), float(state["seconds"])
            self.epoch_loss, self.epoch_entries = float(state["epoch_loss"]), int(state["epoch_entries"])
            self.losses = [float(v) for v in state["losses"]]

    def vectors(self) -> np.ndarray:
        return (self.w[0] + self.w[1]).cpu().numpy()

    def _step(self, i, j, x, lr: float) -> float:
        """One AdaGrad step on entries (i, j, x), each (B,); returns the batch's loss."""
        import torch

        wi, wj = self.w[0][i], self.w[1][j]  # (B, D)
        diff = (wi * wj).sum(1) + self.b[0][i] + self.b[1][j] - torch.log(x)  # (B,)
        fdiff = torch.clamp((x / self.cfg.x_max) ** self.cfg.alpha, max=1.0) * diff  # (B,)
        grad_i, grad_j = fdiff.unsqueeze(1) * wj, fdiff.unsqueeze(1) * wi  # (B, D)
        # as the reference glove.c: the AdaGrad sums accumulate the *scaled* steps (lr * g)^2
        step_b = lr * fdiff  # (B,)
        for side, rows, grad in ((0, i, lr * grad_i), (1, j, lr * grad_j)):
            self.w[side].index_add_(0, rows, -grad / torch.sqrt(self.gw[side][rows]))
            self.gw[side].index_add_(0, rows, grad * grad)
            self.b[side].index_add_(0, rows, -step_b / torch.sqrt(self.gb[side][rows]))
            self.gb[side].index_add_(0, rows, step_b * step_b)
        return float(0.5 * (fdiff * diff).sum())

    def _epoch_order(self) -> np.ndarray:
        return np.random.default_rng([self.cfg.seed, self.epoch]).permutation(len(self.buckets))

    def words_done(self) -> int:
        """Words of text trained so far, counting each bucket as its share of an epoch's words."""
        return int(self.vocab.total) * (self.epoch * len(self.buckets) + self.bucket) // max(1, len(self.buckets))

    def train(self, out: Path, run: RunOptions) -> dict[str, Any]:
        clock = CheckpointClock(run.checkpoint_every, self.words_done())
        metrics = metrics_writer(run)
        start = time.monotonic() - self.seconds
        total, stopped = self.cfg.epochs * len(self.buckets), "epochs"
        with worker_threads(self.device, self.cfg.threads) as threads, ThreadPoolExecutor(threads) as pool, Progress(
            "glove", total=total, unit="buckets", quiet=run.quiet
        ) as bar, closing(metrics):
            bar.advance(self.epoch * len(self.buckets) + self.bucket)
            while self.epoch < self.cfg.epochs and stopped == "epochs":
                order = self._epoch_order()
                while self.bucket < len(order):
                    loss, entries = self._train_bucket(self.buckets[order[self.bucket]], pool, threads)
                    self.epoch_loss, self.epoch_entries = self.epoch_loss + loss, self.epoch_entries + entries
                    self.bucket += 1
                    bar.advance(1, loss=self.epoch_loss / max(1, self.epoch_entries))
                    self.seconds = time.monotonic() - start
                    if run.stop_after and self.epoch * len(order) + self.bucket >= run.stop_after:
                        raise Stopped("stopped")  # as kill -9: the work since the last checkpoint is lost
                    if out_of_time(run, self.seconds):
                        stopped = "max-time"
                        break
                    if clock.due(self.words_done()):
                        self.save(out)
                        self._record(metrics, "log")
                        clock.reset(self.words_done())
                if stopped == "epochs":
                    self._end_epoch(metrics)
        self.seconds = time.monotonic() - start
        words = self.words_done()
        return {
            "words": words, "seconds": round(self.seconds, 2), "words_per_second": round(words / max(self.seconds, 1e-9)),
            "epoch_losses": self.losses, "stopped_by": stopped,
        }

    def _end_epoch(self, metrics: Any) -> None:
        loss = self.epoch_loss / max(1, self.epoch_entries)  # mean over every entry of the epoch
        log.info("glove epoch %d: loss %.4g", self.epoch + 1, loss)
        self.losses.append(round(loss, 6))
        self._record(metrics, "epoch")
        self.epoch, self.bucket = self.epoch + 1, 0
        self.epoch_loss, self.epoch_entries = 0.0, 0

    def _record(self, metrics: Any, event: str) -> None:
        """One ``--metrics`` record: "log" at a checkpoint (the epoch's loss so far), "epoch" at an epoch's end."""
        done = event == "epoch"
        metrics.write({
            "event": event, "step": self.epoch * len(self.buckets) + (len(self.buckets) if done else self.bucket),
            "epoch": self.epoch + 1, "words": int(self.vocab.total) * (self.epoch + 1) if done else self.words_done(),
            "seconds": round(self.seconds, 3), "loss": self.losses[-1] if done else self.epoch_loss / max(1, self.epoch_entries),
            "lr": self.cfg.lr,
        })

    def _train_bucket(self, path: Path, pool: ThreadPoolExecutor, threads: int) -> tuple[float, int]:
        """One shuffled pass over a bucket; returns (summed loss, entries)."""
        import torch

        i, j, x = load_bucket(path, len(self.vocab))
        rng = np.random.default_rng([self.cfg.seed, self.epoch, int(path.name.split("-")[1])])
        perm = rng.permutation(len(x))
        tensors = [torch.from_numpy(a[perm]).to(self.device) for a in (i, j, x)]
        bs = self.cfg.batch_size
        jobs = [tuple(t[s : s + bs] for t in tensors) for s in range(0, len(x), bs)]
        lr = self.cfg.lr
        if threads == 1:
            losses = [self._step(*job, lr) for job in jobs]
        else:
            losses = list(pool.map(lambda job: self._step(*job, lr), jobs))
        return sum(losses), len(x)

    def save(self, out: Path) -> None:
        state = {
            "config": json.dumps(_model_fields(self.cfg)),
            "words": list(self.vocab.words),
            "counts": __import__("torch").from_numpy(self.vocab.counts),
            "buckets": [p.name for p in self.buckets],
            "w": self.w.cpu(), "b": self.b.cpu(), "gw": self.gw.cpu(), "gb": self.gb.cpu(),
            "epoch": self.epoch, "bucket": self.bucket, "seconds": self.seconds,
            "epoch_loss": self.epoch_loss, "epoch_entries": self.epoch_entries, "losses": list(self.losses),
        }
        save_checkpoint(out, state)
