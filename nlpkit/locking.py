"""Output-directory locks: one training job per output directory.

The lock is an ``flock`` on ``<parent>/.<name>.lock``, beside the directory rather than inside it,
because the directory itself is replaced by a rename when the artefact is published. The kernel
drops the lock when the process dies, so a killed job never leaves a stale lock behind.

Holding the lock also proves that every earlier writer of the directory is dead, so taking it
cleans what they left (temporary directories, stdin copies, half-published models). The lock is
taken by ``artifact_writer`` itself unless this process already holds it (``holds_lock``), as
training commands do from their start. Import nothing heavy here: the lock is taken before torch is imported, so a
second job is refused at once.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from nlpkit.errors import LockError

log = logging.getLogger("nlpkit")


def lock_path(out_dir: str | Path) -> Path:
    out = Path(out_dir).resolve()
    return out.parent / f".{out.name}.lock"


_held: set[Path] = set()
_handed: dict[Path, int] = {}  # locks taken by hold_output for a whole command


def holds_lock(out_dir: str | Path) -> bool:
    return lock_path(out_dir) in _held


def hold_output(out_dir: str | Path) -> Callable[[], None]:
    """Take the lock now, for a command about to run (before it imports torch, so that a second
    job is refused at once); ``output_lock`` inside the command then passes through. Returns
    the function that releases it."""
    path = lock_path(out_dir)
    if path in _held:
        return lambda: None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _acquire(path, out_dir)
    _held.add(path)
    _handed[path] = fd
    try:
        _claim(fd, out_dir)
    except BaseException:
        _release(path, fd)
        raise
    return lambda: _release(path, _handed.get(path, fd))


def _claim(fd: int, out_dir: str | Path) -> None:
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    _clean(out_dir)


def _release(path: Path, fd: int) -> None:
    _held.discard(path)
    _handed.pop(path, None)
    # Unlink before unlocking: a waiter that opened the old file notices the inode changed.
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    os.close(fd)


@contextmanager
def output_lock(out_dir: str | Path) -> Iterator[Path]:
    """Hold the lock on ``out_dir`` for the duration of the block; fail at once if it is taken."""
    path = lock_path(out_dir)
    if path in _handed:  # taken for this whole command by hold_output
        yield path
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _acquire(path, out_dir)
    _held.add(path)
    try:
        _claim(fd, out_dir)
        yield path
    finally:
        _release(path, fd)


def _clean(out_dir: str | Path) -> None:
    from nlpkit.publish import clean_leftovers

    cleaned = clean_leftovers(out_dir)
    if cleaned:
        log.info("removed what an interrupted job left: %s", ", ".join(cleaned))


def _acquire(path: Path, out_dir: str | Path) -> int:
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise LockError(
                f"{out_dir} is in use by another job (pid {holder})",
                "wait for it to finish or choose another output directory",
            ) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the holder released and removed it between our open and flock: retry
