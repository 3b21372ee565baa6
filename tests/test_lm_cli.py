"""`nlpkit lm` end to end: train, score, generate, import, resume, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TEXT = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\nthe mat is red\n" * 5


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    p = tmp_path / "train.txt"
    p.write_text(TEXT)
    return p


def _one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_ngram_train_score_generate_import(cli, corpus, tmp_path):
    out = tmp_path / "ng"
    r = cli(["lm", "train", corpus, "-o", out, "--order", "3", "--quiet"])
    assert r.exit_code == 0, r.output
    assert {"model.arpa", "ngram.safetensors", "vocab.txt", "config.json"} <= {p.name for p in out.iterdir()}
    config = json.loads((out / "config.json").read_text())
    assert config["kind"] == "ngram_lm" and config["model"]["order"] == 3
    r = cli(["lm", "score", "-m", out, "-f", "jsonl"], input="the cat sat\n\nthe zebra\n")
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert [list(rec) for rec in records] == [["log10_prob", "tokens", "oov", "ppl"]] * 3
    assert [rec["tokens"] for rec in records] == [4, 1, 3] and [rec["oov"] for rec in records] == [0, 0, 1]
    r = cli(["lm", "score", "-m", out, "--per-token"], input="the cat\n")
    fields = r.stdout.strip().split("\t")
    # "cat </s>" was never seen: the last token backs off to the unigram
    assert len(fields) == 5 and [t.rsplit(":", 1)[1] for t in fields[4].split()] == ["2", "3", "1"]
    assert fields[4].split()[0].startswith("the=")
    r = cli(["lm", "generate", "-m", out, "--num", "3", "--prompt", "the", "--seed", "1"])
    samples = r.stdout.splitlines()
    assert r.exit_code == 0 and len(samples) == 3 and all(s.startswith("the") for s in samples)
    assert cli(["lm", "generate", "-m", out, "--num", "3", "--prompt", "the", "--seed", "1"]).stdout == r.stdout
    r = cli(["lm", "import", out / "model.arpa", "-o", tmp_path / "imported"])
    assert r.exit_code == 0, r.output
    a = cli(["lm", "score", "-m", tmp_path / "imported"], input="the dog sat\n").stdout
    b = cli(["lm", "score", "-m", out], input="the dog sat\n").stdout
    assert a == b


def test_score_summary_goes_to_stderr(cli, corpus, tmp_path):
    cli(["lm", "train", corpus, "-o", tmp_path / "ng", "--order", "2", "--quiet"])
    r = cli(["lm", "score", "-m", tmp_path / "ng", "--summary"], input="the cat\nthe zebra\n")
    assert len(r.stdout.splitlines()) == 2
    assert "perplexity" in r.stderr and "excluding OOVs" in r.stderr


def test_neural_train_score_generate_and_resume(cli, corpus, tmp_path, monkeypatch):
    from nlpkit.artifacts import load_torch_tensors
    from nlpkit.training.engine import Engine

    args = ["lm", "train", corpus, "--arch", "transformer", "--d-model", "16", "--n-heads", "2", "--n-layers", "1",
            "--d-ff", "32", "--max-len", "16", "--batch-size", "4", "--valid", corpus, "--epochs", "2",
            "--checkpoint-every", "2", "--threads", "1", "--quiet", "--device", "cpu", "--metrics"]
    whole, out = tmp_path / "whole", tmp_path / "tf"
    assert cli([*args, tmp_path / "whole.jsonl", "-o", whole]).exit_code == 0
    # A job killed mid-epoch 2 (5 batches an epoch) leaves the checkpoint of step 6, and --resume finishes it.
    real_step = Engine._step

    def dying_step(self, group):
        if self.state.step == 7:
            raise KeyboardInterrupt
        return real_step(self, group)

    monkeypatch.setattr(Engine, "_step", dying_step)
    assert cli([*args, tmp_path / "m.jsonl", "-o", out]).exit_code == 130
    assert (out / "checkpoint.pt").exists() and not (out / "config.json").exists()
    monkeypatch.undo()
    assert "--resume" in _one_error_line(cli([*args, tmp_path / "m.jsonl", "-o", out]))
    assert "--d-model" in _one_error_line(cli([*args, tmp_path / "m.jsonl", "-o", out, "--resume", "--d-model", "8"]))
    assert "--batch-size" in _one_error_line(cli([*args, tmp_path / "m.jsonl", "-o", out, "--resume", "--batch-size", "3"]))
    r = cli([*args, tmp_path / "m.jsonl", "-o", out, "--resume"])
    assert r.exit_code == 0, r.output
    config = json.loads((out / "config.json").read_text())
    assert [h["epoch"] for h in config["train"]["history"]] == [1, 2] and config["train"]["steps"] == 10
    assert config["arch"] == "transformer" and config["model"]["d_model"] == 16
    assert not (out / "checkpoint.pt").exists()
    a, b = load_torch_tensors(whole), load_torch_tensors(out)
    assert a.keys() == b.keys() and all(torch_equal(a[k], b[k]) for k in a)
    records = [json.loads(line) for line in (tmp_path / "whole.jsonl").read_text().splitlines()]
    evals = [r for r in records if r["event"] == "eval"]
    assert [r["epoch"] for r in evals] == [1, 2] and all({"step", "seconds", "loss", "lr", "valid_ppl"} <= set(r) for r in evals)
    resumed = [json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines()]
    figures = lambda recs: [(r["step"], r["loss"], r["lr"], r["valid_ppl"]) for r in recs if r["event"] == "eval"]  # noqa: E731
    assert figures(resumed) == figures(records)  # the killed run's epoch 1, then the resumed run's epoch 2
    r = cli(["lm", "score", "-m", out, "-f", "jsonl", "--device", "cpu"], input="the cat\n\n")
    assert [json.loads(line)["tokens"] for line in r.stdout.splitlines()] == [3, 1]
    r = cli(["lm", "generate", "-m", out, "--num", "2", "--max-tokens", "5", "--top-k", "3", "--device", "cpu"])
    assert r.exit_code == 0 and len(r.stdout.splitlines()) == 2


def torch_equal(x, y) -> bool:
    import torch

    return torch.equal(x, y)


def test_neural_flags_that_do_not_fit_the_arch_are_refused(cli, corpus, tmp_path):
    assert "--n-heads does not apply to --arch lstm" in _one_error_line(
        cli(["lm", "train", corpus, "-o", tmp_path / "m", "--arch", "lstm", "--n-heads", "2"]))
    assert "--n-heads" in _one_error_line(
        cli(["lm", "train", corpus, "-o", tmp_path / "m", "--arch", "transformer", "--d-model", "10", "--n-heads", "3"]))


def test_bad_input_gives_one_clear_line(cli, corpus, tmp_path):
    assert "--order" in _one_error_line(cli(["lm", "train", corpus, "-o", tmp_path / "a", "--order", "0"]))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    assert "empty" in _one_error_line(cli(["lm", "train", empty, "-o", tmp_path / "b"]))
    assert "empty" in _one_error_line(cli(["lm", "train", empty, "-o", tmp_path / "c", "--arch", "lstm"]))
    broken = tmp_path / "broken.arpa"
    broken.write_text("\\data\\\nngram 1=3\n\n\\1-grams:\n-1.0 <s>\n-0.5 a\n")
    assert "not a valid ARPA" in _one_error_line(cli(["lm", "import", broken, "-o", tmp_path / "d"]))
    broken.write_text("\\data\\\nngram 1=2\n\n\\1-grams:\n-1.0 <s>\nx </s>\n\n\\end\\\n")
    assert "not a number" in _one_error_line(cli(["lm", "import", broken, "-o", tmp_path / "e"]))
    assert "prune" in _one_error_line(cli(["lm", "train", corpus, "-o", tmp_path / "f", "--prune", "1,x"]))
    assert "model" in _one_error_line(cli(["lm", "score", "-m", tmp_path / "nothing"], )).lower()
    cli(["lm", "train", corpus, "-o", tmp_path / "g", "--order", "2", "--quiet"])
    assert "temperature" in _one_error_line(cli(["lm", "generate", "-m", tmp_path / "g", "--temperature", "0"]))


def test_line_buffered_scoring_matches_batched(cli, corpus, tmp_path):
    cli(["lm", "train", corpus, "-o", tmp_path / "ng", "--order", "3", "--quiet"])
    text = "the cat sat\n\nthe zebra\na dog\n"
    batched = cli(["lm", "score", "-m", tmp_path / "ng", "--block-buffered"], input=text).stdout
    interactive = cli(["lm", "score", "-m", tmp_path / "ng", "--line-buffered"], input=text).stdout
    assert batched == interactive and len(batched.splitlines()) == 4


def test_neural_model_on_wordpiece_pieces(cli, corpus, tmp_path):
    vocab = Path(__file__).resolve().parent.parent / "corpora" / "bert_vocab" / "vocab.txt"
    out = tmp_path / "gru"
    r = cli(["lm", "train", corpus, "-o", out, "--arch", "gru", "--tokenizer", vocab, "--d-model", "8", "--d-hidden", "8",
             "--n-layers", "1", "--epochs", "1", "--batch-size", "2", "--threads", "1", "--quiet", "--device", "cpu"])
    assert r.exit_code == 0, r.output
    assert (out / "tokenizer.json").exists() and json.loads((out / "config.json").read_text())["vocab"] == "wordpiece"
    r = cli(["lm", "score", "-m", out, "-f", "jsonl", "--per-token", "--device", "cpu"], input="the tokenization cat\n")
    rec = json.loads(r.stdout)
    assert rec["tokens"] == 4  # words + </s>, whatever the number of pieces
    assert len(rec["per_token"]) > 4 and rec["per_token"][-1]["token"] == "</s>"
