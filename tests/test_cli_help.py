"""Help renders the same way for every command (issue 11): plain text at 80 columns, no Rich
markup or emoji, no Python types as metavars, every option name whole, and an example at the end."""

import re

import pytest
import typer

from tests.test_cli_app import _command_paths

PY_TYPES = re.compile(r"<(?:bool|int|float|str|path|file|directory|list\[[^>]*\]|(?:int|float) range|[a-z]+\|[a-z|]+)>")


def _command(path):
    from nlpkit_cli.app import app

    cmd = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    return cmd


def _help(runner, path):
    from nlpkit_cli.app import app

    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"}, prog_name="nlpkit")
    assert result.exit_code == 0, (path, result.output)
    return result.output


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "root")
def test_help_renders_at_80_columns(runner, path):
    text = _help(runner, path)
    assert "…" not in text and not PY_TYPES.search(text), text
    assert not any(ord(ch) >= 0x2190 for ch in text), "emoji or symbols in help"
    assert all(len(line) <= 80 for line in text.splitlines()), max(text.splitlines(), key=len)
    for param in _command(path).params:
        if not getattr(param, "hidden", False):
            for opt in [*param.opts, *param.secondary_opts]:
                if opt.startswith("-"):
                    assert re.search(rf"(^|[ ,/]){re.escape(opt)}($|[ ,])", text, re.M), (opt, text)
    tail = text.rstrip().split("\n\n")[-1]
    assert tail.startswith("Example:") and "nlpkit" in tail, text


def test_analogy_help_keeps_the_query_syntax(runner):
    assert "a:b::c" in _help(runner, ["analogy"])


def test_long_commands_group_their_options(runner):
    text = _help(runner, ["translate", "train"])
    for panel in ("Input options:", "Model options:", "Training options:", "Output options:"):
        assert panel in text
    assert "--d-model N" in text and "--arch rnn-attn|rnn|transformer" in text


def test_root_help_lists_every_group(runner):
    text = _help(runner, [])
    for group in ("tokenize", "embed", "analogy", "similar", "lm", "translate", "classify", "bert"):
        assert re.search(rf"^  {group}\b", text, re.M), group
