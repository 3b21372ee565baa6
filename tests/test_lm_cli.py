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


def test_ngram_train_under_a_tiny_memory_budget_writes_the_same_files(cli, corpus, tmp_path):
    temp = tmp_path / "temp"
    temp.mkdir()
    base = ["lm", "train", corpus, "--order", "3", "--arpa", "--quiet"]
    assert cli([*base, "-o", tmp_path / "mem"]).exit_code == 0
    r = cli([*base, "-o", tmp_path / "disk", "--memory", "1K", "--temp-dir", temp])
    assert r.exit_code == 0, r.output
    for name in ("model.arpa", "ngram.bin"):
        assert (tmp_path / "mem" / name).read_bytes() == (tmp_path / "disk" / name).read_bytes()
    assert list(temp.iterdir()) == []
    assert json.loads((tmp_path / "disk" / "config.json").read_text())["model"]["memory"] == "1K"
    assert "--temp-dir" in _one_error_line(cli([*base, "-o", tmp_path / "x", "--temp-dir", tmp_path / "absent"]))


def test_ngram_train_score_generate_import(cli, corpus, tmp_path):
    out = tmp_path / "ng"
    r = cli(["lm", "train", corpus, "-o", out, "--order", "3", "--quiet"])
    assert r.exit_code == 0, r.output
    assert {p.name for p in out.iterdir()} == {"ngram.bin", "vocab.txt", "config.json"}
    config = json.loads((out / "config.json").read_text())
    assert config["kind"] == "ngram_lm" and config["model"]["order"] == 3
    r = cli(["lm", "score", "-m", out, "-f", "jsonl"], input="the cat sat\n\nthe zebra\n")
    records = [json.loads(line) for line in r.stdout.splitlines()]
    keys = ["text", "log10_prob", "n_tokens", "n_oov", "ppl", "tokens", "oov"]
    assert [list(rec) for rec in records] == [keys] * 3
    assert [rec["text"] for rec in records] == ["the cat sat", "", "the zebra"]
    assert [rec["n_tokens"] for rec in records] == [4, 1, 3] and [rec["n_oov"] for rec in records] == [0, 0, 1]
    assert all(rec["tokens"] == rec["n_tokens"] and rec["oov"] == rec["n_oov"] for rec in records)  # deprecated aliases
    r = cli(["lm", "score", "-m", out, "--per-token"], input="the cat\n")
    fields = r.stdout.strip().split("\t")
    # "cat </s>" was never seen: the last token backs off to the unigram
    assert len(fields) == 5 and [t.rsplit(":", 1)[1] for t in fields[4].split()] == ["2", "3", "1"]
    assert fields[4].split()[0].startswith("the=")
    r = cli(["lm", "generate", "-m", out, "--num", "3", "--prompt", "the", "--seed", "1"])
    samples = r.stdout.splitlines()
    assert r.exit_code == 0 and len(samples) == 3 and all(s.startswith("the") for s in samples)
    assert cli(["lm", "generate", "-m", out, "--num", "3", "--prompt", "the", "--seed", "1"]).stdout == r.stdout
    r = cli(["lm", "export", "-m", out, "-o", tmp_path / "m.arpa"])
    assert r.exit_code == 0, r.output
    r = cli(["lm", "import", tmp_path / "m.arpa", "-o", tmp_path / "imported"])
    assert r.exit_code == 0, r.output
    a = cli(["lm", "score", "-m", tmp_path / "imported"], input="the dog sat\n").stdout
    b = cli(["lm", "score", "-m", out], input="the dog sat\n").stdout
    assert a == b


def test_score_summary_goes_to_stderr(cli, corpus, tmp_path):
    cli(["lm", "train", corpus, "-o", tmp_path / "ng", "--order", "2", "--quiet"])
    r = cli(["lm", "score", "-m", tmp_path / "ng", "--summary"], input="the cat\nthe zebra\n")
    assert len(r.stdout.splitlines()) == 2
    lines = r.stderr.splitlines()
    assert lines[0].startswith("lines 2  n_tokens 6  n_oov 1")
    # OOVs present: the OOV-excluded perplexity comes first
    assert lines[1].startswith("perplexity ") and "(excluding 1 OOV tokens)" in lines[1].split(",")[0]
    r = cli(["lm", "score", "-m", tmp_path / "ng", "--summary"], input="the cat\n")
    assert "(no OOVs)" in r.stderr


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
    assert [json.loads(line)["n_tokens"] for line in r.stdout.splitlines()] == [3, 1]
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
    assert rec["n_tokens"] == 4  # words + </s>, whatever the number of pieces
    assert len(rec["per_token"]) > 4 and rec["per_token"][-1]["token"] == "</s>"


# -- issue 11's contract: OOVs visible, records carry text, bad lines, --echo, open vocabulary --------------


def test_ngram_per_token_marks_oovs(cli, corpus, tmp_path):
    cli(["lm", "train", corpus, "-o", tmp_path / "ng", "--order", "3", "--quiet"])
    r = cli(["lm", "score", "-m", tmp_path / "ng", "-f", "jsonl", "--per-token"], input="the pear sat\n")
    rec = json.loads(r.stdout)
    assert rec["text"] == "the pear sat" and rec["n_oov"] == 1
    pear = rec["per_token"][1]
    assert pear == {"token": "pear", "scored_as": "<unk>", "log10_prob": pear["log10_prob"], "ngram": 1, "oov": True}
    assert [t["oov"] for t in rec["per_token"]] == [False, True, False, False]
    assert [t["scored_as"] for t in rec["per_token"]] == ["the", "<unk>", "sat", "</s>"]
    r = cli(["lm", "score", "-m", tmp_path / "ng", "--per-token", "--echo"], input="the pear sat\n")
    cells = r.stdout.rstrip("\n").split("\t")
    assert cells[-1] == "the pear sat" and len(cells) == 6
    assert cells[4].split()[1].startswith("pear[<unk>]=") and cells[4].split()[0].startswith("the=")


def test_neural_per_token_marks_oovs_like_ngram(cli, corpus, tmp_path):
    import torch

    torch.set_num_threads(1)
    out = tmp_path / "gru"
    r = cli(["lm", "train", corpus, "-o", out, "--arch", "gru", "--d-model", "8", "--d-hidden", "8", "--n-layers", "1",
             "--epochs", "1", "--batch-size", "2", "--quiet", "--device", "cpu"])
    assert r.exit_code == 0, r.output
    r = cli(["lm", "score", "-m", out, "-f", "jsonl", "--per-token", "--device", "cpu"], input="the pear sat\n")
    rec = json.loads(r.stdout)
    assert [list(t) for t in rec["per_token"]] == [["token", "scored_as", "log10_prob", "oov"]] * 4
    assert rec["per_token"][1]["token"] == "pear" and rec["per_token"][1]["scored_as"] == "<unk>"
    assert [t["oov"] for t in rec["per_token"]] == [False, True, False, False] and rec["n_oov"] == 1
    r = cli(["lm", "score", "-m", out, "--per-token", "--device", "cpu"], input="the pear sat\n")
    assert "pear[<unk>]=" in r.stdout


def test_bad_lines_get_error_records_and_strict_stops(cli, corpus, tmp_path):
    cli(["lm", "train", corpus, "-o", tmp_path / "ng", "--order", "2", "--quiet"])
    text = "the cat\nthe <s> cat\na dog\na </s>\n"
    r = cli(["lm", "score", "-m", tmp_path / "ng", "-f", "jsonl"], input=text)
    assert r.exit_code == 0
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [rec["text"] for rec in recs] == ["the cat", "the <s> cat", "a dog", "a </s>"]
    assert "error" in recs[1] and "error" in recs[3] and "error" not in recs[0] and "log10_prob" in recs[2]
    assert "line 2" in r.stderr
    r = cli(["lm", "score", "-m", tmp_path / "ng", "--echo"], input=text)
    assert r.stdout.splitlines()[1] == "NA\tNA\tNA\tNA\tthe <s> cat"
    r = cli(["lm", "score", "-m", tmp_path / "ng", "--strict"], input=text)
    assert r.exit_code == 1 and "line 2" in r.stderr


def test_wordpiece_ngram_model_has_no_oovs(cli, corpus, tmp_path):
    from tests.conftest import BERT_VOCAB

    out = tmp_path / "wp"
    r = cli(["lm", "train", corpus, "-o", out, "--order", "3", "--tokenizer", BERT_VOCAB, "--quiet"])
    assert r.exit_code == 0, r.output
    assert (out / "tokenizer.json").exists()
    r = cli(["lm", "score", "-m", out, "-f", "jsonl", "--per-token"], input="the tokenization sat\nThe pear sat\n")
    a, b = (json.loads(line) for line in r.stdout.splitlines())
    assert a["n_tokens"] == b["n_tokens"] == 4  # words + </s>: perplexity stays per word
    pieces = [t["token"] for t in a["per_token"]]
    assert pieces == ["the", "token", "##ization", "sat", "</s>"]
    # none of these pieces (nor "pear") was in the training text, yet none is OOV: open vocabulary
    assert a["n_oov"] == b["n_oov"] == 0 and not any(t["oov"] for t in a["per_token"] + b["per_token"])
    assert b["per_token"][1]["token"] == "pear" and b["per_token"][1]["scored_as"] == "pear"
    # an unseen piece costs more than a seen one
    assert a["per_token"][1]["log10_prob"] < b["per_token"][0]["log10_prob"]
    r = cli(["lm", "generate", "-m", out, "--num", "2", "--prompt", "the", "--seed", "1"])
    assert r.exit_code == 0 and all("##" not in s for s in r.stdout.splitlines())


def test_lowercase_is_stored_and_applied(cli, corpus, tmp_path):
    cli(["lm", "train", corpus, "-o", tmp_path / "lc", "--order", "2", "--lowercase", "--quiet"])
    cli(["lm", "train", corpus, "-o", tmp_path / "plain", "--order", "2", "--quiet"])
    assert json.loads((tmp_path / "lc" / "config.json").read_text())["model"]["lowercase"] is True
    lc = [json.loads(x) for x in cli(["lm", "score", "-m", tmp_path / "lc", "-f", "jsonl", "--per-token"],
                                       input="The CAT sat\nthe cat sat\n").stdout.splitlines()]
    assert lc[0]["log10_prob"] == lc[1]["log10_prob"] and lc[0]["n_oov"] == 0
    assert lc[0]["per_token"][1]["token"] == "CAT" and lc[0]["per_token"][1]["scored_as"] == "cat"
    plain = json.loads(cli(["lm", "score", "-m", tmp_path / "plain", "-f", "jsonl"], input="The CAT sat\n").stdout)
    assert plain["n_oov"] == 2
    r = cli(["lm", "generate", "-m", tmp_path / "lc", "--prompt", "THE", "--seed", "0"])
    assert r.exit_code == 0 and r.stdout.startswith("THE")


def test_fast_jsonl_equals_dumps_and_threads_keep_order(cli, corpus, tmp_path):
    from nlpkit.lm.score import LineScore
    from nlpkit_cli._records import dumps, fnum
    from nlpkit_cli.lm_format import format_record

    for text in ["plain words", 'a "quoted" \\ back', "tab\there", "ünïcode ok", ""]:
        rec = LineScore(text, -12.3456789, 5, 1)
        slow = dumps({"text": text, "log10_prob": fnum(rec.log10_prob), "n_tokens": 5, "n_oov": 1,
                      "ppl": fnum(rec.ppl), "tokens": 5, "oov": 1})
        assert format_record(rec, "jsonl", False) == slow
    cli(["lm", "train", corpus, "-o", tmp_path / "ng", "--order", "3", "--quiet"])
    text = "".join(f"{line}\n" for line in TEXT.splitlines() * 30)
    from nlpkit.lm import score as score_mod

    one = cli(["lm", "score", "-m", tmp_path / "ng", "-f", "jsonl"], input=text).stdout
    old = score_mod.NGRAM_BATCH
    score_mod.NGRAM_BATCH = 7  # many small batches in flight at once
    try:
        many = cli(["lm", "score", "-m", tmp_path / "ng", "-f", "jsonl", "--threads", "3"], input=text).stdout
    finally:
        score_mod.NGRAM_BATCH = old
    assert many == one and len(one.splitlines()) == 600


def test_prune_and_filter_commands(cli, corpus, tmp_path):
    cli(["lm", "train", corpus, "-o", tmp_path / "ng", "--order", "3", "--quiet"])
    r = cli(["lm", "prune", "-m", tmp_path / "ng", "--threshold", "0.01", "-o", tmp_path / "p", "--eval", corpus])
    assert r.exit_code == 0, r.output
    assert "perplexity on" in r.stderr and "before" in r.stderr
    pruned = json.loads((tmp_path / "p" / "config.json").read_text())["train"]
    full = json.loads((tmp_path / "ng" / "config.json").read_text())["train"]
    assert sum(pruned["ngrams"]) < sum(full["ngrams"]) and pruned["pruned"]["threshold"] == 0.01
    (tmp_path / "v.txt").write_text("the cat sat on mat\n")
    r = cli(["lm", "filter", "-m", tmp_path / "ng", "--vocab", tmp_path / "v.txt", "-o", tmp_path / "f"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "f" / "vocab.txt").read_text().split() == ["<unk>", "<s>", "</s>", "the", "cat", "sat", "on", "mat"]
    a = cli(["lm", "score", "-m", tmp_path / "f"], input="the cat sat on the mat\n").stdout
    b = cli(["lm", "score", "-m", tmp_path / "ng"], input="the cat sat on the mat\n").stdout
    assert a == b


def test_interpolate_ngram_and_neural(cli, corpus, tmp_path):
    import torch

    torch.set_num_threads(1)
    cli(["lm", "train", corpus, "-o", tmp_path / "kn3", "--order", "3", "--quiet"])
    cli(["lm", "train", corpus, "-o", tmp_path / "kn1", "--order", "1", "--quiet"])
    r = cli(["lm", "train", corpus, "-o", tmp_path / "gru", "--arch", "gru", "--d-model", "8", "--d-hidden", "8",
             "--n-layers", "1", "--epochs", "1", "--batch-size", "2", "--quiet", "--device", "cpu"])
    assert r.exit_code == 0, r.output
    tune = tmp_path / "tune.txt"
    tune.write_text("the cat sat on the log\na dog and a cat\nthe mat is red\nthe zebra sat\n")
    r = cli(["lm", "interpolate", "-m", tmp_path / "kn3", "-m", tmp_path / "kn1", "-m", tmp_path / "gru",
             "--tune", tune, "-o", tmp_path / "mix", "--device", "cpu"])
    assert r.exit_code == 0, r.output
    config = json.loads((tmp_path / "mix" / "config.json").read_text())
    weights, ppl = config["model"]["weights"], config["train"]["ppl"]
    assert config["kind"] == "lm_mix" and len(weights) == 3 and sum(weights) == pytest.approx(1.0)
    assert config["train"]["mix_ppl"] <= min(ppl.values()) * (1 + 1e-9)
    # lm score -m MIX gives the same corpus perplexity as the tuning run, in the usual schema
    r = cli(["lm", "score", "-m", tmp_path / "mix", "-f", "jsonl", "--per-token", "--device", "cpu"], input=tune.read_text())
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    total = sum(rec["log10_prob"] for rec in recs)
    n = sum(len(rec["per_token"]) for rec in recs)
    assert 10 ** (-total / n) == pytest.approx(config["train"]["mix_ppl"], rel=1e-4)
    assert recs[3]["per_token"][1]["token"] == "zebra" and recs[3]["per_token"][1]["oov"] is True
    wp = tmp_path / "wp"
    cli(["lm", "train", corpus, "-o", wp, "--order", "2", "--tokenizer", Path(__file__).parent.parent / "corpora/bert_vocab/vocab.txt", "-q"])
    r = cli(["lm", "interpolate", "-m", tmp_path / "kn3", "-m", wp, "--tune", tune, "-o", tmp_path / "bad"])
    assert r.exit_code == 1 and "WordPiece" in r.output


def test_quantized_training_memory_flags_and_export(cli, corpus, tmp_path):
    r = cli(["lm", "train", corpus, "-o", tmp_path / "q", "--order", "3", "--quantize", "8", "--memory", "1K",
             "--temp-dir", tmp_path, "--quiet"])
    assert r.exit_code == 0, r.output
    config = json.loads((tmp_path / "q" / "config.json").read_text())["model"]
    assert config["quantize"] == 8 and config["memory"] == "1K"
    assert cli(["lm", "export", "-m", tmp_path / "q", "-o", tmp_path / "q.arpa"]).exit_code == 0
    assert (tmp_path / "q.arpa").read_text().startswith("\\data\\\n")
    plain = cli(["lm", "train", corpus, "-o", tmp_path / "p", "--order", "3", "--quiet"])
    assert plain.exit_code == 0
    a = json.loads(cli(["lm", "score", "-m", tmp_path / "q", "-f", "jsonl"], input="the cat sat\n").stdout)
    b = json.loads(cli(["lm", "score", "-m", tmp_path / "p", "-f", "jsonl"], input="the cat sat\n").stdout)
    assert a["log10_prob"] == pytest.approx(b["log10_prob"], abs=0.05)
    assert "--memory" in _one_error_line(cli(["lm", "train", corpus, "-o", tmp_path / "x", "--memory", "lots"]))
    assert "quantize" in _one_error_line(cli(["lm", "train", corpus, "-o", tmp_path / "y", "--quantize", "4"]))


def test_block_of_jsonl_records_equals_dumps_of_each_at_every_magnitude():
    import random

    from nlpkit.lm.score import LineScore
    from nlpkit_cli._records import dumps, fnum
    from nlpkit_cli.lm_format import format_block

    rng = random.Random(0)
    values = [0.0, -0.0, -1.0, -12.0, -100000.0, -1234567.0, -1e-5, -1.5e-7, -0.0001, -0.00012345678, -3.0e20, -299.9]
    values += [-(10 ** rng.uniform(-8, 8)) for _ in range(3000)]
    # n_tokens large enough that ppl = 10 ** (-lp / n) stays a float (it reaches 1e300)
    records = [LineScore(f"w{i}", lp, max(rng.choice([1, 2, 7, 40]), int(-lp / 300) + 1), rng.randint(0, 1))
               for i, lp in enumerate(values)]
    records += [LineScore("a <s> b", error="bad"), LineScore('q "x" \\ \t', -3.0, 4, 0)]
    slow = []
    for r in records:
        if r.error is not None:
            slow.append(dumps({"text": r.text, "error": r.error}))
            continue
        slow.append(dumps({"text": r.text, "log10_prob": fnum(r.log10_prob), "n_tokens": r.n_tokens, "n_oov": r.n_oov,
                           "ppl": fnum(r.ppl), "tokens": r.n_tokens, "oov": r.n_oov}))
    assert format_block(records, "jsonl", False) == "".join(line + "\n" for line in slow)
