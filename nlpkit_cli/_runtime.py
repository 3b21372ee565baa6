"""What a command needs at run time without Typer: exit codes, the one error line, signals, record output.

The quick path (``nlpkit_cli.quick``) runs `lm score`, `analogy` and `similar` without importing
typer, click or rich; the Typer commands use the same functions (``_common`` re-exports them), so
both paths print the same error line and exit with the same code.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

TYPE_CHECKING = False  # typing costs ~3 ms to import: a one-off query skips it
if TYPE_CHECKING:
    from typing import Any, TypeVar

    T = TypeVar("T")

from nlpkit.errors import ConfigError, NlpkitError

EXIT_ERROR = 1
EXIT_SIGPIPE = 128 + 13
EXIT_INTERRUPT = 128 + 2
EXIT_TERMINATED = 128 + 15

# What a command's errors are turned into exit codes from (SystemExit and the framework's own exits pass).
HANDLED = (Exception, KeyboardInterrupt)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be, so that a stopped job cleans up the same way."""


_terminated: list[int] = []


def _raise_terminated(signum: int, frame: object) -> None:
    _terminated.append(signum)  # remembered: Python drops an exception raised inside a finaliser
    raise Terminated()


def was_terminated() -> bool:
    return bool(_terminated)


def handle_sigterm() -> None:
    """Make SIGTERM (kill, systemd, a batch scheduler) behave like Ctrl-C; exit status 143."""
    import signal

    signal.signal(signal.SIGTERM, _raise_terminated)


def say(line: str) -> None:
    """One line on stderr, flushed."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def report(message: str) -> None:
    """One error line on stderr."""
    say(f"error: {message}")


def env_debug() -> bool:
    return os.environ.get("NLPKIT_DEBUG", "") not in ("", "0")


def failure_exit(exc: BaseException, debug: Callable[[], bool]) -> int | None:
    """The exit code for ``exc`` (one of ``HANDLED``) after its one line on stderr; None: re-raise it (--debug)."""
    if isinstance(exc, NlpkitError):
        if debug():
            return None
        if not (isinstance(exc, ConfigError) and os.environ.get("RANK", "0") != "0"):
            report(str(exc))  # under torchrun every rank finds the same option error: rank 0 says it
        return exc.exit_code
    if isinstance(exc, BrokenPipeError):
        _silence_stdout()
        return EXIT_SIGPIPE
    if isinstance(exc, KeyboardInterrupt):
        term = isinstance(exc, Terminated)
        say("terminated" if term else "interrupted")
        return EXIT_TERMINATED if term else EXIT_INTERRUPT
    if debug():
        return None
    if isinstance(exc, (OSError, MemoryError)):
        report(_os_message(exc))
    else:
        report(f"internal error ({type(exc).__name__}: {exc}); rerun with --debug for the traceback")
    return EXIT_ERROR


def _os_message(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "out of memory; try a smaller --batch-size or model"
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror.lower()}{where}"
    return str(exc)


def _silence_stdout() -> None:
    # Python flushes stdout at exit and would raise again on the closed pipe.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def run_main(body: Callable[[], Any]) -> None:
    """Run the command line: die quietly on a closed pipe, as Unix tools do; SIGTERM acts as Ctrl-C."""
    import signal

    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    handle_sigterm()
    try:
        body()
    except SystemExit as exc:
        if was_terminated() and exc.code in (0, None):  # the signal's exception was swallowed somewhere
            say("terminated")
            exc.code = EXIT_TERMINATED
        if exc.code in (EXIT_INTERRUPT, EXIT_TERMINATED):
            # Reader threads may be blocked on stdin; a normal shutdown would wait on their lock.
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
            os._exit(exc.code)
        raise


def stdin_is_interactive() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


class RecordWriter:
    """Writes records to stdout in few large writes; flushes per record when interactive."""

    def __init__(self, line_buffered: bool | None = None) -> None:
        self.stream = sys.stdout
        self.line_buffered = stdin_is_interactive() if line_buffered is None else line_buffered

    def write(self, record: str) -> None:
        self.stream.write(record + "\n")
        if self.line_buffered:
            self.stream.flush()

    def write_block(self, block: str) -> None:
        """A block of whole records, each ending in a newline."""
        self.stream.write(block)
        if self.line_buffered:
            self.stream.flush()

    def close(self) -> None:
        self.stream.flush()



def options(cls: type[T], values: dict[str, Any]) -> T:
    """An options record (``_options.Options``) from a Typer command's parameters (``locals()``): its fields, nothing else."""
    from nlpkit_cli._options import fields

    return cls(**{name: values[name] for name in fields(cls)})  # type: ignore[arg-type]
