"""The teacher-forcing ratio of scheduled sampling (the learning rate schedule is the engine's).

Scheduled sampling (Bengio et al. 2015): at update i each decoder input is the reference token
with probability eps_i, else a token sampled from the model's own prediction. eps_i falls from 1
towards the floor ``--teacher-forcing`` (0 unless given: a schedule alone ends on the model's own
predictions) along one of the paper's three curves:

- linear:  eps_i = 1 - i / k            (k: updates until the floor; default 5000)
- exp:     eps_i = k ** i                (k < 1; default 0.9995)
- sigmoid: eps_i = k / (k + exp(i / k))  (inverse sigmoid, k >= 1; default 500)

Without a schedule eps is ``--teacher-forcing`` throughout (1.0: plain teacher forcing).
"""

from __future__ import annotations

import math

from nlpkit.errors import ConfigError

SCHEDULES = ("none", "linear", "exp", "sigmoid")
DEFAULT_K = {"linear": 5000.0, "exp": 0.9995, "sigmoid": 500.0}


def check_sampling(schedule: str, k: float | None, floor: float | None) -> None:
    if schedule not in SCHEDULES:
        raise ConfigError(f"unknown --scheduled-sampling {schedule!r}", "use linear, exp or sigmoid")
    if floor is not None and not 0.0 <= floor <= 1.0:
        raise ConfigError("--teacher-forcing must be between 0 and 1")
    if k is None or schedule == "none":
        return
    if schedule == "linear" and k <= 0:
        raise ConfigError("--ss-k for linear must be > 0 (updates until the floor)")
    if schedule == "exp" and not 0 < k < 1:
        raise ConfigError("--ss-k for exp must be between 0 and 1")
    if schedule == "sigmoid" and k < 1:
        raise ConfigError("--ss-k for sigmoid must be at least 1")


def gold_probability(update: int, schedule: str, k: float | None, floor: float) -> float:
    """Probability that a decoder input is the reference token at ``update``."""
    if schedule == "none":
        return floor
    k = DEFAULT_K[schedule] if k is None else k
    if schedule == "linear":
        eps = 1.0 - update / k
    elif schedule == "exp":
        eps = k**update
    else:
        eps = k / (k + math.exp(min(update / k, 700.0)))
    return max(floor, eps)
