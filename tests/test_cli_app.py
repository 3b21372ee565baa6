"""Checks that hold for every command, including those added later: help works, and help is light."""

import subprocess
import sys

import typer

from tests.conftest import ROOT


def _command_paths():
    from nlpkit_cli.app import app

    root = typer.main.get_command(app)

    def walk(cmd, path):
        yield path
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, [*path, name])

    return list(walk(root, []))


def test_every_command_has_help(cli):
    paths = _command_paths()
    assert ["tokenize", "train"] in paths
    for path in paths:
        result = cli([*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output


def test_help_of_every_command_imports_no_torch_or_datasets():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from tests.test_cli_app import _command_paths\n"
        "from nlpkit_cli.app import app\n"
        "r = CliRunner()\n"
        "for path in _command_paths():\n"
        "    assert r.invoke(app, [*path, '--help']).exit_code == 0, path\n"
        "print(' '.join(m for m in ('torch', 'datasets', 'transformers', 'scipy', 'numba') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
