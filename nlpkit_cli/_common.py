"""What every command shares: option types, error handling, groups with a default command.

Options are defined once here as ``Annotated`` aliases so that every command spells them the
same way (``-m/--model``, ``-o/--output``, ``--device``, ``--seed``, ``-q/--quiet``, inputs
defaulting to stdin).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

try:  # typer >= 0.26 ships its own copy of click
    from typer._click import Context
    from typer._click import exceptions as click_exceptions
    from typer._click.globals import get_current_context
except ImportError:  # pragma: no cover - older typer uses the click package
    from click import Context
    from click import exceptions as click_exceptions
    from click.globals import get_current_context

from nlpkit_cli._runtime import (  # noqa: F401 - re-exported: the commands import them from here
    EXIT_ERROR,
    EXIT_INTERRUPT,
    EXIT_SIGPIPE,
    EXIT_TERMINATED,
    HANDLED,
    RecordWriter,
    Terminated,
    env_debug,
    failure_exit,
    handle_sigterm,
    report,
    stdin_is_interactive,
    was_terminated,
)

log = logging.getLogger("nlpkit")

# Exceptions that the CLI framework turns into exit codes itself (usage errors exit 2).
_PASS_THROUGH = tuple(
    {click_exceptions.ClickException, typer.Exit, typer.Abort}
    | {getattr(click_exceptions, name) for name in ("Exit", "Abort") if hasattr(click_exceptions, name)}
)

def _set_quiet(value: bool) -> bool:
    if value:
        logging.getLogger("nlpkit").setLevel(logging.WARNING)
    return value


InputsArg = Annotated[
    Optional[list[str]],
    typer.Argument(
        help="Text inputs: files (.gz/.bz2/.xz too), directories (read recursively), quoted globs, "
        "hf:NAME[:CONFIG][:SPLIT], .parquet/.jsonl files; '-' or nothing reads stdin.",
        show_default=False,
    ),
]
TrainInputsArg = Annotated[
    list[str],
    typer.Argument(
        help="Training text: files (.gz/.bz2/.xz too), directories (read recursively), quoted globs, "
        "hf:NAME[:CONFIG][:SPLIT], .parquet/.jsonl files, or '-' for stdin.",
        show_default=False,
    ),
]
ModelOpt = Annotated[Path, typer.Option("--model", "-m", help="Model directory written by nlpkit.", show_default=False)]


def _lock_output(ctx: Context, value: Optional[Path]) -> Optional[Path]:
    """Lock the output directory while the options are parsed: before the command imports torch,
    so a second job on the same directory is refused at once. Released when the command ends."""
    if value is None or ctx.resilient_parsing or os.environ.get("RANK", "0") != "0":
        return value  # under torchrun only rank 0 writes (and locks)
    from nlpkit.locking import hold_output

    ctx.call_on_close(hold_output(value))
    return value


OutputDirOpt = Annotated[
    Path,
    typer.Option("--output", "-o", help="Output directory (written atomically).", show_default=False, callback=_lock_output),
]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed; the same seed repeats a run.")]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bars or log lines on stderr.", callback=_set_quiet)
]
StrictUtf8Opt = Annotated[
    bool, typer.Option("--strict-utf8", help="Fail on invalid UTF-8 instead of replacing it with U+FFFD.")
]
TextFieldOpt = Annotated[str, typer.Option("--text-field", help="Field holding the text in hf:/parquet/jsonl inputs.")]
LineBufferedOpt = Annotated[
    Optional[bool],
    typer.Option(
        "--line-buffered/--block-buffered",
        help="Flush stdout after every record (default: only when stdin is a terminal).",
        show_default=False,
    ),
]


def debug_enabled() -> bool:
    ctx = get_current_context(silent=True)
    if ctx is not None and ctx.find_root().params.get("debug"):
        return True
    return env_debug()


class NlpkitGroup(TyperGroup):
    """The root group: turns exceptions into one line on stderr and a conventional exit code.

    It also gives itself and every command below it the plain help of ``_help`` (no Rich markup,
    readable metavars, option panels, an example), so new commands get it without doing anything.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from nlpkit_cli._help import install

        install(self)

    def invoke(self, ctx: Context) -> Any:
        return guarded(lambda: super(NlpkitGroup, self).invoke(ctx))


def guarded(call: Any) -> Any:
    """``call()``, its errors turned into one line on stderr and ``typer.Exit`` with the exit code."""
    try:
        return call()
    except _PASS_THROUGH:
        raise
    except HANDLED as exc:
        code = failure_exit(exc, debug_enabled)
        if code is None:
            raise
        raise typer.Exit(code) from None


class DefaultCommandGroup(TyperGroup):
    """A group that runs ``default_command`` when the first word is not a subcommand.

    This gives ``nlpkit tokenize -m DIR FILE`` beside ``nlpkit tokenize train ...``.
    """

    default_command = ""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


def default_group(name: str) -> type[DefaultCommandGroup]:
    return type(f"DefaultGroup_{name}", (DefaultCommandGroup,), {"default_command": name})


ForceOpt = Annotated[
    bool,
    typer.Option("--force", help="Replace an existing model of the same kind and discard a resume checkpoint in --output."),
]
EchoOpt = Annotated[bool, typer.Option("--echo", help="Append the input line as the last TSV column.")]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="Stop with an error at the first bad input line instead of writing an error record.")
]
TopKAliasOpt = Annotated[
    Optional[int], typer.Option("--topk", hidden=True, min=1, help="Old name of --top-k.", show_default=False)
]


def pick_alias(value: Any, alias: Any) -> Any:
    """The value of an option or of its hidden old name (``--topk`` for ``--top-k``), whichever was given."""
    return alias if alias is not None else value
