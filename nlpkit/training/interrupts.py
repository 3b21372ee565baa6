"""Ctrl-C and SIGTERM during training: finish the optimizer step, write a checkpoint, then stop.

A signal that lands in the middle of an optimizer step would leave the weights half updated, so
while training runs the two signals only set a flag. The engine checks it between steps: it writes
a checkpoint (the job then resumes exactly where it stopped) and re-delivers the signal to the
handlers that were installed before, so the process ends as it would have (the CLI exits 130 on
Ctrl-C, 143 on SIGTERM). Only in the main thread and without torchrun: ranks receive signals at
different moments, and a checkpoint is a collective operation.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class DeferredSignals:
    """``with DeferredSignals() as d:`` ... ``if d.pending: save(); d.deliver()``."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.pending: int | None = None
        self._old: dict[int, Any] = {}

    def __enter__(self) -> DeferredSignals:
        if self.enabled:
            for sig in SIGNALS:
                self._old[sig] = signal.signal(sig, self._defer)
        return self

    def _defer(self, signum: int, frame: FrameType | None) -> None:
        if self.pending is not None:  # a second Ctrl-C: the user does not want to wait
            self._restore()
            signal.raise_signal(signum)
        self.pending = signum

    def _restore(self) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
        self._old = {}

    def deliver(self) -> None:
        """Restore the earlier handlers and re-raise the deferred signal through them."""
        signum, self.pending = self.pending, None
        self._restore()
        if signum is not None:
            signal.raise_signal(signum)

    def __exit__(self, *exc: object) -> None:
        signum, self.pending = self.pending, None
        self._restore()
        if signum is not None and exc[0] is None:
            signal.raise_signal(signum)
