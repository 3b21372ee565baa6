"""A few lines scored without numpy (``nlpkit.lm.ngram_few``) give exactly the vectorised scorer's records."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nlpkit.lm.ngram_few import FEW, FewScorer
from nlpkit.lm.ngram_train import NgramConfig, train_ngram
from nlpkit.lm.score import score_lines
from tests.conftest import ROOT

TEXT = ("The cat sat on the mat .\nthe dog sat on the log .\na cat and a dog sat\nthe mat and the log\n"
        "a dog on a mat\nthe café and the naïve cat\n") * 4
LINES = ["the cat sat on the log", "", "The Dog ate a zebra", "a <unk> cat", "mat mat mat mat mat mat", "unseen",
         "  the   cat  ", "the naïve cat sat", "café"]


@pytest.mark.parametrize("cfg", [NgramConfig(order=3), NgramConfig(order=4, quantize=8, lowercase=True),
                                 NgramConfig(order=2, prune=[0, 1]), NgramConfig(order=1)],
                         ids=["order3", "quantized-lowercase", "pruned", "unigram"])
def test_few_lines_score_exactly_as_the_vectorised_scorer(tmp_path, cfg):
    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT)
    train_ngram([str(corpus)], tmp_path / "m", cfg)
    scorer = FewScorer.open(tmp_path / "m")
    assert scorer is not None
    got = scorer.scores(LINES)
    assert got == list(score_lines(tmp_path / "m", LINES))  # log10 p to the last bit, tokens, OOVs
    assert got[3].n_oov == 1 and got[1].n_tokens == 1


def test_what_the_few_scorer_leaves_to_the_vectorised_one(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT)
    train_ngram([str(corpus)], tmp_path / "m", NgramConfig(order=2))
    scorer = FewScorer.open(tmp_path / "m")
    assert scorer.scores(["a cat"] * (FEW + 1)) is None
    assert scorer.scores(["a cat", "<s> a cat"]) is None  # a marker: the error record is the full scorer's


def test_one_sentence_is_scored_without_importing_numpy(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT)
    train_ngram([str(corpus)], tmp_path / "m", NgramConfig(order=3))
    code = ("import sys\nsys.argv = ['nlpkit', 'lm', 'score', '-m', sys.argv[1]]\n"
            "import atexit\natexit.register(lambda: sys.stderr.write(str('numpy' in sys.modules)))\n"
            "from nlpkit_cli.main import main\nmain()\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "m")], input="the cat sat\n", capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=120)
    expected = list(score_lines(tmp_path / "m", ["the cat sat"]))[0]
    assert out.returncode == 0 and out.stderr == "False"
    assert out.stdout.split("\t")[:3] == [f"{expected.log10_prob:.6g}", "4", "0"]


def test_lines_read_ahead_are_put_back_for_the_vectorised_scorer(tmp_path, cli):
    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT)
    train_ngram([str(corpus)], tmp_path / "m", NgramConfig(order=3))
    lines = [f"{LINES[i % len(LINES)]} {i}" for i in range(FEW + 3)]
    out = cli(["lm", "score", "-m", tmp_path / "m", "-f", "jsonl"], input="\n".join(lines) + "\n")
    assert out.exit_code == 0
    expected = list(score_lines(tmp_path / "m", lines))
    got = [line for line in out.stdout.splitlines() if line]
    assert len(got) == FEW + 3
    assert [f'"text": "{r.text}"' in g for r, g in zip(expected, got)] == [True] * (FEW + 3)
