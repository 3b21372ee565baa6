"""Progress and logs, always on stderr.

On a terminal a rich progress bar is drawn. When stderr is not a terminal (cron, a log file, a
pipe) or ``quiet`` is set, no bar is drawn; long jobs instead log one plain line every
``log_every`` seconds through the ``nlpkit`` logger, so cron mail stays readable.
"""

from __future__ import annotations

import logging
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

    def info(self) -> str:
        parts = [f"{self.rate():,.0f} {self.unit}/s"]
        parts += [f"{k} {_fmt(v)}" for k, v in self.fields.items()]
        return "  ".join(parts)

    def status(self, now: float | None = None) -> str:
        done = f"{self.done:,.0f}" + (f"/{self.total:,.0f}" if self.total else "")
        return f"{done} {self.unit}, {self.info()}"

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
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
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.propagate = False
