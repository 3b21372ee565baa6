"""What word2vec and GloVe training share: run options, the corpus passes, checkpoints, the artefact.

Artefact (kind ``word_vectors``)::

    DIR/config.json          kind, format_version, model (every hyperparameter), train, data
    DIR/vectors.safetensors  "vectors" (V, D) float32 and "unit" (V, D) float32, L2-normalised rows
    DIR/vocab.tsv            word<TAB>count, one per row of the matrices, most frequent first

Resume: ``DIR/checkpoint.pt`` holds the config, the vocabulary, the weights and the position
(epoch, lines consumed in the epoch, words trained). Checkpoints are taken between chunks of text,
so a resumed run reads the same chunks and draws the same random numbers from there on.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nlpkit.artifacts import CHECKPOINT, CONFIG, STDIN_SPOOL, artifact_writer, check_output, load_checkpoint, write_config
from nlpkit.corpus import ReadStats, read_lines, require_lines
from nlpkit.device import usable_cores
from nlpkit.durations import parse_cadence
from nlpkit.embeddings.vectors import FORMAT_VERSION, KIND, VECTORS_FILE
from nlpkit.embeddings.vocab import Vocab, build_vocab, count_words
from nlpkit.errors import ConfigError
from nlpkit.safeio import disk_full_guard, fix_mode
from nlpkit.training.config import flags

log = logging.getLogger("nlpkit")



@dataclass
class RunOptions:
    """How a training job runs (not recorded as hyperparameters)."""

    checkpoint_every: str = "10m"  # "N" words, or a duration ("90s", "10m", "1h"); "0" disables checkpoints
    max_time: float | None = None  # seconds of training, summed over resumed runs; then the model is written
    resume: bool = False
    force: bool = False  # discard a leftover checkpoint and start over
    metrics: Path | None = None  # JSONL file: one record per checkpoint interval and per epoch
    quiet: bool = False
    strict_utf8: bool = False
    text_field: str = "text"
    max_cooccurrences: int = 20_000_000  # GloVe: distinct counts held in memory before spilling to disk
    stop_after: int = 0  # testing aid: stop as if killed after this many words (word2vec) or buckets (GloVe)
    phrases: str | None = None  # a `nlpkit embed phrases` model applied to every line read
    stats: ReadStats = field(default_factory=ReadStats)


class CheckpointClock:
    """Says when a checkpoint is due: every N words trained, or every so many seconds (``parse_cadence``)."""

    def __init__(self, spec: str, words_done: int = 0) -> None:
        self.cadence = parse_cadence(spec, "--checkpoint-every")
        self.reset(words_done)

    def due(self, words_done: int) -> bool:
        c = self.cadence
        if c.count is not None and words_done - self.last_words >= c.count:
            return True
        return c.seconds is not None and time.monotonic() - self.last_time >= c.seconds

    def reset(self, words_done: int) -> None:
        self.last_words = words_done
        self.last_time = time.monotonic()


def metrics_writer(run: RunOptions) -> Any:
    """The engine's ``--metrics`` JSONL writer (records ``event``, ``step``, ``epoch`` from 1, ``seconds``, ``loss``, ``lr``)."""
    from nlpkit.training.metrics import MetricsWriter

    return MetricsWriter(run.metrics)


class Stopped(Exception):
    """Raised by ``stop_after_words`` to simulate a killed job (tests only)."""


@contextmanager
def corpus_source(inputs: Sequence[str | Path], out_dir: Path, resume: bool, kind: str = KIND) -> Iterator[list[str]]:
    """Inputs that can be read several times: standard input is spooled into ``out_dir``.

    The copy sits beside the checkpoint, so a stopped job resumes from it (stdin is not read
    again); it is removed when the job ends without a checkpoint to resume, and by publishing.
    A directory that is not ours (or holds another kind of model) is refused before anything is read.
    """
    check_output(out_dir, kind, force=True)  # a finished model is the resume policy's call (resume_state)
    if "-" not in [str(i) for i in inputs]:
        yield [str(i) for i in inputs]
        return
    spool = out_dir / STDIN_SPOOL
    if resume and spool.exists() and (out_dir / CHECKPOINT).exists():
        log.info("resuming from the copy of standard input kept in %s", spool)
    else:
        _spool_stdin(out_dir, spool)
    done = False
    try:
        yield [str(spool) if str(i) == "-" else str(i) for i in inputs]
        done = True
    finally:
        if done or not (out_dir / CHECKPOINT).exists():
            spool.unlink(missing_ok=True)


def _spool_stdin(out_dir: Path, spool: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with disk_full_guard(spool):
        fd, tmp = tempfile.mkstemp(prefix=f".{spool.name}.tmp-{os.getpid()}-", dir=out_dir)
        try:
            with os.fdopen(fd, "wb") as f:
                shutil.copyfileobj(sys.stdin.buffer, f, 1 << 20)
            fix_mode(tmp)
            os.replace(tmp, spool)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def corpus_lines(sources: list[str], run: RunOptions, stats: ReadStats | None = None) -> Iterator[str]:
    """The training text, one line at a time, with ``run.phrases`` joined (``new york`` -> ``new_york``)."""
    lines = read_lines(sources, strict_utf8=run.strict_utf8, text_field=run.text_field, stats=stats)
    if not run.phrases:
        return lines
    from nlpkit.embeddings.phrases import Phraser

    return map(Phraser.load(run.phrases).apply, lines)


def scan_vocab(sources: list[str], lowercase: bool, min_count: int, max_vocab: int | None, run: RunOptions) -> Vocab:
    lines = require_lines(corpus_lines(sources, run, stats=run.stats), "corpus")
    counts, n_lines = count_words(lines, lowercase=lowercase)
    vocab = build_vocab(counts, min_count=min_count, max_vocab=max_vocab)
    log.info("vocabulary: %d words (of %d distinct), %d words of text in %d lines", len(vocab), len(counts), sum(counts.values()), n_lines)
    return vocab


@contextmanager
def worker_threads(device: Any, threads: int) -> Iterator[int]:
    """Number of lock-free workers; torch's own intra-op threads are set to 1 meanwhile.

    The per-step products are small, so parallel workers (as word2vec's threads) use the cores
    better than intra-op threads, which also spin and stall on a loaded machine.
    """
    if device.type != "cpu":
        yield 1
        return
    # --threads 0: every core this process may use (its affinity), as for the neural trainers
    cores = usable_cores()
    torch = sys.modules.get("torch")  # the compiled word2vec kernel runs without torch: nothing to set
    if torch is None:
        yield threads or cores
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield threads or cores
    finally:
        torch.set_num_threads(before)


def lr_at(lr: float, min_lr: float, done: float, total: float) -> float:
    """Linear decay from ``lr`` to ``min_lr`` over the whole run."""
    return max(min_lr, lr - (lr - min_lr) * min(1.0, done / max(total, 1.0)))


def resume_state(out_dir: Path, run: RunOptions, model: dict[str, Any]) -> dict[str, Any] | None:
    """The checkpoint to continue from, after checking it belongs to the same configuration.

    A leftover checkpoint without ``--resume`` is refused (``--force`` discards it), so that a
    rerun never silently throws away a killed job's progress; a finished model is replaced only
    with ``--force``.
    """
    path = Path(out_dir) / CHECKPOINT
    finished = (Path(out_dir) / CONFIG).exists() and not path.exists()
    if finished and not run.force:  # as the engine: a finished model is replaced only on purpose
        what = "nothing to resume" if run.resume else "a new job would replace it"
        raise ConfigError(f"{out_dir} holds a finished model ({what})", "add --force to train it again, or choose another output")
    if not run.resume:
        if path.exists() and not run.force:
            raise ConfigError(
                f"{out_dir} holds the checkpoint of an unfinished job", "add --resume to continue it or --force to start over"
            )
        path.unlink(missing_ok=True)
        return None
    state = load_checkpoint(out_dir)
    if state is None:
        log.info("no checkpoint in %s; starting from the beginning", out_dir)
        return None
    saved = json.loads(state["config"])
    if saved != model:
        diff = sorted(k for k in set(saved) | set(model) if saved.get(k) != model.get(k))
        raise ConfigError(
            f"the checkpoint in {out_dir} was made with other settings ({flags(diff)})",
            "rerun with the same options, or with --force instead of --resume to start over",
        )
    log.info("resuming from epoch %d", state["epoch"] + 1)
    return state


def out_of_time(run: RunOptions, seconds: float) -> bool:
    return run.max_time is not None and seconds >= run.max_time


def save_vectors(directory: Path, vectors: np.ndarray) -> None:
    """Write ``vectors.safetensors`` with the raw and the L2-normalised matrix."""
    from safetensors.numpy import save_file

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.maximum(norms, 1e-12)
    save_file({"vectors": vectors, "unit": unit.astype(np.float32)}, str(directory / VECTORS_FILE))


def publish_vectors(
    out_dir: Path, vocab: Vocab, vectors: np.ndarray, model: dict[str, Any], train: dict[str, Any], data: dict[str, Any],
    subwords: np.ndarray | None = None, force: bool = True,
) -> None:
    """Write the artefact atomically (replacing any checkpoint in ``out_dir``); ``subwords``: n-gram rows."""
    with artifact_writer(out_dir, kind=KIND, force=force) as tmp:
        save_vectors(tmp, vectors)
        vocab.save(tmp)
        if subwords is not None:
            from nlpkit.embeddings.subwords import Subwords

            Subwords(subwords, 0, 0).save(tmp)
        write_config(tmp, KIND, model=model, train=train, data=data, format_version=FORMAT_VERSION)


def config_dict(cfg: Any) -> dict[str, Any]:
    """A config dataclass as the JSON-safe dict recorded in config.json and checkpoints."""
    return json.loads(json.dumps(asdict(cfg)))
