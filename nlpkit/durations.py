"""Durations and cadences as users write them on the command line: ``90``, ``90s``, ``15m``, ``2h``, ``1h30m``.

One parser for every command, so ``--max-time``, ``--checkpoint-every`` and ``--eval-every`` mean
the same everywhere. A plain number is seconds for a duration; for a cadence a plain integer is a
count (optimizer steps, or words for ``embed train``) and a number with a unit is a duration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlpkit.errors import ConfigError

_DURATION = re.compile(r"\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)(s)?)?\s*")


def parse_duration(text: str | float | int | None, flag: str = "--max-time") -> float | None:
    """``'90'`` or ``'90s'`` -> 90.0, ``'15m'`` -> 900.0, ``'1h30m'`` -> 5400.0; ``None`` stays ``None``."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        return float(text)
    m = _DURATION.fullmatch(text)
    if not text.strip() or m is None or not any(m.groups()[:3]):
        raise ConfigError(f"{flag} {text!r} is not a duration", f"write e.g. {flag} 900, 90s, 15m, 2h or 1h30m")
    h, mins, s = (float(g) if g else 0.0 for g in m.groups()[:3])
    seconds = h * 3600 + mins * 60 + s
    if seconds <= 0:
        raise ConfigError(f"{flag} {text!r} must be longer than zero", f"write e.g. {flag} 15m")
    return seconds


@dataclass(frozen=True)
class Cadence:
    """Every ``count`` units of work, or every ``seconds`` of training time; both ``None`` means never."""

    count: int | None = None
    seconds: float | None = None

    def __bool__(self) -> bool:
        return self.count is not None or self.seconds is not None


def parse_cadence(text: str | int | None, flag: str = "--checkpoint-every") -> Cadence:
    """``'500'`` -> every 500 steps (or words); ``'10m'``/``'90s'`` -> every so many seconds; ``'0'``/None -> never."""
    if text is None:
        return Cadence()
    if isinstance(text, int) or (isinstance(text, str) and text.strip().isdigit()):
        n = int(text)
        return Cadence(count=n) if n > 0 else Cadence()
    return Cadence(seconds=parse_duration(str(text), flag))
