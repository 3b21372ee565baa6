"""Entity scores against numbers counted by hand the way conlleval counts them."""

from __future__ import annotations

import pytest

from nlpkit.tag.metrics import chunk_scores

GOLD = [
    ["B-PER", "I-PER", "O", "B-LOC", "O"],
    ["B-ORG", "I-ORG", "I-ORG", "O", "B-PER"],
    ["O", "B-LOC", "I-LOC"],
]
PRED = [
    ["B-PER", "I-PER", "O", "B-ORG", "O"],  # PER right, LOC called ORG
    ["B-ORG", "I-ORG", "O", "O", "I-PER"],  # ORG cut short; I-PER after O is a chunk, and it is right
    ["B-LOC", "I-LOC", "I-LOC"],  # LOC one token too long
]


def test_f1_equals_conlleval_on_a_hand_made_example():
    # conlleval: "processed 13 tokens with 5 phrases; found: 5 phrases; correct: 2.
    #  accuracy: 61.54%; precision: 40.00%; recall: 40.00%; FB1: 40.00"
    #  LOC: precision 0.00%; recall 0.00%; FB1 0.00 1 / ORG: 0.00 0.00 0.00 2 / PER: 100.00 100.00 100.00 2
    r = chunk_scores(GOLD, PRED)
    assert r["tokens"] == 13 and r["sentences"] == 3
    assert round(100 * r["accuracy"], 2) == 61.54
    o = r["overall"]
    assert (o["gold"], o["predicted"], o["correct"]) == (5, 5, 2)
    assert round(100 * o["precision"], 2) == round(100 * o["recall"], 2) == round(100 * o["f1"], 2) == 40.00
    per = {t: (c["predicted"], c["gold"], c["correct"], round(100 * c["f1"], 2)) for t, c in r["per_type"].items()}
    assert per == {"LOC": (1, 2, 0, 0.0), "ORG": (2, 1, 0, 0.0), "PER": (2, 2, 2, 100.0)}


def test_unequal_precision_and_recall():
    r = chunk_scores([["B-X", "O", "B-X", "I-X"]], [["B-X", "O", "O", "O"]])
    o = r["overall"]
    assert o["precision"] == 1.0 and o["recall"] == 0.5 and o["f1"] == pytest.approx(2 / 3)


def test_pos_tags_give_accuracy_only():
    r = chunk_scores([["NN", "VB"]], [["NN", "NN"]], chunks=False)
    assert r["accuracy"] == 0.5 and "overall" not in r
    with pytest.raises(ValueError):
        chunk_scores([["O"]], [["O", "O"]])
