"""nlpkit.classify building blocks: tokenisation, TSV parsing, metrics, batching, model invariants."""

from __future__ import annotations

import pytest

from nlpkit.classify.data import Example, parse_examples, prediction_text, split_off
from nlpkit.classify.metrics import classification_report
from nlpkit.classify.vocab import PAD_ID, UNK_ID, build_vocab, word_tokens
from nlpkit.errors import ConfigError, CorpusError


def test_word_tokens_lowercase_split_punctuation_and_html_breaks():
    assert word_tokens("Don't stop, it's GREAT!<br /><br />Really.") == ["don't", "stop", ",", "it's", "great", "!", "really", "."]


def test_vocab_min_count_order_and_unknown_words():
    vocab = build_vocab(["b a a c", "a b"], min_count=2)
    assert vocab.tokens == ["<pad>", "<unk>", "a", "b"]  # by count, then alphabetical; c is too rare
    assert vocab.encode("A c b zzz") == [2, UNK_ID, 3, UNK_ID]
    assert vocab.encode("a b a", max_len=2) == [2, 3] and PAD_ID == 0


def test_vocab_with_no_frequent_word_is_a_corpus_error():
    with pytest.raises(CorpusError, match="min-count"):
        build_vocab(["a b c"], min_count=5)


def test_parse_examples_columns_count_from_one_and_keep_string_labels():
    lines = ["0\t3\t17\tbad film", "", "1\t9\t4\tgood film\twith tab"]
    got = list(parse_examples(lines, label_col=1, text_col=4))
    assert got == [Example("0", "bad film"), Example("1", "good film")]
    assert list(parse_examples(["very good\ttext"], 1, 2)) == [Example("very good", "text")]


def test_parse_examples_too_few_columns_names_the_line():
    with pytest.raises(CorpusError, match="line 2 .* 1 column"):
        list(parse_examples(["pos\tok", "no tab here"], 1, 2, where="x.tsv"))


@pytest.mark.parametrize("label_col,text_col", [(0, 2), (2, 2)])
def test_bad_columns_are_config_errors(label_col, text_col):
    with pytest.raises(ConfigError):
        list(parse_examples(["a\tb"], label_col, text_col))


def test_prediction_text_text_and_tsv():
    assert prediction_text("pos\tgreat film", "tsv", 2) == "great film"
    assert prediction_text("great film", "text", 2) == "great film"
    assert prediction_text("a\tb", "text", 2) == "a\tb"
    with pytest.raises(CorpusError):
        prediction_text("no columns", "tsv", 2)


def test_split_off_is_seeded_and_disjoint():
    examples = [Example(str(i % 2), f"text {i}") for i in range(20)]
    train, valid = split_off(examples, 0.25, seed=1)
    assert len(valid) == 5 and len(train) == 15 and not set(train) & set(valid)
    assert split_off(examples, 0.25, seed=1) == (train, valid)


def test_metrics_golden():
    gold = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", "c", "c"]
    r = classification_report(gold, pred, ["a", "b", "c"])
    assert r["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert r["accuracy"] == pytest.approx(4 / 6)
    # F1: a = 2*1*(2/3)/(5/3) = 0.8; b = 0.5; c = 2*0.5*1/1.5 = 2/3
    assert r["per_class"]["a"]["f1"] == pytest.approx(0.8)
    assert r["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert r["per_class"]["c"]["support"] == 1


def test_epoch_batches_cover_every_example_once_and_repeat_per_seed():
    from nlpkit.classify.train import epoch_batches

    lengths = [i % 7 for i in range(103)]
    batches = epoch_batches(lengths, 10, seed=3, epoch=2)
    assert sorted(i for b in batches for i in b) == list(range(103))
    assert epoch_batches(lengths, 10, seed=3, epoch=2) == batches
    assert epoch_batches(lengths, 10, seed=3, epoch=3) != batches


def test_avg_ignores_word_order_and_bilstm_does_not():
    import torch

    from nlpkit.classify.encode import collate
    from nlpkit.classify.models import AvgClassifier, AvgConfig, BiLSTMConfig, BiRNNClassifier

    torch.manual_seed(0)
    ids, lengths = collate([[2, 3, 4, 5], [5, 4, 3, 2]], PAD_ID)  # (2, 4): one text and its reverse
    avg = AvgClassifier(AvgConfig(vocab_size=6, num_classes=3, d_model=8)).eval()
    out = avg(ids, lengths)  # (2, 3)
    assert torch.allclose(out[0], out[1], atol=1e-6)
    rnn = BiRNNClassifier(BiLSTMConfig(vocab_size=6, num_classes=3, d_model=8, d_hidden=8)).eval()
    out = rnn(ids, lengths)
    assert not torch.allclose(out[0], out[1], atol=1e-4)


@pytest.mark.parametrize("cell,pooling", [("lstm", "max"), ("gru", "mean"), ("lstm", "last")])
def test_bilstm_output_does_not_depend_on_padding_or_batch(cell, pooling):
    import torch

    from nlpkit.classify.encode import collate
    from nlpkit.classify.models import BiLSTMConfig, BiRNNClassifier

    torch.manual_seed(0)
    cfg = BiLSTMConfig(vocab_size=10, num_classes=2, d_model=6, d_hidden=5, n_layers=2, cell=cell, pooling=pooling)
    model = BiRNNClassifier(cfg).eval()
    alone = model(*collate([[3, 4, 5]], PAD_ID))  # (1, 2)
    batched = model(*collate([[3, 4, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]], PAD_ID))  # (2, 2), first row padded
    assert torch.allclose(alone[0], batched[0], atol=1e-6)


def test_model_configs_reject_bad_values():
    from nlpkit.classify.artifact import model_config

    with pytest.raises(ConfigError, match="--cell"):
        model_config("bilstm", {"cell": "rnn"})
    with pytest.raises(ConfigError, match="--d-hidden does not apply to --arch avg"):
        model_config("avg", {"d_hidden": 5})
    with pytest.raises(ConfigError, match="--dropout"):
        model_config("avg", {"dropout": 1.5})
    assert model_config("bilstm", {"d_hidden": None}).d_hidden == 128
