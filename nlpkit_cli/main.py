"""The `nlpkit` console script. `nlpkit --version` answers before anything heavy is imported.

`--version` alone only needs the version string, so it skips typer, rich and numpy and starts in the
time Python itself takes. The plain forms of one-off queries (`lm score`, `analogy`, `similar`) run
on the quick path (``nlpkit_cli.quick``), which imports no typer either. Every other invocation
builds the Typer app (`nlpkit_cli.app`).
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from nlpkit import __version__

        sys.stdout.write(f"nlpkit {__version__}\n")
        return
    from nlpkit_cli import quick
    from nlpkit_cli._runtime import run_main

    run_main(lambda: quick.run(sys.argv[1:]) or _typer())


def _typer() -> None:
    from nlpkit_cli.app import run_typer

    run_typer()


if __name__ == "__main__":
    main()
