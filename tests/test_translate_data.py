"""Parallel data: reading, length buckets, detokenisation."""

import random

import pytest

from nlpkit.errors import CorpusError
from nlpkit.translate.data import ParallelSource, bucket, make_batch, read_pairs
from nlpkit.translate.vocab import detokenize


def test_read_pairs_chooses_columns_and_skips_empty_sides(tmp_path):
    data = tmp_path / "d.tsv"
    data.write_text("one\teins\tx\n\t\n\ntwo\tzwei\tx\n", encoding="utf-8")
    src, tgt = read_pairs(ParallelSource([data], src_col=2, tgt_col=1))
    assert src == ["eins", "zwei"] and tgt == ["one", "two"]


def test_one_column_is_an_error_naming_the_line(tmp_path):
    data = tmp_path / "d.tsv"
    data.write_text("one\teins\njust one\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="line 2 .* 1 column"):
        read_pairs(ParallelSource([data]))


def test_buckets_respect_max_tokens_and_cover_every_pair():
    rng = random.Random(0)
    lengths = [(rng.randint(1, 30), rng.randint(1, 30)) for _ in range(500)]
    batches = bucket(lengths, 200, random.Random(1))
    assert sorted(i for b in batches for i in b) == list(range(500))
    for b in batches:
        assert max(max(lengths[i]) + 1 for i in b) * len(b) <= 200 or len(b) == 1


def test_batch_has_shifted_target_and_padding():
    batch = make_batch([[5, 6], [7]], [[8], [9, 10, 11]], [0, 1], pad_id=0, bos_id=2, eos_id=3)
    assert batch.tgt_in.tolist() == [[2, 8, 0, 0], [2, 9, 10, 11]]
    assert batch.tgt_out.tolist() == [[8, 3, 0, 0], [9, 10, 11, 3]]
    assert batch.src_mask.tolist() == [[True, True], [True, False]]
    assert batch.n_tokens == 6


@pytest.mark.parametrize(
    "pieces,text",
    [
        ("I don ' t know what ' s up.", "I don't know what's up."),
        ('Er sagte : " Hallo! "', 'Er sagte: "Hallo!"'),
        ("Es kostet 3 . 50 Euro ( ungefähr ).", "Es kostet 3.50 Euro (ungefähr)."),
        ("Schick mir eine E - Mail.", "Schick mir eine E-Mail."),
    ],
)
def test_detokenize(pieces, text):
    assert detokenize(pieces) == text
