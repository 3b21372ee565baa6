"""``PretrainConfig``: every `nlpkit bert pretrain` option that is not a model size (those are in BertConfig)."""

from __future__ import annotations

from dataclasses import dataclass

from nlpkit.errors import ConfigError

KIND = "bert"
FORMAT_VERSION = 1
PRECISIONS = ("fp32", "bf16", "fp16")
MASKINGS = ("dynamic", "static")
DOCUMENTS = ("blank-lines", "lines")

# Options that decide which examples the job sees; a resumed job must keep them.
DATA_FIELDS = (
    "documents", "nsp", "max_seq_len", "short_seq_prob", "mlm_prob", "whole_word_mask", "masking",
    "batch_size", "grad_accum", "seed", "shuffle_buffer", "doc_window",
)


@dataclass
class PretrainConfig:
    tokenizer: str | None = None  # DIR or vocab.txt; None trains a WordPiece vocabulary on the input
    vocab_size: int = 30000  # for a tokenizer trained on the fly
    documents: str = "blank-lines"  # blank-lines: BERT's format; lines: one document per line
    nsp: bool = True  # next-sentence prediction (B is a random other document half of the time)
    max_seq_len: int = 128  # tokens per example, [CLS] and [SEP]s included
    short_seq_prob: float = 0.1  # how often a shorter target length is drawn, as in BERT
    mlm_prob: float = 0.15  # share of tokens to predict (80% [MASK], 10% random, 10% kept)
    whole_word_mask: bool = False  # mask all pieces of a word together
    masking: str = "dynamic"  # dynamic: new masks every epoch; static: the same masks every epoch
    lr: float = 1e-4  # peak learning rate
    warmup: int = 1000  # steps of linear warm-up from 0, then linear decay to 0 at --steps
    steps: int = 10000  # optimizer steps (the schedule always spans them; --max-time may stop earlier)
    max_time: float | None = None  # seconds of training after which the job stops and saves
    batch_size: int = 32  # sequences per micro-batch and process
    grad_accum: int = 1  # micro-batches per optimizer step
    weight_decay: float = 0.01  # AdamW, not applied to biases and LayerNorm weights
    clip_norm: float = 1.0  # global gradient-norm clipping (0: off)
    precision: str = "fp32"  # fp32, bf16 (CUDA or CPU autocast), fp16 (CUDA, with loss scaling)
    device: str = "auto"
    seed: int = 0
    log_every: int = 50  # steps between --metrics records and log lines
    checkpoint_every: int = 500  # steps between resume checkpoints (0: only at the end)
    eval_every: int = 500  # steps between held-out evaluations (with --valid)
    eval_batches: int = 20  # held-out batches per evaluation
    shuffle_buffer: int = 10000  # examples in the streaming shuffle buffer
    doc_window: int = 1000  # documents around the current one from which random B segments come
    threads: int | None = None  # torch intra-op threads (None: torch's default)

    def __post_init__(self) -> None:
        _choice("--precision", self.precision, PRECISIONS)
        _choice("--masking", self.masking, MASKINGS)
        _choice("--documents", self.documents, DOCUMENTS)
        for name in ("steps", "batch_size", "grad_accum", "log_every", "eval_batches", "shuffle_buffer", "doc_window"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1")
        for name in ("warmup", "checkpoint_every", "eval_every", "vocab_size"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name.replace('_', '-')} must not be negative")
        if self.max_seq_len < (5 if self.nsp else 3):
            raise ConfigError(f"--max-seq-len {self.max_seq_len} is too short", "use 32 or more")
        if not 0.0 < self.mlm_prob < 1.0:
            raise ConfigError("--mlm-prob must be between 0 and 1")
        if not 0.0 <= self.short_seq_prob <= 1.0:
            raise ConfigError("--short-seq-prob must be between 0 and 1")
        if self.lr <= 0:
            raise ConfigError("--lr must be positive")
        if self.max_time is not None and self.max_time <= 0:
            raise ConfigError("--max-time must be positive")


def _choice(flag: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{flag} {value!r} is not one of {', '.join(choices)}")


def learning_rate(step: int, cfg: PretrainConfig) -> float:
    """Linear warm-up over ``warmup`` steps, then linear decay to 0 at ``steps`` (BERT's schedule)."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    return cfg.lr * max(0.0, (cfg.steps - step) / max(1, cfg.steps - cfg.warmup))
