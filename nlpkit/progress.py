"""Progress and logs, always on stderr.

On a terminal a rich progress bar is drawn. When stderr is not a terminal (cron, a log file, a
pipe) or ``quiet`` is set, no bar is drawn; long jobs instead log one plain line every
``log_every`` seconds through the ``nlpkit`` logger, so cron mail stays readable::

    2026-12-03T08:25:01Z train: 1,200/10,000 batches (12%), 43.21 batches/s, ETA 3m24s, loss 2.345, lr 0.0003

Off a terminal every log line starts with an ISO-8601 UTC timestamp. Numbers are rounded to 4
significant digits and written without exponents (``0.00003``, ``283.6``, ``12,350``). Training
code passes the current ``loss``, ``lr`` and ``epoch`` (counted from 1) as fields of ``advance``.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable
from types import TracebackType

log = logging.getLogger("nlpkit")


def stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """A progress reporter: ``with Progress("train", total=n, unit="words") as p: p.advance(k)``.

    ``fields`` passed to ``advance`` (for example ``lr=0.024``) are shown beside the count.
    """

    def __init__(
        self,
        description: str,
        *,
        total: float | None = None,
        unit: str = "items",
        quiet: bool = False,
        log_every: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        time_left: float | None = None,
    ) -> None:
        self.description = description
        self.total = total
        self.unit = unit
        self.quiet = quiet
        self.log_every = log_every
        self.clock = clock
        self.done = 0.0
        self.fields: dict[str, object] = {}
        self._bar = None
        self._task = None
        self._start = clock()
        self._last_log = self._start
        self.time_left = time_left  # seconds (a --max-time budget) after which the job stops anyway

    def __enter__(self) -> Progress:
        if not self.quiet and stderr_is_terminal():
            self._start_bar()
        return self

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=Console(stderr=True),
            transient=False,
        )
        self._bar.start()
        total = int(self.total) if self.total else None
        self._task = self._bar.add_task(self.description, total=total, info="")

    def advance(self, amount: float = 1, **fields: object) -> None:
        self.done += amount
        self.fields.update(fields)
        if self._bar is not None:
            self._bar.update(self._task, advance=amount, info=self.info())
            return
        now = self.clock()
        if not self.quiet and now - self._last_log >= self.log_every:
            self._last_log = now
            log.info("%s: %s", self.description, self.status(now))

    def rate(self, now: float | None = None) -> float:
        elapsed = (now if now is not None else self.clock()) - self._start
        return self.done / elapsed if elapsed > 0 else 0.0

    def eta(self, now: float | None = None) -> float | None:
        """Seconds left at the current rate, capped by ``time_left``; None when neither is known."""
        now = now if now is not None else self.clock()
        budget = None if self.time_left is None else max(self.time_left - (now - self._start), 0.0)
        rate = self.rate(now)
        if not self.total or rate <= 0:
            return budget
        by_rate = max(self.total - self.done, 0.0) / rate
        return by_rate if budget is None else min(by_rate, budget)

    def info(self, now: float | None = None) -> str:
        parts = [f"{fmt_number(self.rate(now))} {self.unit}/s"]
        parts += [f"{k} {_fmt(v)}" for k, v in self.fields.items()]
        return "  ".join(parts)

    def status(self, now: float | None = None) -> str:
        """``done/total unit (pct%), rate unit/s, ETA ..., field value, ...`` for a plain log line."""
        done = f"{self.done:,.0f}"
        parts = [f"{done} {self.unit}"]
        if self.total:
            parts = [f"{done}/{self.total:,.0f} {self.unit} ({fmt_number(100 * self.done / self.total, 3)}%)"]
        parts.append(f"{fmt_number(self.rate(now))} {self.unit}/s")
        eta = self.eta(now)
        if eta is not None:
            parts.append(f"ETA {fmt_duration(eta)}")
        parts += [f"{k} {_fmt(v)}" for k, v in self.fields.items()]
        return ", ".join(parts)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()


def fmt_number(x: float, digits: int = 4) -> str:
    """``x`` to ``digits`` significant digits, never with an exponent: 0.00003, 283.6, 12,350."""
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(x)))
    if magnitude >= digits - 1:
        return f"{round(x, digits - 1 - magnitude):,.0f}"
    text = f"{x:.{digits - 1 - magnitude}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_duration(seconds: float) -> str:
    """3h05m, 4m07s, 42s."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return fmt_number(value)
    return str(value)


def configure_logging(quiet: bool = False, debug: bool = False) -> None:
    """Send the ``nlpkit`` logger to stderr as plain lines (the CLI calls this once)."""
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    log.setLevel(level)
    for handler in list(log.handlers):
        if getattr(handler, "_nlpkit", False):
            log.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._nlpkit = True  # type: ignore[attr-defined]
    handler.setFormatter(plain_formatter() if not stderr_is_terminal() else logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.propagate = False


def plain_formatter() -> logging.Formatter:
    """Log lines for cron mail and log files: ``2026-12-03T08:25:01Z message`` (UTC)."""
    formatter = logging.Formatter("%(asctime)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    return formatter
