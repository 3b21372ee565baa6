"""Issue 16's safety features on the code paths main added: the training engine, the binary n-gram
writers (lm import/prune/filter/export) and the console-script entry point."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from nlpkit import artifacts

ROOT = Path(__file__).resolve().parent.parent
ARPA = """\\data\\
ngram 1=4
ngram 2=2

\\1-grams:
-1.0\t<unk>\t0
-99\t<s>\t-0.3
-0.5\t</s>\t0
-0.6\tthe\t-0.2

\\2-grams:
-0.2\t<s> the
-0.4\tthe </s>

\\end\\
"""
LSTM = ["--arch", "lstm", "--d-model", "8", "--d-hidden", "8", "--n-layers", "1", "--batch-size", "4", "--epochs", "1",
        "--threads", "1", "--device", "cpu", "--quiet"]


def one_line(result) -> str:
    err = result.stderr.strip()
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert "internal error" not in err and "Traceback" not in err
    return err


@pytest.fixture
def corpus(tmp_path) -> Path:
    path = tmp_path / "c.txt"
    path.write_text("the cat sat on the mat\na dog sat on the log\nthe cat saw a dog\n" * 4)
    return path


def test_an_engine_trainer_refuses_a_foreign_directory_at_job_start(cli, corpus, tmp_path, monkeypatch):
    from nlpkit.training.engine import Engine

    proj = tmp_path / "myproj"
    proj.mkdir()
    (proj / "config.json").write_text('{"name": "app"}')
    (proj / "notes.txt").write_text("precious")
    monkeypatch.setattr(Engine, "run", lambda self: pytest.fail("the job started"))
    err = one_line(cli(["lm", "train", corpus, "-o", proj, *LSTM]))
    assert "config.json that is not an nlpkit model" in err and "notes.txt" in err
    assert sorted(p.name for p in proj.iterdir()) == ["config.json", "notes.txt"]


def test_an_engine_trainer_refuses_another_kind_of_model_even_with_force(cli, corpus, tmp_path):
    ngram = tmp_path / "ng"
    assert cli(["lm", "train", corpus, "-o", ngram, "--order", "2", "-q"]).exit_code == 0
    assert "holds a ngram_lm model, not a neural_lm model" in one_line(cli(["lm", "train", corpus, "-o", ngram, *LSTM, "--force"]))
    assert json.loads((ngram / "config.json").read_text())["kind"] == "ngram_lm"


def test_retraining_keeps_the_files_the_user_added(cli, corpus, tmp_path):
    out = tmp_path / "m"
    assert cli(["lm", "train", corpus, "-o", out, *LSTM]).exit_code == 0
    (out / "eval_results.txt").write_text("mine")
    assert "--force" in one_line(cli(["lm", "train", corpus, "-o", out, *LSTM]))
    assert cli(["lm", "train", corpus, "-o", out, *LSTM, "--force"]).exit_code == 0
    assert (out / "eval_results.txt").read_text() == "mine"


def test_a_full_disk_at_an_engine_checkpoint_is_one_line_and_keeps_the_previous_one(cli, corpus, tmp_path, monkeypatch):
    from nlpkit.training import job as job_module

    out = tmp_path / "m"
    real = job_module.save_checkpoint
    calls = []

    def save(out_dir, state):
        calls.append(state["loop"]["step"])
        if len(calls) == 2:  # the second checkpoint meets a full disk
            real_write = os.write

            def full(fd, data):
                raise OSError(errno.ENOSPC, "No space left on device")

            monkeypatch.setattr(os, "write", full)
            try:
                return real(out_dir, state)
            finally:
                monkeypatch.setattr(os, "write", real_write)
        return real(out_dir, state)

    monkeypatch.setattr(job_module, "save_checkpoint", save)
    err = one_line(cli(["lm", "train", corpus, "-o", out, *LSTM, "--epochs", "2", "--checkpoint-every", "1"]))
    assert err.startswith(f"error: no space left on device writing {out / 'checkpoint.pt'}")
    assert artifacts.load_checkpoint(out)["loop"]["step"] == calls[0]
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt"]


def test_lm_import_and_prune_refuse_to_replace_without_force(cli, tmp_path):
    arpa = tmp_path / "m.arpa"
    arpa.write_text(ARPA)
    out = tmp_path / "ng"
    assert cli(["lm", "import", arpa, "-o", out]).exit_code == 0
    (out / "notes.txt").write_text("mine")
    assert "--force" in one_line(cli(["lm", "import", arpa, "-o", out]))
    assert cli(["lm", "import", arpa, "-o", out, "--force", "--quantize", "8"]).exit_code == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert json.loads((out / "config.json").read_text())["model"]["quantize"] == 8
    foreign = tmp_path / "hf"
    foreign.mkdir()
    (foreign / "config.json").write_text('{"model_type": "bert"}')
    assert "not an nlpkit model" in one_line(cli(["lm", "prune", "-m", out, "-o", foreign, "--force"]))
    assert "not an nlpkit model" in one_line(cli(["lm", "filter", "-m", out, "--vocab", arpa, "-o", foreign]))
    assert sorted(p.name for p in foreign.iterdir()) == ["config.json"]


def test_a_full_disk_during_lm_export_is_one_line_and_leaves_nothing(cli, tmp_path, monkeypatch):
    arpa = tmp_path / "m.arpa"
    arpa.write_text(ARPA)
    assert cli(["lm", "import", arpa, "-o", tmp_path / "ng"]).exit_code == 0
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.arpa").write_text("old")
    from nlpkit.lm import arpa as arpa_module

    def full(tables, path):
        Path(path).write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(arpa_module, "write_arpa", full)
    monkeypatch.setattr("nlpkit.lm.ngram_train.write_arpa", full)
    err = one_line(cli(["lm", "export", "-m", tmp_path / "ng", "-o", out / "old.arpa"]))
    assert err.startswith(f"error: no space left on device writing {out / 'old.arpa'}")
    assert sorted(p.name for p in out.iterdir()) == ["old.arpa"] and (out / "old.arpa").read_text() == "old"


def test_the_console_script_installs_the_sigterm_handler_and_version_stays_light():
    import subprocess
    import sys

    toml = (ROOT / "pyproject.toml").read_text()
    assert 'nlpkit = "nlpkit_cli.main:main"' in toml
    code = ("import sys, signal; sys.argv = ['nlpkit', '--version']; from nlpkit_cli.main import main; main(); "
            "print(sorted(m for m in ('typer', 'torch', 'numpy', 'nlpkit_cli.app') if m in sys.modules)); "
            "sys.argv = ['nlpkit', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(signal.getsignal(signal.SIGTERM).__name__)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120).stdout
    lines = out.splitlines()
    assert lines[0].startswith("nlpkit ") and lines[1] == "[]" and lines[-1] == "_raise_terminated"


def test_a_long_line_through_a_lowercasing_wordpiece_ngram_model_scores_as_a_whole(tmp_path, monkeypatch):
    import functools
    import random

    from nlpkit.lm import long_lines, score
    from nlpkit.lm.ngram_train import NgramConfig, load_ngram, train_ngram

    words = "The cat sat on a mat , while dogs barked at the moon . unbelievable pieces of text".split()
    rng = random.Random(1)
    corpus = tmp_path / "c.txt"
    corpus.write_text("".join(" ".join(rng.choice(words) for _ in range(12)) + "\n" for _ in range(200)))
    vocab = ROOT / "corpora" / "bert_vocab" / "vocab.txt"
    train_ngram([str(corpus)], tmp_path / "m", NgramConfig(order=3, lowercase=True, tokenizer=str(vocab)))
    model = load_ngram(tmp_path / "m")
    lines = ["the cat", " ".join(rng.choice(words) for _ in range(3000)) + " Zzqx", "a dog"]
    whole = list(score.ngram_scores(model, lines, False, score.Summary()))
    monkeypatch.setattr(score, "LONG_LINE", 500)
    monkeypatch.setattr(score, "score_long_line", functools.partial(long_lines.score_long_line, window=700))  # many windows
    windowed = list(score.ngram_scores(model, lines, False, score.Summary()))
    assert [(r.n_tokens, r.n_oov) for r in windowed] == [(r.n_tokens, r.n_oov) for r in whole]
    assert [r.log10_prob for r in windowed] == pytest.approx([r.log10_prob for r in whole], rel=1e-6)
    bad = list(score.ngram_scores(model, ["x " * 400 + "</s> y"], False, None))
    assert bad[0].error is not None and "<s>" in bad[0].error
