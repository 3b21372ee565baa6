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

TYPE_CHECKING = False  # typing costs ~3 ms to import: a one-off query skips it
if TYPE_CHECKING:
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
    from nlpkit_cli._runtime import HANDLED, env_debug, failure_exit

    body, opts = parsed
    _configure_logging_when_imported()  # the root callback's work
    try:
        body(opts)
    except HANDLED as exc:
        code = failure_exit(exc, env_debug)
        if code is None:
            raise
        sys.exit(code)
    sys.exit(0)


def _configure_logging_when_imported() -> None:
    """``configure_logging`` as soon as any module imports ``logging``, not before.

    A plain analogy or similar query logs nothing and imports no module that logs; importing
    ``logging`` (with traceback, threading, weakref, string) would be a tenth of its cost. A module
    that does import it (a fallback path, a bad line's warning) finds the logger configured as
    the Typer path configures it, before it can log.
    """
    if "logging" in sys.modules:
        from nlpkit.progress import configure_logging

        configure_logging(debug=False)
        return

    class _Hook:
        @staticmethod
        def find_spec(name: str, path: Any = None, target: Any = None) -> Any:
            if name != "logging":
                return None
            sys.meta_path.remove(_Hook)
            from importlib.machinery import PathFinder

            spec = PathFinder.find_spec(name, path)
            if spec is None or spec.loader is None:
                return spec
            run = spec.loader.exec_module

            def exec_module(module: Any) -> None:
                run(module)
                from nlpkit.progress import configure_logging

                configure_logging(debug=False)

            spec.loader.exec_module = exec_module  # type: ignore[method-assign]
            return spec

    sys.meta_path.insert(0, _Hook)  # type: ignore[arg-type]
