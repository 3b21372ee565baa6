"""The `nlpkit` console script. `nlpkit --version` answers before anything heavy is imported.

Every other invocation builds the Typer app (`nlpkit_cli.app`); `--version` alone only needs the
version string, so it skips typer, rich and numpy and starts in the time Python itself takes.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from nlpkit import __version__

        sys.stdout.write(f"nlpkit {__version__}\n")
        return
    from nlpkit_cli.app import main as app_main

    app_main()


if __name__ == "__main__":
    main()
