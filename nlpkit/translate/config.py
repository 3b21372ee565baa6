"""``nlpkit translate train`` settings: the engine's (``nlpkit.training.TrainConfig``) plus translation's.

Every field is the flag of the same name. ``None`` means the architecture's default: batches of
4,000 (rnn) or 2,000 padded tokens (transformer), learning rate 1e-3 (rnn) or 2e-3 (transformer),
warm-up 0 or 200 steps, schedule constant or inverse_sqrt (Vaswani et al. 2017), label smoothing 0
or 0.1. The transformer's are chosen for many small steps: on 2 CPU cores a 30-minute budget is
about 4,000 steps of 2,000 tokens for the default (small) model; larger models and batches pay off
on a GPU (``--d-model 512 --n-layers 6 --d-ff 2048 --max-tokens 8000``). Fields marked ``fixed`` decide the vocabulary,
the batches or the model: a resumed job must keep them, so its saved position (a batch index in
the epoch) always indexes the same batches.
"""

from __future__ import annotations

from dataclasses import dataclass

from nlpkit.errors import ConfigError
from nlpkit.training.config import TrainConfig as EngineConfig
from nlpkit.training.config import fixed, flag
from nlpkit.translate.model import ARCHS
from nlpkit.translate.schedule import check_sampling


@dataclass
class TrainConfig(EngineConfig):
    arch: str = fixed("rnn-attn")  # rnn-attn, rnn or transformer
    max_tokens: int | None = fixed(None)  # padded tokens per batch (longer side); None: 4000 (rnn), 2000 (transformer)
    lr: float | None = None  # peak learning rate; None: 1e-3 (rnn), 2e-3 (transformer)
    warmup: float | None = None  # None: 0 (rnn), 200 steps (transformer)
    schedule: str | None = None  # None: constant (rnn), inverse_sqrt (transformer)
    optimizer: str = "adam"
    label_smoothing: float | None = None  # None: 0.0 (rnn), 0.1 (transformer)
    teacher_forcing: float | None = None  # floor of the schedule; None: 1.0 without a schedule, 0.0 with one
    scheduled_sampling: str = "none"  # none, linear, exp, sigmoid
    ss_k: float | None = None  # the schedule's k (see schedule.py)
    valid_metric: str = "bleu"  # bleu (greedy, on valid_lines pairs) or loss
    valid_lines: int = 500
    vocab_size: int = fixed(8000)
    joint_vocab: bool = fixed(False)
    lowercase: bool = fixed(False)
    max_len: int = fixed(100)  # training pairs with a longer side (in pieces) are dropped

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ConfigError(f"unknown {flag('arch')} {self.arch!r}", "use rnn-attn, rnn or transformer")
        transformer = self.arch == "transformer"
        if self.max_tokens is None:
            self.max_tokens = 2000 if transformer else 4000
        if self.lr is None:
            self.lr = 2e-3 if transformer else 1e-3  # the small pre-LN default model takes a high peak rate
        if self.warmup is None:
            self.warmup = 200 if transformer else 0
        if self.schedule is None:
            self.schedule = "inverse_sqrt" if transformer else "constant"
        if self.label_smoothing is None:
            self.label_smoothing = 0.1 if transformer else 0.0
        if self.teacher_forcing is None:
            self.teacher_forcing = 1.0 if self.scheduled_sampling == "none" else 0.0
        super().__post_init__()
        if self.valid_metric not in ("bleu", "loss"):
            raise ConfigError(f"unknown {flag('valid_metric')} {self.valid_metric!r}", "use bleu or loss")
        if self.max_tokens < 8 or self.max_len < 1 or self.valid_lines < 1:
            raise ConfigError(f"{flag('max_tokens')}, {flag('max_len')} and {flag('valid_lines')} are too small")
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(f"{flag('label_smoothing')} must be in [0, 1)")
        check_sampling(self.scheduled_sampling, self.ss_k, self.teacher_forcing)
