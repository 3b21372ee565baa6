"""The quick path of one-off queries: `lm score`, `analogy` and `similar` in their plain forms.

Typer (0.29) builds a pydantic validator for every parameter of the command it runs, which costs
more than scoring one sentence. A command line that names only ``-m/--model``, ``-f/--format``
and positional arguments is parsed here instead, and the same command function is called with
every other parameter at its declared default, inside the same error handling
(``_common.guarded``). Anything else (another option, ``--help``, ``--``, ``--opt=value``, a
value the option would refuse) goes to Typer as before, so the quick path never answers a
command line differently from the full one.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path
from typing import Any

# command words -> (module, function, name of its positional list parameter)
QUICK = {
    ("lm", "score"): ("nlpkit_cli.lm", "score_cmd", "inputs"),
    ("analogy",): ("nlpkit_cli.embed_query", "analogy_cmd", "queries"),
    ("similar",): ("nlpkit_cli.embed_query", "similar_cmd", "words"),
}
_OPTIONS = {"-m": "model", "--model": "model", "-f": "format", "--format": "format"}


def parse(argv: list[str]) -> tuple[Any, dict[str, Any]] | None:
    """The command function and its keyword arguments, or None when Typer must parse ``argv``."""
    for words, (module, name, positional) in QUICK.items():
        if tuple(argv[: len(words)]) == words:
            break
    else:
        return None
    given: dict[str, str] = {}
    rest: list[str] = []
    args = iter(argv[len(words) :])
    for arg in args:
        if arg in _OPTIONS:
            value = next(args, None)
            if value is None or _OPTIONS[arg] in given or value.startswith("-"):
                return None
            given[_OPTIONS[arg]] = value
        elif arg.startswith("-") and arg != "-":
            return None
        else:
            rest.append(arg)
    if "model" not in given:
        return None
    fn = getattr(importlib.import_module(module), name)
    kwargs = {p.name: p.default for p in inspect.signature(fn).parameters.values()}
    kwargs["model"], kwargs[positional] = Path(given["model"]), rest or None
    if "format" in given:
        try:
            kwargs["format"] = type(kwargs["format"])(given["format"])
        except ValueError:
            return None  # Typer says which values the option takes
    if any(v is inspect.Parameter.empty for v in kwargs.values()):
        return None  # a parameter without a default: only Typer knows what to say
    return fn, kwargs


def run(argv: list[str]) -> bool:
    """Run ``argv`` on the quick path if it can take it; False when Typer must."""
    parsed = parse(argv)
    if parsed is None:
        return False
    import typer

    from nlpkit.progress import configure_logging
    from nlpkit_cli._common import click_exceptions, guarded

    ClickException = click_exceptions.ClickException  # noqa: N806

    fn, kwargs = parsed
    configure_logging(debug=False)  # the root callback's work
    try:
        guarded(lambda: fn(**kwargs))
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except ClickException as exc:  # as Typer's standalone mode shows it
        exc.show()
        sys.exit(exc.exit_code)
    sys.exit(0)
