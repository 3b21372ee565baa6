"""Tagging schemes: reading chunks as conlleval does, conversions that round-trip, detection."""

from __future__ import annotations

import random

import pytest

from nlpkit.tag.schemes import Span, convert, detect_scheme, from_spans, to_spans


def random_spans(rng: random.Random, n: int) -> list[Span]:
    spans, i = [], 0
    while i < n:
        if rng.random() < 0.5:
            length = rng.randint(1, min(3, n - i))
            spans.append(Span(i, i + length, rng.choice("XY")))
            i += length
        else:
            i += 1
    return spans


@pytest.mark.parametrize("scheme", ["iob1", "iob2", "iobes"])
def test_every_scheme_round_trips_through_every_other(scheme):
    rng = random.Random(7)
    for _ in range(300):
        n = rng.randint(1, 9)
        spans = random_spans(rng, n)
        tags = from_spans(spans, n, scheme)
        assert to_spans(tags) == spans
        for other in ("iob1", "iob2", "iobes"):
            assert convert(convert(tags, other), scheme) == tags


def test_known_conversions():
    iob1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC"]
    iob2 = ["B-PER", "I-PER", "B-PER", "O", "B-LOC"]
    iobes = ["B-PER", "E-PER", "S-PER", "O", "S-LOC"]
    assert convert(iob1, "iob2") == iob2 and convert(iob2, "iobes") == iobes and convert(iobes, "iob1") == iob1
    assert detect_scheme([iob1]) == "iob1" and detect_scheme([iob2]) == "iob2" and detect_scheme([iobes]) == "iobes"
    assert detect_scheme([["NN", "VBZ"]]) == "none" and convert(["NN", "VB"], "none") == ["NN", "VB"]


def test_broken_sequences_read_as_conlleval_reads_them():
    assert to_spans(["O", "I-X", "I-X"]) == [(1, 3, "X")]  # I- after O starts a chunk
    assert to_spans(["B-X", "I-Y"]) == [(0, 1, "X"), (1, 2, "Y")]  # a type change ends one
    assert to_spans(["B-X", "B-X"]) == [(0, 1, "X"), (1, 2, "X")]
    assert convert(["O", "I-X", "B-Y"], "iob2") == ["O", "B-X", "B-Y"]
