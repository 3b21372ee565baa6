"""The quick path of `lm score`, `analogy` and `similar` (``nlpkit_cli.quick``) answers exactly as Typer does."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

TEXT = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\n" * 5


@pytest.mark.parametrize("argv", [
    ["lm", "score"],  # no model
    ["lm", "score", "-m", "d", "--per-token"],
    ["lm", "score", "-m", "d", "-f", "xml"],
    ["lm", "score", "--model=d"],
    ["lm", "score", "-m", "d", "-m", "e"],
    ["lm", "score", "-m"],
    ["lm", "score", "-m", "d", "--", "x"],
    ["lm", "score", "-m", "d", "--help"],
    ["lm", "train", "-m", "d"],
    ["similar", "-m", "d", "-k", "3", "king"],
    ["--debug", "similar", "-m", "d", "king"],
    ["tokenize", "-m", "d"],
])
def test_other_command_lines_are_left_to_typer(argv):
    from nlpkit_cli.quick import parse

    assert parse(argv) is None


def test_a_plain_command_line_calls_the_command_with_its_defaults():
    from nlpkit_cli.embed_query import similar_cmd
    from nlpkit_cli.lm import ScoreFormat, score_cmd
    from nlpkit_cli.quick import parse

    fn, kwargs = parse(["lm", "score", "-m", "d", "a.txt", "-f", "jsonl", "-"])
    defaults = {p.name: p.default for p in inspect.signature(score_cmd).parameters.values()}
    assert fn is score_cmd and kwargs == {**defaults, "model": Path("d"), "format": ScoreFormat.jsonl, "inputs": ["a.txt", "-"]}
    fn, kwargs = parse(["similar", "--model", "v"])
    assert fn is similar_cmd and kwargs["words"] is None and kwargs["top_k"] == 10


def _nlpkit(args: list, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "nlpkit_cli", *map(str, args)], input=stdin, capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)


def test_the_quick_path_prints_what_typer_prints(cli, tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT)
    assert cli(["lm", "train", corpus, "-o", tmp_path / "ng", "--order", "3", "--quiet"]).exit_code == 0
    vec = tmp_path / "v.vec"
    vec.write_text("4 2\nking 1 0.1\nman 0.9 0.5\nwoman 0.1 1\nqueen 0.2 0.9\n")
    assert cli(["embed", "import", vec, "-o", tmp_path / "v"]).exit_code == 0
    cases = [(["lm", "score", "-m", tmp_path / "ng"], "the cat sat\na dog\n\n"),
             (["lm", "score", "-m", tmp_path / "ng", "-f", "jsonl", corpus], ""),
             (["analogy", "-m", tmp_path / "v", "king:man::woman"], ""),
             (["similar", "-m", tmp_path / "v", "-f", "jsonl"], "king\nnope\n"),
             (["lm", "score", "-m", tmp_path / "nothing"], "x\n")]
    for args, stdin in cases:
        quick, slow = _nlpkit(args, stdin), cli(args, input=stdin)
        assert (quick.returncode, quick.stdout) == (slow.exit_code, slow.stdout), args
        if slow.exit_code:
            assert quick.stderr.strip() == slow.output.strip().splitlines()[-1]  # the one error line
