"""``nlpkit classify train``: read labelled text, build the model, run the loop, publish the artefact.

The job holds the output lock throughout, writes a resume checkpoint into the output directory
(``checkpoint.pt``) at every epoch end and every ``checkpoint_every`` steps, and on success
replaces that directory with the finished artefact (see ``artifact``). ``resume`` continues from
the checkpoint; options that decide the data or the model must then be the same as before.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nlpkit.artifacts import CHECKPOINT, CONFIG, load_checkpoint, save_checkpoint
from nlpkit.classify.data import Example, check_columns, read_examples, split_off
from nlpkit.corpus import ReadStats
from nlpkit.errors import ArtifactError, ConfigError, CorpusError

log = logging.getLogger("nlpkit")

DEFAULT_LR = {"avg": 5e-3, "bilstm": 2e-3, "bert": 3e-5}
SCHEDULES = ("constant", "linear")
# Options a resumed job must keep: they decide the vocabulary, the batches or the model.
RESUME_FIXED = ("arch", "batch_size", "seed", "label_col", "text_col", "min_count", "max_vocab", "valid_fraction", "vectors", "freeze_vectors")


@dataclass
class TrainConfig:
    arch: str = "avg"  # avg, bilstm or bert
    epochs: int = 10  # passes over the training data (the most; early stopping and --max-time may end sooner)
    max_time: float | None = None  # seconds of training after which the job stops and saves the best model
    batch_size: int = 32  # examples per optimizer step
    lr: float | None = None  # AdamW learning rate; None: 5e-3 avg, 2e-3 bilstm, 3e-5 bert
    weight_decay: float = 0.0  # AdamW decoupled weight decay
    schedule: str | None = None  # constant or linear (decay to 0 at the last step); None: linear for bert
    warmup: float | None = None  # share of all steps with a linear warm-up from 0; None: 0.1 for bert, else 0
    clip_norm: float = 1.0  # global gradient-norm clipping (0: off)
    patience: int = 3  # evaluations without a better validation accuracy before stopping
    eval_every: int = 0  # steps between validation runs besides each epoch's end (0: only at epoch ends)
    checkpoint_every: int = 500  # steps between resume checkpoints, besides each epoch's end (0: epoch ends only)
    valid_fraction: float = 0.0  # hold out this share of the training data for validation when no --valid is given
    min_count: int = 2  # words seen fewer times in training become <unk> (avg, bilstm)
    max_vocab: int = 0  # keep at most this many words, most frequent first (0: no limit)
    label_col: int = 1  # column of the label, counting from 1
    text_col: int = 2  # column of the text, counting from 1
    vectors: str | None = None  # DIR of word vectors from `nlpkit embed train` to initialise the embeddings
    freeze_vectors: bool = False  # keep the --vectors embeddings fixed during training
    device: str = "auto"
    seed: int = 0
    threads: int | None = None  # torch intra-op threads (None: torch's default)

    def __post_init__(self) -> None:
        if self.arch not in DEFAULT_LR:
            raise ConfigError(f"unknown --arch {self.arch!r}", "use avg, bilstm or bert")
        if self.lr is None:
            self.lr = DEFAULT_LR[self.arch]
        if self.schedule is None:
            self.schedule = "linear" if self.arch == "bert" else "constant"
        if self.warmup is None:
            self.warmup = 0.1 if self.arch == "bert" else 0.0
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"unknown --schedule {self.schedule!r}", "use constant or linear")
        for name in ("epochs", "batch_size", "patience", "min_count"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1")
        for name in ("eval_every", "checkpoint_every", "max_vocab", "clip_norm", "weight_decay"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be 0 or more")
        if self.lr <= 0 or not 0.0 <= self.warmup < 1.0:
            raise ConfigError("--lr must be positive and --warmup in [0, 1)")
        if self.max_time is not None and self.max_time <= 0:
            raise ConfigError("--max-time must be positive")
        if self.freeze_vectors and not self.vectors:
            raise ConfigError("--freeze-vectors needs --vectors DIR")
        if self.vectors and self.arch == "bert":
            raise ConfigError("--vectors applies to --arch avg and bilstm", "BERT brings its own embeddings")
        check_columns(self.label_col, self.text_col)


@dataclass
class Datasets:
    train: list[Example]
    valid: list[Example]
    labels: list[str]
    summary: dict[str, Any]


def load_datasets(inputs: list[str], valid: list[str] | None, cfg: TrainConfig, strict_utf8: bool = False) -> Datasets:
    stats, valid_stats = ReadStats(), ReadStats()
    train = read_examples(inputs, cfg.label_col, cfg.text_col, strict_utf8=strict_utf8, stats=stats)
    held: list[Example] = []
    if valid:
        held = read_examples(valid, cfg.label_col, cfg.text_col, strict_utf8=strict_utf8, stats=valid_stats, what="validation data")
    elif cfg.valid_fraction:
        train, held = split_off(train, cfg.valid_fraction, cfg.seed)
    labels = sorted({e.label for e in train})
    if len(labels) < 2:
        raise CorpusError(f"the training data has only one label ({labels[0]!r})", "a classifier needs at least two classes")
    unknown = sorted({e.label for e in held} - set(labels))
    if unknown:
        raise CorpusError(f"validation label {unknown[0]!r} never occurs in the training data", "give validation data with the training labels")
    summary = {"train": stats.summary(), "train_examples": len(train), "valid_examples": len(held), "labels": labels}
    if valid:
        summary["valid"] = valid_stats.summary()
    return Datasets(train, held, labels, summary)


def train_classifier(
    inputs: list[str], output: str | Path, model_options: dict[str, Any], cfg: TrainConfig, *,
    valid: list[str] | None = None, resume: bool = False, quiet: bool = False, strict_utf8: bool = False,
) -> dict[str, Any]:
    """Train and publish a classifier; returns its config.json."""
    from nlpkit.classify.artifact import save_classifier
    from nlpkit.classify.build import build_for_training, check_model_options
    from nlpkit.classify.loop import LoopData, Trainer
    from nlpkit.device import resolve_device, seed_everything, set_threads
    from nlpkit.locking import output_lock

    check_model_options(cfg.arch, model_options)
    with output_lock(output):
        ckpt = _checkpoint_for(Path(output), resume, model_options, cfg)
        seed_everything(cfg.seed)
        set_threads(cfg.threads)
        device = resolve_device(cfg.device)
        data = load_datasets(inputs, valid, cfg, strict_utf8)
        labels = ckpt["meta"]["labels"] if ckpt else data.labels
        model, encoder = build_for_training(cfg, model_options, data.train, len(labels), ckpt)
        model.to(device)
        y = {label: i for i, label in enumerate(labels)}
        started = time.monotonic()
        loop_data = LoopData(
            encoder.encode_batch([e.text for e in data.train]), [y[e.label] for e in data.train],
            encoder.encode_batch([e.text for e in data.valid]), [y[e.label] for e in data.valid], encoder.pad_id,
        )
        log.info("encoded %d training and %d validation texts in %.1fs", len(data.train), len(data.valid), time.monotonic() - started)
        meta = {"labels": labels, "model_options": model_options, "train": asdict(cfg), "vocab": getattr(getattr(encoder, "vocab", None), "tokens", None)}
        trainer = Trainer(model, loop_data, cfg, device, lambda state: save_checkpoint(output, {**state, "meta": meta}), quiet)
        if ckpt:
            trainer.restore(ckpt)
        state = trainer.run()
        log.info("stopped (%s) after %d steps, %.0fs; best valid accuracy %s", state.stopped, state.step, state.elapsed,
                 f"{state.best_accuracy:.4f}" if state.best_accuracy >= 0 else "n/a")
        results = _results(state, trainer.per_epoch, device)
        return save_classifier(output, model.cpu(), encoder, labels, arch=cfg.arch, train={**asdict(cfg), **results},
                               data=data.summary, history=state.history)


def _results(state: Any, per_epoch: int, device: Any) -> dict[str, Any]:
    """What the run did, recorded beside the options in config.json's "train"."""
    import torch

    return {
        "steps": state.step, "epochs_done": round(state.epoch + state.batch / per_epoch, 3), "seconds": round(state.elapsed, 1),
        "stopped": state.stopped, "best_valid_accuracy": round(state.best_accuracy, 5) if state.best_accuracy >= 0 else None,
        "best_step": state.best_step, "device_used": str(device), "torch_threads": torch.get_num_threads(),
    }


def _check_output(output: Path) -> None:
    """Refuse at the start, not after training, an output that the artefact may not replace."""
    if output.is_file():
        raise ArtifactError(f"{output} exists and is a file", "choose a new output directory")
    if output.is_dir() and any(output.iterdir()) and not ((output / CONFIG).exists() or (output / CHECKPOINT).exists()):
        raise ArtifactError(f"{output} exists and is a directory that is not an nlpkit model", "choose a new output directory or remove it")


def _checkpoint_for(output: Path, resume: bool, model_options: dict[str, Any], cfg: TrainConfig) -> dict[str, Any] | None:
    _check_output(output)
    if not resume:
        if (output / CHECKPOINT).exists():
            raise ConfigError(f"{output} holds the checkpoint of an unfinished job", "add --resume to continue it, or choose another output")
        return None
    ckpt = load_checkpoint(output)
    if ckpt is None:
        log.info("no checkpoint in %s; starting from the beginning", output)
        return None
    before = ckpt["meta"]
    changed = [k for k in RESUME_FIXED if before["train"].get(k) != getattr(cfg, k)]
    changed += sorted(k for k in set(before["model_options"]) | set(model_options) if before["model_options"].get(k) != model_options.get(k))
    if changed:
        flags = ", ".join("--" + k.replace("_", "-") for k in changed)
        raise ConfigError(f"--resume with different {flags} than the interrupted job", "rerun with the same options, or start afresh in a new output")
    return ckpt
