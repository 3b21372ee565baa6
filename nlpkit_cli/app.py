"""The toolkit's table of contents: every command group is registered here, explicitly."""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer

from nlpkit import __version__
from nlpkit.progress import configure_logging
from nlpkit_cli import quick
from nlpkit_cli._common import NlpkitGroup
from nlpkit_cli._runtime import run_main

# Every command, in the order of `nlpkit --help`: (name, module, attribute, a group or one command).
COMMANDS = [
    ("tokenize", "tokenize", "app", True),
    ("embed", "embed", "app", True),
    ("analogy", "embed_query", "analogy_cmd", False),
    ("similar", "embed_query", "similar_cmd", False),
    ("bert", "bert", "app", True),
    ("lm", "lm", "app", True),
    ("translate", "translate", "app", True),
    ("classify", "classify", "app", True),
    ("tag", "tag", "app", True),
]


def build(only: str | None = None) -> typer.Typer:
    """The app with every command, or with only the command named ``only``.

    A one-off query (`nlpkit lm score ...`, `nlpkit analogy ...`) builds only its own command: Typer
    inspects the signature of every registered command at start-up, which costs more than the query.
    """
    root = typer.Typer(**_APP_SETTINGS)
    root.callback()(_root)
    for name, module, attr, group in COMMANDS:
        if only is None or name == only:
            obj = getattr(importlib.import_module(f"nlpkit_cli.{module}"), attr)
            if group:
                root.add_typer(obj, name=name)
            else:
                root.command(name)(obj)
    return root


def __getattr__(name: str) -> typer.Typer:
    """``nlpkit_cli.app.app``, the whole app, built on first use."""
    if name != "app":
        raise AttributeError(name)
    globals()["app"] = full = build()
    return full


_APP_SETTINGS = dict(
    cls=NlpkitGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Classic sequence models as command-line tools: tokenize, embed, score, translate.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nlpkit {__version__}")
        raise typer.Exit()


def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors (or set NLPKIT_DEBUG=1).")] = False,
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True)
    ] = False,
) -> None:
    """Results go to stdout, one record per input line; logs and progress go to stderr."""
    configure_logging(debug=debug)


def run_typer() -> None:
    """The command line through Typer; a one-off query builds only its own command."""
    first = sys.argv[1] if len(sys.argv) > 1 else None
    build(first if first in {c[0] for c in COMMANDS} else None)(prog_name="nlpkit")


def main() -> None:
    """Console-script entry point: the quick path if it takes the command line, else the Typer app."""
    run_main(lambda: quick.run(sys.argv[1:]) or run_typer())
