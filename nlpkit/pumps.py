"""Background threads that keep a consumer fed: ``prefetch`` (produce ahead) and ``pipelined`` (produce and map ahead).

One place for the thread pumps that tokenization, word2vec and BERT pre-training use. Items come
back in order; an exception in a producer is re-raised in the consumer at its position. When the
consumer stops early (``break``, an exception, garbage collection), the threads stop producing
and close their sources.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_DONE = object()


def _close(items: Any) -> None:
    close = getattr(items, "close", None)
    if close is not None:
        close()


def prefetch(items: Iterable[Any], depth: int = 4) -> Iterator[Any]:
    """Iterate ``items`` on a background thread, at most ``depth`` items ahead of the consumer."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    source = iter(items)

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False  # the consumer has gone: stop producing

    def work() -> None:
        try:
            for item in source:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed over to the consumer
            put(exc)
        finally:
            _close(source)  # runs on the thread that iterates it, so a generator source can be closed

    threading.Thread(target=work, daemon=True).start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def _mapped(items: Iterator[Any], work: Callable[[Any], Any]) -> Iterator[Any]:
    try:
        for item in items:
            yield work(item)
    finally:
        _close(items)


def pipelined(items: Iterable[Any], work: Callable[[Any], Any], depth: int = 2) -> Iterator[Any]:
    """``map(work, items)`` with ``items`` produced on one background thread and ``work`` run on another."""
    return prefetch(_mapped(prefetch(items, depth), work), depth)
