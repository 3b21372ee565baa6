"""`--arch bert`: a tiny, freshly made BERT encoder fine-tuned as a tagger, labels on each word's first piece."""

from __future__ import annotations

import pytest

from tests.test_tag_train import fit, sentences, tagged, write_conll


@pytest.fixture(autouse=True, scope="module")
def _keep_torch_threads():
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
    lines = [" ".join(w for w, _ in s) for s in sentences()] * 3
    tok = train_wordpiece(lines, WordPieceConfig(vocab_size=50, min_frequency=1))  # small: names split into pieces
    cfg = BertConfig(vocab_size=tok.get_vocab_size(), hidden=16, layers=1, heads=2, intermediate=32, max_position=32,
                     dropout=0.0, pad_id=tok.token_to_id("[PAD]"))
    out = tmp_path_factory.mktemp("bert") / "encoder"
    save_bert(out, Bert(cfg), tok)
    return out


def test_first_pieces_carry_the_labels(tiny_bert):
    from nlpkit.bert.artifact import load_bert, special_ids
    from nlpkit.tag.encode import PieceEncoder

    _, tok, _ = load_bert(tiny_bert)
    ids = special_ids(tok)
    enc = PieceEncoder(tok, ["O", "B-PER"], 32, ids.cls, ids.sep, ids.unk)
    words = ["Madrid", "saw", "Lopez"]
    item = enc.encode(words, ["B-PER", "O", "B-PER"])
    pieces = [tok.encode(w, add_special_tokens=False).ids for w in words]
    assert item["pieces"] == [ids.cls, *pieces[0], *pieces[1], *pieces[2], ids.sep]
    assert item["first"] == [1, 1 + len(pieces[0]), 1 + len(pieces[0]) + len(pieces[1])]
    assert item["tags"] == [1, 0, 1] and not item["cut"]
    short = PieceEncoder(tok, ["O"], 4, ids.cls, ids.sep, ids.unk).encode(words)
    assert len(short["pieces"]) == 4 and short["first"] == [1, 2, 2] and short["cut"]


def test_a_tiny_bert_tagger_fits(tiny_bert, tmp_path):
    sents = sentences()
    data = write_conll(tmp_path / "train.txt", sents)
    config = fit(data, tmp_path / "m", valid=data, arch="bert", bert=str(tiny_bert), d_model=None, d_hidden=100,
                 lr=1e-2, epochs=40, max_len=32, warmup=0.0, schedule="constant")
    assert config["model"]["encoder"]["hidden"] == 16 and "tokenizer.json" in config["files"]
    assert config["train"]["best_valid_f1"] == 1.0
    assert tagged(tmp_path / "m", sents) == [[t for _, t in s] for s in sents]
