"""``PretrainConfig``: every `nlpkit bert pretrain` option that is not a model size (those are in BertConfig).

It extends the engine's ``nlpkit.training.TrainConfig`` (``--lr``, ``--warmup``, ``--schedule``,
``--clip``, ``--precision``, ``--checkpoint-every``, ...). Pre-training counts optimizer ``--steps``
over an endless stream of examples (one "epoch" of ``steps`` steps for the engine); the schedule,
BERT's, is linear warm-up then linear decay to 0 at ``--steps``. Fields marked ``fixed`` decide
which examples the job sees or the schedule, and a resumed job must keep them.
"""

from __future__ import annotations

from dataclasses import dataclass

from nlpkit.errors import ConfigError
from nlpkit.training.config import TrainConfig, fixed, flag

KIND = "bert"
FORMAT_VERSION = 1
MASKINGS = ("dynamic", "static")
DOCUMENTS = ("blank-lines", "lines")


@dataclass
class PretrainConfig(TrainConfig):
    tokenizer: str | None = fixed(None)  # DIR or vocab.txt; None trains a WordPiece vocabulary on the input
    vocab_size: int = fixed(30000)  # for a tokenizer trained on the fly
    documents: str = fixed("blank-lines")  # blank-lines: BERT's format; lines: one document per line
    nsp: bool = fixed(True)  # next-sentence prediction (B is a random other document half of the time)
    max_seq_len: int = fixed(128)  # tokens per example, [CLS] and [SEP]s included
    short_seq_prob: float = fixed(0.1)  # how often a shorter target length is drawn, as in BERT
    mlm_prob: float = fixed(0.15)  # share of tokens to predict (80% [MASK], 10% random, 10% kept)
    whole_word_mask: bool = fixed(False)  # mask all pieces of a word together
    masking: str = fixed("dynamic")  # dynamic: new masks every epoch; static: the same masks every epoch
    steps: int = fixed(10000)  # optimizer steps (the schedule always spans them; --max-time may stop earlier)
    batch_size: int = fixed(32)  # sequences per micro-batch and process
    shuffle_buffer: int = fixed(10000)  # examples in the streaming shuffle buffer
    doc_window: int = fixed(1000)  # documents around the current one from which random B segments come
    eval_batches: int = 20  # held-out batches per evaluation
    epochs: int = 1  # the engine's one pass of --steps steps over the endless example stream
    lr: float | None = 1e-4  # peak learning rate
    warmup: float = 1000  # steps of linear warm-up from 0 (below 1: a share of --steps)
    schedule: str = "linear"  # BERT's: linear decay to 0 at --steps
    weight_decay: float = 0.01  # AdamW, not applied to biases and LayerNorm weights
    log_every: int = 50  # steps between --metrics records and log lines
    eval_every: str = "500"  # steps (or a DURATION) between held-out evaluations (with --valid)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.epochs != 1:
            raise ConfigError(f"bert pretrain counts {flag('steps')}, not {flag('epochs')}", "give --steps")
        if self.optimizer != "adamw":
            raise ConfigError(f"bert pretrain uses {flag('optimizer')} adamw")
        _choice("masking", self.masking, MASKINGS)
        _choice("documents", self.documents, DOCUMENTS)
        for name in ("steps", "batch_size", "eval_batches", "shuffle_buffer", "doc_window"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{flag(name)} must be at least 1")
        if self.vocab_size < 0:
            raise ConfigError(f"{flag('vocab_size')} must not be negative")
        if self.max_seq_len < (5 if self.nsp else 3):
            raise ConfigError(f"{flag('max_seq_len')} {self.max_seq_len} is too short", "use 32 or more")
        if not 0.0 < self.mlm_prob < 1.0:
            raise ConfigError(f"{flag('mlm_prob')} must be between 0 and 1")
        if not 0.0 <= self.short_seq_prob <= 1.0:
            raise ConfigError(f"{flag('short_seq_prob')} must be between 0 and 1")


def _choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{flag(name)} {value!r} is not one of {', '.join(choices)}")
