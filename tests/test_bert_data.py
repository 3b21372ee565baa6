"""BERT data: masking statistics, whole-word masking, NSP pair construction, documents, sharding."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from nlpkit.bert.data import PairSpec, make_instances, read_documents, shard, shuffled, truncate_pair
from nlpkit.bert.masking import MaskingSpec, candidate_groups, mask_tokens

PAD, CLS, SEP, MASK = 0, 2, 3, 4
SPEC = MaskingSpec(mask_id=MASK, vocab_size=1000, special_ids=frozenset({PAD, CLS, SEP}), first_random_id=5)


def test_masking_rate_and_80_10_10():
    rng = random.Random(0)
    chosen = kinds = 0
    counts: Counter[str] = Counter()
    total_candidates = 0
    for _ in range(2000):
        body = [rng.randrange(5, 1000) for _ in range(rng.randrange(20, 60))]
        ids = [CLS, *body[:10], SEP, *body[10:], SEP, PAD, PAD]
        out, positions, labels = mask_tokens(ids, SPEC, rng)
        total_candidates += len(body)
        chosen += len(positions)
        assert labels == [ids[p] for p in positions]
        for p in range(len(ids)):
            if ids[p] in (PAD, CLS, SEP):
                assert p not in positions and out[p] == ids[p]  # special tokens are never masked
            elif p not in positions:
                assert out[p] == ids[p]
        for p in positions:
            kinds += 1
            counts["mask" if out[p] == MASK else "same" if out[p] == ids[p] else "random"] += 1
    assert abs(chosen / total_candidates - 0.15) < 0.01
    assert abs(counts["mask"] / kinds - 0.8) < 0.02
    # a random replacement can draw the original token (1 in 995), so "same" is a hair above 10%
    assert abs(counts["random"] / kinds - 0.1) < 0.015
    assert abs(counts["same"] / kinds - 0.1) < 0.015


def test_whole_word_masking_takes_all_pieces():
    cont = frozenset(range(500, 1000))  # ids >= 500 play "##" continuation pieces
    spec = MaskingSpec(MASK, 1000, frozenset({PAD, CLS, SEP}), continuation=cont, whole_word=True, mlm_prob=0.3)
    ids = [CLS, 10, 600, 601, 11, 12, 700, SEP, 13, 800, 801, 802, SEP]
    assert candidate_groups(ids, spec) == [[1, 2, 3], [4], [5, 6], [8, 9, 10, 11]]
    rng = random.Random(1)
    for _ in range(300):
        _, positions, _ = mask_tokens(ids, spec, rng)
        for group in candidate_groups(ids, spec):
            hit = [p in positions for p in group]
            assert all(hit) or not any(hit)


def docs_with_unique_tokens(n_docs: int, sentences: int, seed: int = 0) -> list[list[list[int]]]:
    """Document d uses only ids d*1000+10 .. d*1000+999, sentence s of it starts with d*1000+10+s*20."""
    rng = random.Random(seed)
    docs = []
    for d in range(n_docs):
        base = d * 1000 + 10
        docs.append([[base + s * 20 + k for k in range(rng.randrange(3, 15))] for s in range(sentences)])
    return docs


def test_nsp_pairs_half_random_never_same_document():
    docs = docs_with_unique_tokens(60, 30)
    spec = PairSpec(max_seq_len=64, short_seq_prob=0.1, nsp=True, cls_id=CLS, sep_id=SEP, doc_window=10)
    labels = Counter()
    for inst in make_instances(iter(docs), spec, random.Random(0)):
        assert len(inst.ids) <= 64 and len(inst.ids) == len(inst.segments)
        assert inst.ids[0] == CLS and inst.ids[-1] == SEP
        sep = inst.ids.index(SEP)
        a, b = inst.ids[1:sep], inst.ids[sep + 1 : -1]
        assert a and b
        assert inst.segments == [0] * (sep + 1) + [1] * (len(b) + 1)
        doc_a = {t // 1000 for t in a}
        doc_b = {t // 1000 for t in b}
        assert len(doc_a) == 1 and len(doc_b) == 1
        labels[inst.is_random_next] += 1
        if inst.is_random_next:
            assert doc_a != doc_b  # a random B never comes from A's own document
        else:
            assert doc_a == doc_b and max(a) < min(b)  # actual next: B follows A in the document
    share = labels[1] / (labels[0] + labels[1])
    assert 0.45 < share < 0.55, labels


def test_one_sentence_documents_stay_balanced():
    docs = docs_with_unique_tokens(200, 1)
    spec = PairSpec(max_seq_len=64, nsp=True, cls_id=CLS, sep_id=SEP)
    labels = Counter(i.is_random_next for i in make_instances(iter(docs), spec, random.Random(3)))
    assert 0.4 < labels[1] / sum(labels.values()) < 0.6


def test_no_nsp_gives_single_segments():
    docs = docs_with_unique_tokens(5, 20)
    spec = PairSpec(max_seq_len=32, nsp=False, cls_id=CLS, sep_id=SEP)
    for inst in make_instances(iter(docs), spec, random.Random(0)):
        assert inst.is_random_next == -1 and inst.ids.count(SEP) == 1 and set(inst.segments) == {0}
        assert len(inst.ids) <= 32


def test_truncate_pair_trims_longer_side():
    a, b = list(range(10)), list(range(100, 103))
    truncate_pair(a, b, 8, random.Random(0))
    assert len(a) + len(b) == 8 and len(b) == 3


def test_read_documents_formats():
    lines = ["First sentence.", "Second one.", "", "", "Other doc.", ""]
    assert list(read_documents(lines)) == [["First sentence.", "Second one."], ["Other doc."]]
    one = ["A review. It was Good!<br /><br />Really? Yes. ok", "   "]
    assert list(read_documents(one, "lines")) == [["A review.", "It was Good!", "Really?", "Yes. ok"]]


def test_shards_partition_documents():
    docs = [[str(i)] for i in range(11)]
    parts = [list(shard(iter(docs), r, 3)) for r in range(3)]
    assert sorted(d[0] for p in parts for d in p) == sorted(d[0] for d in docs)
    assert [d[0] for d in parts[1]] == ["1", "4", "7", "10"]


def test_shuffle_buffer_is_a_permutation():
    items = list(range(100))
    out = list(shuffled(iter(items), 10, random.Random(0)))
    assert sorted(out) == items and out != items


@pytest.mark.parametrize("seed", [0, 1])
def test_pairs_are_reproducible(seed):
    docs = docs_with_unique_tokens(20, 10)
    spec = PairSpec(max_seq_len=48, cls_id=CLS, sep_id=SEP)
    one = [i.ids for i in make_instances(iter(docs), spec, random.Random(seed))]
    two = [i.ids for i in make_instances(iter(docs), spec, random.Random(seed))]
    assert one == two


def _stream_setup(tmp_path, static: bool):
    from nlpkit.bert.stream import StreamSpec
    from nlpkit.tokenize.wordpiece import load_tokenizer

    words = [f"w{i}" for i in range(30)]
    (tmp_path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n")
    rng = random.Random(0)
    text = "\n\n".join("\n".join(" ".join(rng.choice(words) for _ in range(6)) for _ in range(4)) for _ in range(12))
    (tmp_path / "c.txt").write_text(text + "\n")
    tok = load_tokenizer(tmp_path / "vocab.txt")
    spec = StreamSpec([str(tmp_path / "c.txt")], static_masking=static, shuffle_buffer=8, seed=3)
    masking = MaskingSpec(4, tok.get_vocab_size(), frozenset({0, 2, 3}), first_random_id=5)
    return spec, tok, PairSpec(max_seq_len=24, cls_id=2, sep_id=3), masking


@pytest.mark.parametrize("static", [True, False])
def test_static_masking_repeats_every_epoch_dynamic_does_not(tmp_path, static):
    from nlpkit.bert.stream import epoch_examples

    spec, tok, pairs, masking = _stream_setup(tmp_path, static)
    epochs = [sorted((tuple(e.ids), tuple(e.positions)) for e in epoch_examples(spec, tok, pairs, masking, n)) for n in (0, 1)]
    order = [[tuple(e.ids) for e in epoch_examples(spec, tok, pairs, masking, n)] for n in (0, 1)]
    assert order[0] != order[1]  # every epoch is reshuffled
    assert (epochs[0] == epochs[1]) is static
    again = sorted((tuple(e.ids), tuple(e.positions)) for e in epoch_examples(spec, tok, pairs, masking, 0))
    assert again == epochs[0]  # an epoch replays exactly (what --resume relies on)
