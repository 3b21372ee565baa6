"""Shared fixtures. Tests use tmp_path only and never touch the network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "corpora"
BERT_VOCAB = CORPORA / "bert_vocab" / "vocab.txt"

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def runner():
    from typer.testing import CliRunner

    return CliRunner()


@pytest.fixture
def cli(runner):
    """Invoke the nlpkit app: cli(["tokenize", ...], input="...")."""
    from nlpkit_cli.app import app

    def invoke(args, input=None):
        return runner.invoke(app, [str(a) for a in args], input=input)

    return invoke


def interruptible() -> None:
    """``preexec_fn`` for a child that must see Ctrl-C: a shell starts background jobs (and so a test
    run started with ``&``) with SIGINT ignored, and Python then keeps it ignored in the child."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
