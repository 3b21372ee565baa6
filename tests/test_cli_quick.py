"""The quick path of `lm score`, `analogy` and `similar` (``nlpkit_cli.quick``) answers exactly as Typer does."""

from __future__ import annotations

import inspect
import os
import re
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


def test_a_plain_command_line_runs_the_body_with_its_options():
    from nlpkit_cli.embed_query_run import SimilarOptions, run_similar
    from nlpkit_cli.lm_score_run import ScoreFormat, ScoreOptions, run_score
    from nlpkit_cli.quick import parse

    body, opts = parse(["lm", "score", "-m", "d", "a.txt", "-f", "jsonl", "-"])
    assert body is run_score and opts == ScoreOptions(model=Path("d"), format=ScoreFormat.jsonl, inputs=["a.txt", "-"])
    body, opts = parse(["similar", "--model", "v"])
    assert body is run_similar and opts == SimilarOptions(model=Path("v")) and opts.words is None and opts.top_k == 10


def test_options_records_act_like_frozen_dataclasses():
    from nlpkit_cli._options import fields
    from nlpkit_cli.embed_query_run import SimilarOptions

    assert fields(SimilarOptions)[:3] == ("model", "words", "top_k")
    opts = SimilarOptions(model=Path("v"), top_k=3)
    assert (opts.top_k, opts.format, opts.words) == (3, SimilarOptions.format, None)
    assert opts == SimilarOptions(model=Path("v"), top_k=3) != SimilarOptions(model=Path("v"))
    assert "top_k=3" in repr(opts)
    with pytest.raises(AttributeError):
        opts.top_k = 4
    with pytest.raises(TypeError):
        SimilarOptions(top_k=3)  # model has no default
    with pytest.raises(TypeError):
        SimilarOptions(model=Path("v"), topk=3)


@pytest.mark.parametrize("command, options", [
    ("nlpkit_cli.lm:score_cmd", "nlpkit_cli.lm_score_run:ScoreOptions"),
    ("nlpkit_cli.embed_query:analogy_cmd", "nlpkit_cli.embed_query_run:AnalogyOptions"),
    ("nlpkit_cli.embed_query:similar_cmd", "nlpkit_cli.embed_query_run:SimilarOptions"),
])
def test_the_typer_command_and_the_quick_path_share_every_default(command, options):
    import importlib

    from nlpkit_cli._options import fields

    def load(spec):
        module, name = spec.split(":")
        return getattr(importlib.import_module(module), name)

    params = inspect.signature(load(command)).parameters
    cls = load(options)
    for name in fields(cls):
        if name != "model":
            assert params[name].default == getattr(cls, name), name
    assert set(fields(cls)) <= set(params) and "model" in fields(cls)


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


@pytest.mark.parametrize("args", [["lm", "score", "-m", "{ng}", "{text}"], ["analogy", "-m", "{vec}", "king:man::woman"],
                                  ["similar", "-m", "{vec}", "-f", "jsonl", "nope"], ["lm", "score", "-m", "{missing}"]])
def test_the_quick_path_imports_no_cli_framework(cli, tmp_path, args):
    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT)
    assert cli(["lm", "train", corpus, "-o", tmp_path / "ng", "--order", "2", "--quiet"]).exit_code == 0
    vec = tmp_path / "v.vec"
    vec.write_text("4 2\nking 1 0.1\nman 0.9 0.5\nwoman 0.1 1\nqueen 0.2 0.9\n")
    assert cli(["embed", "import", vec, "-o", tmp_path / "v"]).exit_code == 0
    paths = {"ng": tmp_path / "ng", "text": corpus, "vec": tmp_path / "v", "missing": tmp_path / "nothing"}
    argv = [a.format(**paths) for a in args]
    code = ("import atexit, sys\n"
            "heavy = {'typer', 'click', 'rich', 'pydantic', 'torch', 'datasets', 'transformers'}\n"
            "atexit.register(lambda: sys.stderr.write('loaded: %s\\n' % sorted("
            "{m.split('.')[0] for m in sys.modules} & heavy)))\n"
            f"sys.argv = ['nlpkit', *{argv!r}]\n"
            "from nlpkit_cli.main import main\nmain()\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], input="x\n", capture_output=True, text=True, env=env, cwd=ROOT,
                         timeout=120)
    assert out.returncode == (1 if "{missing}" in args else 0), out.stderr
    assert out.stderr.splitlines()[-1] == "loaded: []"


def test_a_plain_query_imports_neither_logging_nor_typing_but_still_logs_its_warnings(cli, tmp_path):
    vec = tmp_path / "v.vec"
    vec.write_text("4 2\nking 1 0.1\nman 0.9 0.5\nwoman 0.1 1\nqueen 0.2 0.9\n")
    assert cli(["embed", "import", vec, "-o", tmp_path / "v"]).exit_code == 0
    code = ("import atexit, sys\n"
            "atexit.register(lambda: sys.stderr.write('loaded: %s\\n' % sorted("
            "{'logging', 'typing', 'dataclasses', 'numpy'} & set(sys.modules))))\n"
            "sys.argv = ['nlpkit', *sys.argv[1:]]\n"
            "from nlpkit_cli.main import main\nmain()\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}

    def run(*queries: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", code, "analogy", "-m", str(tmp_path / "v"), *queries],
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)

    plain = run("king:man::woman")
    assert plain.returncode == 0 and plain.stderr.splitlines() == ["loaded: []"]
    bad = run("king:man::woman", "what is this")  # a bad line: its warning goes through the configured logger
    lines = bad.stderr.splitlines()
    assert bad.returncode == 0 and "logging" in lines[-1]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ warning: line 2: not in vocabulary: .*", lines[0])
