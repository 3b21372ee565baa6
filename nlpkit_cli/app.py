"""The toolkit's table of contents: every command group is registered here, explicitly."""

from __future__ import annotations

import os
import signal
import sys
from typing import Annotated

import typer

from nlpkit import __version__
from nlpkit.progress import configure_logging
from nlpkit_cli import tokenize
from nlpkit_cli import embed, embed_query
from nlpkit_cli import bert
from nlpkit_cli import lm
from nlpkit_cli import translate
from nlpkit_cli import classify
from nlpkit_cli import tag
from nlpkit_cli._common import EXIT_INTERRUPT, EXIT_TERMINATED, NlpkitGroup, handle_sigterm, was_terminated

app = typer.Typer(
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


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors (or set NLPKIT_DEBUG=1).")] = False,
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True)
    ] = False,
) -> None:
    """Results go to stdout, one record per input line; logs and progress go to stderr."""
    configure_logging(debug=debug)


app.add_typer(tokenize.app, name="tokenize")
app.add_typer(embed.app, name="embed")
app.command("analogy")(embed_query.analogy_cmd)
app.command("similar")(embed_query.similar_cmd)
app.add_typer(bert.app, name="bert")
app.add_typer(lm.app, name="lm")
app.add_typer(translate.app, name="translate")
app.add_typer(classify.app, name="classify")
app.add_typer(tag.app, name="tag")


def main() -> None:
    """Console-script entry point: die quietly on a closed pipe, as Unix tools do."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    handle_sigterm()
    try:
        app(prog_name="nlpkit")
    except SystemExit as exc:
        if was_terminated() and exc.code in (0, None):  # the signal's exception was swallowed somewhere
            typer.echo("terminated", err=True)
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
