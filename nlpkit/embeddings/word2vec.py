"""word2vec (skip-gram and CBOW; negative sampling or hierarchical softmax): configuration and trainers.

Two trainers share this module's loop (corpus passes, checkpoints, resume): on CPU by default the
compiled per-pair kernel of ``w2v_numba`` (``NumbaTrainer``); with ``--kernel torch`` or on a GPU
the batched torch steps of ``w2v_steps`` (``Word2VecTrainer``), described here.

The corpus streams in chunks of about ``CHUNK_WORDS`` words: a background thread reads, encodes,
subsamples and windows the next chunk (numpy) while the current one trains. Each chunk's batches
are shared out to ``threads`` workers that update the weights without locks, as word2vec and
gensim do. Memory is bounded by the vocabulary and one chunk, never by the corpus; after the first
full pass the encoded chunks are replayed from a temporary file (``spool``).

Randomness for chunk k of epoch e comes from ``numpy.random.default_rng([seed, e, k])``, so a run
resumed from a checkpoint (taken between chunks) draws the same numbers as an uninterrupted one.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from nlpkit.artifacts import save_checkpoint
from nlpkit.embeddings.batches import Chunk, context_matrix, encode_chunks, make_batches, subsample
from nlpkit.embeddings.spool import ChunkSpool
from nlpkit.embeddings.training import (
    CheckpointClock,
    RunOptions,
    Stopped,
    config_dict,
    corpus_lines,
    corpus_source,
    lr_at,
    metrics_writer,
    out_of_time,
    publish_vectors,
    resume_state,
    scan_vocab,
    worker_threads,
)
from nlpkit.embeddings.subwords import parse_range
from nlpkit.embeddings.vocab import Vocab, huffman_tree, keep_probabilities, noise_table
from nlpkit.errors import ConfigError
from nlpkit.locking import output_lock
from nlpkit.progress import Progress

log = logging.getLogger("nlpkit")

CHUNK_WORDS = 200_000
POOL_GROUP = 32  # centres sharing one pool of noise words
# Fields that change how a job runs but not the model it produces (may differ on --resume).
RUNTIME_FIELDS = ("threads", "device", "kernel")


@dataclass
class Word2VecConfig:
    """Hyperparameters of ``nlpkit embed train --algo sg|cbow``; each field is a CLI flag."""

    algo: str = "sg"  # sg (skip-gram) or cbow
    loss: str = "ns"  # ns (negative sampling) or hs (hierarchical softmax)
    dim: int = 100
    window: int = 5  # maximum distance; each centre word draws its window from 1..window
    negative: int = 5  # noise words per (centre, context) pair
    ns_exponent: float = 0.75  # noise distribution: unigram^ns_exponent
    negative_pool: int = 64  # noise words drawn per group of 32 centres, shared by them
    min_count: int = 5
    max_vocab: int | None = None
    sample: float = 1e-3  # frequent-word subsampling threshold; 0 = off
    epochs: int = 5
    lr: float | None = None  # None: 0.025 for sg, 0.05 for cbow (word2vec.c's defaults)
    min_lr: float = 0.0001
    batch_size: int = 256  # centre words per step
    threads: int = 0  # worker threads; 0 = all cores
    device: str = "auto"
    seed: int = 1
    lowercase: bool = False
    kernel: str = "auto"  # auto (numba on CPU, torch elsewhere), numba (per-pair, CPU) or torch (batched)
    subwords: str = ""  # "MIN-MAX" character n-grams learned beside the words (fastText); "" = none
    buckets: int = 2_000_000  # hash buckets for the n-grams

    def __post_init__(self) -> None:
        if self.lr is None:
            # CBOW makes one update per centre word (skip-gram one per context word), so it takes
            # twice the step: measured on 10M words, 2 epochs, 0.05 gives 10.8% Google analogies
            # against 5.5% at 0.025.
            self.lr = 0.05 if self.algo == "cbow" else 0.025
        checks = [
            (self.algo in ("sg", "cbow"), f"unknown --algo {self.algo!r}", "use sg, cbow or glove"),
            (self.loss in ("ns", "hs"), f"unknown --loss {self.loss!r}", "use ns or hs"),
            (self.dim >= 1, f"--dim must be at least 1 (got {self.dim})", None),
            (self.window >= 1, f"--window must be at least 1 (got {self.window})", None),
            (self.negative >= 1 or self.loss == "hs", "--negative must be at least 1 with --loss ns", None),
            (self.negative_pool >= 1, "--negative-pool must be at least 1", None),
            (self.min_count >= 1, "--min-count must be at least 1", None),
            (self.epochs >= 1, "--epochs must be at least 1", None),
            (0 < self.lr and 0 <= self.min_lr <= self.lr, "need 0 < --lr and 0 <= --min-lr <= --lr", None),
            (self.batch_size >= 1, "--batch-size must be at least 1", None),
            (self.sample >= 0, "--sample must be >= 0", None),
            (self.kernel in ("auto", "numba", "torch"), f"unknown --kernel {self.kernel!r}", "use auto, numba or torch"),
            (self.buckets >= 1, "--buckets must be at least 1", None),
        ]
        for ok, message, hint in checks:
            if not ok:
                raise ConfigError(message, hint)
        parse_range(self.subwords)


def _model_fields(cfg: Word2VecConfig) -> dict[str, Any]:
    model = config_dict(cfg)
    return {k: v for k, v in model.items() if k not in RUNTIME_FIELDS}


def train_word2vec(inputs: list[str], out_dir: str | Path, cfg: Word2VecConfig, run: RunOptions | None = None) -> dict[str, Any]:
    """Train on ``inputs`` and publish a ``word_vectors`` artefact in ``out_dir``; returns train stats."""
    run = run or RunOptions()
    out = Path(out_dir)
    device = _device(cfg)
    with output_lock(out), corpus_source(inputs, out, run.resume) as sources:
        state = resume_state(out, run, _model_fields(cfg))
        if state:
            vocab = Vocab(list(state["words"]), state["counts"].numpy())
        else:
            vocab = scan_vocab(sources, cfg.lowercase, cfg.min_count, cfg.max_vocab, run)
        trainer = trainer_class(cfg, device)(cfg, vocab, device, state)
        stats = trainer.train(sources, out, run)
        if hasattr(trainer, "epoch_losses"):
            stats["epoch_losses"] = trainer.epoch_losses()
        model = config_dict(cfg)
        data = {**run.stats.summary(), **({"phrases": str(run.phrases)} if run.phrases else {})}
        subwords = trainer.subword_vectors() if hasattr(trainer, "subword_vectors") else None
        publish_vectors(out, vocab, trainer.vectors(), model, stats, data, subwords=subwords)
    return stats


def _device(cfg: Word2VecConfig) -> Any:
    """The run's device; an explicit ``--device cpu`` for the compiled kernel needs no torch (1 s to import)."""
    if cfg.device.strip().lower() == "cpu" and cfg.kernel != "torch":
        from nlpkit.embeddings.w2v_numba import CPU

        return CPU
    from nlpkit.device import resolve_device

    return resolve_device(cfg.device)


def trainer_class(cfg: Word2VecConfig, device: Any) -> type[Word2VecTrainer]:
    """The compiled per-pair kernel on CPU (unless --kernel torch), batched torch steps elsewhere."""
    if cfg.subwords and (cfg.kernel == "torch" or device.type != "cpu"):
        raise ConfigError("--subwords is trained by the compiled CPU kernel only", "use --device cpu and --kernel auto or numba")
    if cfg.kernel == "torch" or (cfg.kernel == "auto" and device.type != "cpu"):
        return Word2VecTrainer
    if device.type != "cpu":
        raise ConfigError(f"--kernel numba runs on the CPU, not on {device}", "use --device cpu, or --kernel torch")
    from nlpkit.embeddings.w2v_numba import NumbaTrainer

    return NumbaTrainer


class Word2VecTrainer:
    """Weights, tables and the position in the run."""

    def __init__(self, cfg: Word2VecConfig, vocab: Vocab, device: Any, state: dict[str, Any] | None = None) -> None:
        import torch

        self.cfg, self.vocab, self.device = cfg, vocab, device
        v, d = len(vocab), cfg.dim
        gen = torch.Generator().manual_seed(cfg.seed)
        self.w_in = ((torch.rand(self._input_rows(), d, generator=gen) - 0.5) / d).to(device)  # (V, D), as word2vec
        self.w_out = torch.zeros(v if cfg.loss == "ns" else max(1, v - 1), d, device=device)  # (V, D) or (V-1, D)
        self.keep = keep_probabilities(vocab.counts, cfg.sample)
        self.table = self._noise_table() if cfg.loss == "ns" else None
        self.tree = self._tree() if cfg.loss == "hs" else None
        self.epoch = self.chunk = self.lines_done = self.words_done = 0
        self.seconds = 0.0
        if state:
            self.w_in.copy_(state["w_in"])
            self.w_out.copy_(state["w_out"])
            self.epoch, self.chunk = int(state["epoch"]), int(state["chunk"])
            self.lines_done, self.words_done = int(state["lines_done"]), int(state["words_done"])
            self.seconds = float(state["seconds"])

    def _input_rows(self) -> int:
        return len(self.vocab)

    def _noise_table(self) -> Any:
        return noise_table(self.vocab.counts, self.cfg.ns_exponent)

    def _tree(self) -> tuple[Any, Any, Any]:
        import torch

        tree = huffman_tree(self.vocab.counts)
        steps = np.arange(tree.codes.shape[1])[None, :] < tree.lengths[:, None]  # (V, L)
        return (
            torch.from_numpy(tree.points).to(self.device),
            torch.from_numpy(tree.codes.astype(np.float32)).to(self.device),
            torch.from_numpy(steps.astype(np.float32)).to(self.device),
        )

    def vectors(self) -> np.ndarray:
        return self.w_in.cpu().numpy()

    def _prepare(self, item: tuple[int, Any]) -> tuple[list[tuple[Any, ...]], int, int]:
        """Chunk -> torch batches (on a background thread)."""
        import torch

        k, chunk = item
        rng = np.random.default_rng([self.cfg.seed, self.epoch, k])
        ids, sent = subsample(chunk, self.keep, rng)
        ctx = context_matrix(ids, sent, self.cfg.window, rng)
        batches = []
        for b in make_batches(ids, ctx, self.cfg.batch_size, chunk.words):
            arrays = [b.centres, b.local, b.contexts, b.counts]
            if self.table is not None:
                groups = -(-len(b.centres) // POOL_GROUP)
                draws = rng.integers(0, len(self.table), (groups, self.cfg.negative_pool))
                arrays.append(self.table[draws].astype(np.int64))  # (G, N)
            batches.append(tuple(torch.from_numpy(a).to(self.device) for a in arrays) + (b.words,))
        return batches, chunk.words, chunk.lines

    def _step(self, batch: tuple[Any, ...], lr: float) -> None:
        from nlpkit.embeddings import w2v_steps as steps

        cfg = self.cfg
        if cfg.loss == "ns":
            centres, local, contexts, counts, pool = batch[:5]
            fn = steps.sg_ns_step if cfg.algo == "sg" else steps.cbow_ns_step
            fn(self.w_in, self.w_out, centres, local, contexts, counts, pool, lr, cfg.negative)
        else:
            fn = steps.sg_hs_step if cfg.algo == "sg" else steps.cbow_hs_step
            fn(self.w_in, self.w_out, *batch[:4], self.tree, lr)

    def train(self, sources: list[str], out: Path, run: RunOptions) -> dict[str, Any]:
        from nlpkit.pumps import pipelined

        cfg = self.cfg
        total = cfg.epochs * self.vocab.total
        clock = CheckpointClock(run.checkpoint_every, self.words_done)
        metrics = metrics_writer(run)
        start, stopped = time.monotonic() - self.seconds, "epochs"
        spool = ChunkSpool(out.parent)
        with worker_threads(self.device, cfg.threads) as threads, ThreadPoolExecutor(threads) as pool, Progress(
            "train", total=total, unit="words", quiet=run.quiet
        ) as bar, closing(metrics), closing(spool):
            bar.advance(self.words_done)
            while self.epoch < cfg.epochs and stopped == "epochs":
                chunks = enumerate(self._chunks(sources, run, spool), self.chunk)
                for batches, words, n_lines in pipelined(chunks, self._prepare):
                    self._train_chunk(batches, words, pool, threads, total)
                    self.chunk, self.lines_done = self.chunk + 1, self.lines_done + n_lines
                    bar.advance(words, lr=lr_at(cfg.lr, cfg.min_lr, self.words_done, total))
                    self.seconds = time.monotonic() - start
                    if run.stop_after and self.words_done >= run.stop_after:
                        raise Stopped(f"stopped after {self.words_done} words")  # as kill -9: no checkpoint
                    if out_of_time(run, self.seconds):
                        stopped = "max-time"
                        break
                    if clock.due(self.words_done):
                        self.save(out)
                        self._record(metrics, total, "log", self.epoch + 1)
                        clock.reset(self.words_done)
                if stopped == "epochs":
                    self.epoch, self.chunk, self.lines_done = self.epoch + 1, 0, 0
                    self._record(metrics, total, "epoch", self.epoch)
        self.seconds = time.monotonic() - start
        return {
            "words": self.words_done, "seconds": round(self.seconds, 2),
            "words_per_second": round(self.words_done / max(self.seconds, 1e-9)), "stopped_by": stopped,
        }

    def _record(self, metrics: Any, total: int, event: str, epoch: int) -> None:
        # the torch kernel computes no loss (as word2vec.c); the compiled one samples it
        lr = lr_at(self.cfg.lr, self.cfg.min_lr, self.words_done, total)
        words, seconds = getattr(self, "_last_record", (0, 0.0))
        self._last_record = (self.words_done, self.seconds)
        rate = (self.words_done - words) / max(self.seconds - seconds, 1e-9)
        metrics.write({"event": event, "step": self.words_done, "epoch": epoch, "words": self.words_done,
                       "seconds": round(self.seconds, 3), "loss": self._loss(), "lr": lr, "words_per_s": rate})

    def _loss(self) -> float | None:
        """Mean loss of the epoch trained last, where the kernel measures it."""
        return None

    def _chunks(self, sources: list[str], run: RunOptions, spool: ChunkSpool) -> Iterator[Chunk]:
        """This epoch's chunks from the current position: replayed from the spool after one full pass."""
        if spool.complete:
            return spool.replay(self.chunk)
        lines = islice(corpus_lines(sources, run), self.lines_done, None)
        chunks = encode_chunks(lines, self.vocab.index, lowercase=self.cfg.lowercase, chunk_words=CHUNK_WORDS)
        return spool.record(chunks) if self.chunk == 0 and self.epoch + 1 < self.cfg.epochs else chunks

    def _train_chunk(self, batches: list[tuple[Any, ...]], words: int, pool: ThreadPoolExecutor, threads: int, total: int) -> None:
        cfg = self.cfg
        jobs = []
        done = self.words_done
        for batch in batches:
            jobs.append((batch, lr_at(cfg.lr, cfg.min_lr, done, total)))
            done += batch[-1]
        self.words_done += words
        if threads == 1:
            for batch, lr in jobs:
                self._step(batch, lr)
        else:
            list(pool.map(lambda job: self._step(*job), jobs))

    def _weights(self) -> tuple[Any, Any]:
        """(input, output) weights as CPU tensors, for checkpoints."""
        return self.w_in.cpu(), self.w_out.cpu()

    def save(self, out: Path) -> None:
        import torch

        w_in, w_out = self._weights()
        state = {
            "config": json.dumps(_model_fields(self.cfg)),
            "words": list(self.vocab.words),
            "counts": torch.from_numpy(self.vocab.counts),
            "w_in": w_in,
            "w_out": w_out,
            "epoch": self.epoch,
            "chunk": self.chunk,
            "lines_done": self.lines_done,
            "words_done": self.words_done,
            "seconds": self.seconds,
        }
        save_checkpoint(out, state)
        log.info("checkpoint: epoch %d, %d words", self.epoch + 1, self.words_done)
