"""``nlpkit classify train`` settings: the engine's (``nlpkit.training.TrainConfig``) plus the data's.

Every field is the flag of the same name. ``None`` means the architecture's default: the learning
rate (5e-3 avg, 2e-3 bilstm, 3e-5 bert), the schedule (linear for bert, else constant) and the
warm-up (0.1 of the steps for bert, else none). Fields marked ``fixed`` decide the vocabulary, the
batches or the model, and a resumed job must keep them. ``init`` (``--init DIR``, see ``transfer``)
takes the vocabulary and the model from a trained classifier, so the vocabulary flags and
``--vectors`` are refused with it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from nlpkit.classify.data import check_columns
from nlpkit.errors import ConfigError
from nlpkit.training.config import TrainConfig as EngineConfig
from nlpkit.training.config import fixed, flag, flags

DEFAULT_LR = {"avg": 5e-3, "bilstm": 2e-3, "bert": 3e-5}


@dataclass
class TrainConfig(EngineConfig):
    arch: str = fixed("avg")  # avg, bilstm or bert
    batch_size: int = fixed(32)  # examples per optimizer step (per rank and micro-batch)
    lr: float | None = None  # AdamW learning rate; None: 5e-3 avg, 2e-3 bilstm, 3e-5 bert
    schedule: str | None = None  # None: linear for bert, else constant
    warmup: float | None = None  # None: 0.1 (of all steps) for bert, else 0
    patience: int = 3  # evaluations without a better validation accuracy before stopping (0: never)
    valid_fraction: float = fixed(0.0)  # hold out this share of the training data when no --valid is given
    min_count: int = fixed(2)  # words seen fewer times in training become <unk> (avg, bilstm)
    max_vocab: int = fixed(0)  # keep at most this many words, most frequent first (0: no limit)
    label_col: int = fixed(1)  # column of the label, counting from 1
    text_col: int = fixed(2)  # column of the text, counting from 1
    vectors: str | None = fixed(None)  # DIR of word vectors from `nlpkit embed train` to initialise the embeddings
    freeze_vectors: bool = fixed(False)  # keep the --vectors embeddings fixed during training
    init: str | None = fixed(None)  # DIR of a trained avg/bilstm classifier to start from (its vocabulary, config, weights)

    def __post_init__(self) -> None:
        if self.arch not in DEFAULT_LR:
            raise ConfigError(f"unknown {flag('arch')} {self.arch!r}", "use avg, bilstm or bert")
        if self.lr is None:
            self.lr = DEFAULT_LR[self.arch]
        if self.schedule is None:
            self.schedule = "linear" if self.arch == "bert" else "constant"
        if self.warmup is None:
            self.warmup = 0.1 if self.arch == "bert" else 0.0
        super().__post_init__()
        for name in ("batch_size", "min_count"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{flag(name)} must be at least 1")
        if self.max_vocab < 0:
            raise ConfigError(f"{flag('max_vocab')} must be 0 or more")
        if self.freeze_vectors and not self.vectors:
            raise ConfigError(f"{flag('freeze_vectors')} needs {flag('vectors')} DIR")
        if self.vectors and self.arch == "bert":
            raise ConfigError(f"{flag('vectors')} applies to --arch avg and bilstm", "BERT brings its own embeddings")
        check_columns(self.label_col, self.text_col)
        if self.init:
            self._check_init()

    def _check_init(self) -> None:
        if self.arch == "bert":
            raise ConfigError(f"{flag('init')} applies to --arch avg and bilstm", "for bert, give the pre-trained encoder as --bert")
        if self.vectors:
            raise ConfigError(f"{flag('vectors')} does not apply with {flag('init')}",
                              "the --init model keeps its embeddings (and the vectors it was trained with)")
        changed = [f.name for f in fields(self) if f.name in ("min_count", "max_vocab") and getattr(self, f.name) != f.default]
        if changed:
            raise ConfigError(f"{flags(changed)} cannot change the vocabulary of a model started from {flag('init')}",
                              "leave it out: the vocabulary is the --init model's (unknown words become <unk>)")
