"""`--arch bert`: fine-tune a (tiny, freshly made) `nlpkit bert pretrain` encoder with a [CLS] classifier."""

from __future__ import annotations

import json

import pytest

from tests.test_classify_train import word_order_rows, write_tsv


@pytest.fixture(autouse=True, scope="module")
def _keep_torch_threads():
    """Training here passes --threads 1, which is process-wide: give other test modules their setting back."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    import torch

    from nlpkit.bert.artifact import save_bert
    from nlpkit.bert.model import Bert, BertConfig
    from nlpkit.wordpiece import WordPieceConfig, train_wordpiece

    torch.manual_seed(0)
    lines = [text for _, text in word_order_rows()] * 3 + ["a film , truly ."]
    tok = train_wordpiece(lines, WordPieceConfig(vocab_size=60, min_frequency=1))
    cfg = BertConfig(vocab_size=tok.get_vocab_size(), hidden=16, layers=1, heads=2, intermediate=32, max_position=32, pad_id=tok.token_to_id("[PAD]"))
    out = tmp_path_factory.mktemp("bert") / "encoder"
    save_bert(out, Bert(cfg), tok)
    return out


def test_bert_fine_tuning_updates_every_encoder_parameter(cli, tiny_bert, tmp_path):
    import torch

    from nlpkit.artifacts import load_torch_tensors

    rows = word_order_rows()
    data = write_tsv(tmp_path / "d.tsv", rows)
    result = cli(["classify", "train", data, "-o", tmp_path / "m", "--arch", "bert", "--bert", tiny_bert, "--epochs", "3",
                  "--batch-size", "6", "--lr", "1e-3", "--max-len", "16", "--threads", "1", "-q"])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["model"]["arch"] == "bert" and config["model"]["encoder"]["hidden"] == 16 and config["model"]["max_len"] == 16
    assert config["train"]["schedule"] == "linear" and "tokenizer.json" in config["files"]
    before, after = load_torch_tensors(tiny_bert), load_torch_tensors(tmp_path / "m")
    heads = ("mlm_", "nsp.")  # pre-training heads are not on the classification path
    for name, value in before.items():
        if not name.startswith(heads):
            assert not torch.equal(value, after["bert." + name]), name
    assert "out.weight" in after


def test_bert_classifier_predicts_the_same_after_reload(cli, tiny_bert, tmp_path):
    data = write_tsv(tmp_path / "d.tsv", word_order_rows())
    assert cli(["classify", "train", data, "-o", tmp_path / "m", "--arch", "bert", "--bert", tiny_bert, "--epochs", "1", "--threads", "1", "-q"]).exit_code == 0
    lines = "good but bad\nbad but good\n\n" + "great " * 40 + "\n"  # an empty line and one longer than --max-len
    first = cli(["classify", "-m", tmp_path / "m", "-f", "jsonl"], input=lines)
    second = cli(["classify", "-m", tmp_path / "m", "-f", "jsonl", "--batch-size", "1"], input=lines)
    assert first.exit_code == 0, first.output
    a = [json.loads(line) for line in first.stdout.splitlines()]
    b = [json.loads(line) for line in second.stdout.splitlines()]
    assert len(a) == 4 and [r["label"] for r in a] == [r["label"] for r in b]
    # Batches of other shapes round differently in the last printed digit.
    assert all(abs(r["scores"][k] - s["scores"][k]) < 1e-4 for r, s in zip(a, b) for k in r["scores"])


def test_bert_max_len_longer_than_the_encoder_is_one_clear_line(cli, tiny_bert, tmp_path):
    data = write_tsv(tmp_path / "d.tsv", word_order_rows())
    result = cli(["classify", "train", data, "-o", tmp_path / "m", "--arch", "bert", "--bert", tiny_bert, "--max-len", "64", "-q"])
    assert result.exit_code == 1 and "32 positions" in result.output and len(result.output.strip().splitlines()) == 1
