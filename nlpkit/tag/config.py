"""``TagConfig``: the settings of ``nlpkit tag train``: the training engine's (``--epochs``, ``--lr``,
``--max-time``, ...; ``nlpkit.training.TrainConfig``) plus what a tagger is and what data it reads.
Every field is the flag of the same name (``d_hidden`` is ``--d-hidden``, ``crf`` is ``--crf/--no-crf``).
``None`` means "the default for this --arch", resolved in ``__post_init__`` so that config.json
records the value used. Fields marked ``fixed`` decide the data, the vocabulary or the model, and a
resumed job must keep them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from nlpkit.errors import ConfigError
from nlpkit.tag.schemes import SCHEMES
from nlpkit.training.config import TrainConfig, fixed, flag

KIND = "tagger"
FORMAT_VERSION = 1
ARCHS = ("bilstm", "unidirectional", "bert")
CHAR_ENCODERS = ("lstm", "cnn")
DEFAULT_LR = {"bilstm": 2e-3, "unidirectional": 2e-3, "bert": 5e-5}


@dataclass
class TagConfig(TrainConfig):
    arch: str = fixed("bilstm")  # bilstm: bidirectional LSTM; unidirectional: left-to-right LSTM; bert: fine-tune --bert
    crf: bool = fixed(True)  # a linear-chain CRF output layer (False: an independent softmax per token)
    scheme: str = fixed("iob2")  # the chunk scheme trained in (iob1, iob2, iobes); output goes back to the input's
    word_col: int = fixed(0)  # CoNLL column of the words (0-based; negative counts from the end)
    tag_col: int = fixed(-1)  # CoNLL column of the tags
    batch_size: int = fixed(16)  # sentences per micro-batch
    valid_fraction: float = fixed(0.1)  # without --valid: share of training sentences held out (seeded)
    min_count: int = fixed(1)  # words seen fewer times in training become <unk> (unless --vectors knows them)
    unk_replace: float = fixed(0.5)  # each epoch, a training word seen once becomes <unk> with this probability
    d_model: int | None = fixed(None)  # word embedding size (default 100; the vectors' size with --vectors)
    d_hidden: int = fixed(100)  # LSTM state size per direction
    n_layers: int = fixed(1)  # stacked LSTM layers
    dropout: float | None = fixed(None)  # on the LSTM's input and output (default 0.5; bert: 0.1 on its output)
    char_dim: int = fixed(0)  # character embedding size; the per-word character encoder gives 2 * char_dim (0: off)
    char_encoder: str = fixed("lstm")  # lstm: a character BiLSTM per word; cnn: width-3 convolution + max-pooling
    case_dim: int = fixed(4)  # size of the case-feature embedding (lower, upper, title, mixed, digits, other; 0: off)
    lowercase: bool = fixed(True)  # look words up lowercased (the case feature keeps what is lost)
    vectors: str | None = fixed(None)  # DIR from `nlpkit embed train`/`embed import`: initial word embeddings
    freeze_vectors: bool = fixed(False)  # keep the --vectors embeddings fixed
    bert: str | None = fixed(None)  # DIR from `nlpkit bert pretrain`/`bert import` (--arch bert)
    max_len: int = fixed(512)  # bert: WordPiece pieces per sentence, [CLS] and [SEP] included
    lr: float | None = None  # peak learning rate (default 2e-3; bert 5e-5)
    schedule: str | None = None  # default constant; bert: linear decay to 0
    warmup: float | None = None  # default 0; bert: 0.1 of the steps
    patience: int = 5  # evaluations without a better validation F1 before stopping (0: never)

    def __post_init__(self) -> None:
        bert = self.arch == "bert"
        self.lr = DEFAULT_LR.get(self.arch, 1e-3) if self.lr is None else self.lr
        self.schedule = ("linear" if bert else "constant") if self.schedule is None else self.schedule
        self.warmup = (0.1 if bert else 0.0) if self.warmup is None else self.warmup
        if self.dropout is None:
            self.dropout = 0.1 if bert else 0.5
        super().__post_init__()
        if self.arch not in ARCHS:
            raise ConfigError(f"unknown {flag('arch')} {self.arch!r}", "use bilstm, unidirectional or bert")
        if self.scheme not in SCHEMES:
            raise ConfigError(f"unknown {flag('scheme')} {self.scheme!r}", "use iob1, iob2 or iobes")
        if self.char_encoder not in CHAR_ENCODERS:
            raise ConfigError(f"unknown {flag('char_encoder')} {self.char_encoder!r}", "use lstm or cnn")
        if self.d_model is None and self.arch != "bert" and not self.vectors:
            self.d_model = 100
        self._check_ranges()
        self._check_arch()

    def _check_ranges(self) -> None:
        for name in ("d_hidden", "n_layers", "min_count", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{flag(name)} must be at least 1")
        for name in ("char_dim", "case_dim"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{flag(name)} must be 0 (off) or more")
        if self.d_model is not None and self.d_model < 1:
            raise ConfigError(f"{flag('d_model')} must be at least 1")
        if not 0.0 <= self.dropout < 1.0:  # type: ignore[operator]
            raise ConfigError(f"{flag('dropout')} must be in [0, 1)")
        if not 0.0 <= self.unk_replace <= 1.0:
            raise ConfigError(f"{flag('unk_replace')} must be in [0, 1]")
        if not 0.0 <= self.valid_fraction < 1.0:
            raise ConfigError(f"{flag('valid_fraction')} must be in [0, 1)")
        if self.word_col == self.tag_col:
            raise ConfigError(f"{flag('word_col')} and {flag('tag_col')} are the same column")

    def _check_arch(self) -> None:
        if self.arch == "bert":
            if not self.bert:
                raise ConfigError(f"{flag('arch')} bert needs {flag('bert')} DIR", "pass a model from `nlpkit bert pretrain` or `nlpkit bert import`")
            if self.vectors or self.char_dim:
                raise ConfigError(f"{flag('vectors')} and {flag('char_dim')} apply to {flag('arch')} bilstm and unidirectional", "BERT brings its own embeddings")
            if self.max_len < 3:
                raise ConfigError(f"{flag('max_len')} must be at least 3 ([CLS] words [SEP])")
        elif self.bert:
            raise ConfigError(f"{flag('bert')} applies to {flag('arch')} bert", f"add {flag('arch')} bert")
        if self.freeze_vectors and not self.vectors:
            raise ConfigError(f"{flag('freeze_vectors')} needs {flag('vectors')} DIR")


MODEL_FIELDS = tuple(f.name for f in fields(TagConfig) if f.name not in {g.name for g in fields(TrainConfig)})


def model_section(cfg: TagConfig) -> dict[str, Any]:
    """config.json's "model": the tagger's own fields (the engine's are in "train")."""
    return {name: getattr(cfg, name) for name in MODEL_FIELDS}


def tag_config(values: dict[str, Any]) -> TagConfig:
    """A TagConfig from config.json's "model", ignoring keys that are not fields."""
    return TagConfig(**{k: v for k, v in values.items() if k in MODEL_FIELDS})
