"""A loaded n-gram model finds the words of a short query in vocab.txt, and gets the ids its index would give."""

from __future__ import annotations

import numpy as np

from nlpkit.lm.ngram_model import _SEARCHED, _SEP, load_ngram

TEXT = "the cat sat on the mat\nat that cathedral a cat sat\nthe dog sat on the log\n" * 3


def test_searching_the_vocabulary_text_gives_the_ids_of_the_index(cli, tmp_path):
    (tmp_path / "c.txt").write_text(TEXT)
    assert cli(["lm", "train", tmp_path / "c.txt", "-o", tmp_path / "ng", "--order", "3", "--quiet"]).exit_code == 0
    words = (tmp_path / "ng" / "vocab.txt").read_text().split("\n")[:-1]
    # every word (the first and the last too), words inside others (at, cat, cathedral), unknown words
    tokens = [*words, "ca", "athedral", "zebra", _SEP, "<unk>", "dog"]
    model = load_ngram(tmp_path / "ng")
    assert len(tokens) <= _SEARCHED
    found = model.ids(tokens)
    assert model._index is None  # (the search path, not the index, answered)
    assert found.tolist() == [model.index.get(t, model.unk_id) for t in tokens]
    assert found.tolist()[: len(words)] == list(range(len(words))) and found[-3] == -1
    assert (found[len(words) : len(words) + 3] == model.unk_id).all()
    assert model.ids(tokens).tolist() == found.tolist() and model._index is not None  # searched enough: indexed
    line = "the cat sat on the zebra"
    assert load_ngram(tmp_path / "ng").score_lines([line]).logp.tolist() == model.score_lines([line]).logp.tolist()
