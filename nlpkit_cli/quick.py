"""The quick path of one-off queries: `lm score`, `analogy` and `similar` in their plain forms.

Importing typer (with its click, rich pieces and pydantic validators) costs more than scoring one
sentence. A command line that names only ``-m/--model``, ``-f/--format`` and positional arguments
is parsed here instead, and the command's Typer-free body is run with its options dataclass (the
one place the defaults are written; the Typer command takes its defaults from it too), with the
errors turned into one line and an exit code by the same ``_runtime.failure_exit`` as under Typer.
Anything else (another option, ``--help``, ``--``, ``--opt=value``, a value the option would
refuse) goes to Typer as before, so the quick path never answers a command line differently.
Nothing here imports typer, click, rich or pydantic.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

# command words -> (module, body function, options dataclass, name of its positional list field)
QUICK = {
    ("lm", "score"): ("nlpkit_cli.lm_score_run", "run_score", "ScoreOptions", "inputs"),
    ("analogy",): ("nlpkit_cli.embed_query_run", "run_analogy", "AnalogyOptions", "queries"),
    ("similar",): ("nlpkit_cli.embed_query_run", "run_similar", "SimilarOptions", "words"),
}
_OPTIONS = {"-m": "model", "--model": "model", "-f": "format", "--format": "format"}


def parse(argv: list[str]) -> tuple[Any, Any] | None:
    """The command's body and its options, or None when Typer must parse ``argv``."""
    for words, (module, name, options, positional) in QUICK.items():
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
    mod = importlib.import_module(module)
    cls = getattr(mod, options)
    kwargs: dict[str, Any] = {"model": Path(given["model"]), positional: rest or None}
    if "format" in given:
        try:
            kwargs["format"] = type(cls.format)(given["format"])  # the field's default is a member of its Enum
        except ValueError:
            return None  # Typer says which values the option takes
    return getattr(mod, name), cls(**kwargs)


def run(argv: list[str]) -> bool:
    """Run ``argv`` on the quick path if it can take it (and exit); False when Typer must."""
    parsed = parse(argv)
    if parsed is None:
        return False
    from nlpkit.progress import configure_logging
    from nlpkit_cli._runtime import HANDLED, env_debug, failure_exit

    body, opts = parsed
    configure_logging(debug=False)  # the root callback's work
    try:
        body(opts)
    except HANDLED as exc:
        code = failure_exit(exc, env_debug)
        if code is None:
            raise
        sys.exit(code)
    sys.exit(0)
