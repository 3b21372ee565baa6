"""Embeddings core: vocabulary tables, pair generation, query maths, evaluation, file formats."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from nlpkit.embeddings.batches import Chunk, context_matrix, encode_chunks, make_batches
from nlpkit.embeddings.cooccur import CooccurrenceCounter, chunk_pairs, load_bucket
from nlpkit.embeddings.evaluate import evaluate_analogies, evaluate_pairs, rankdata
from nlpkit.embeddings.formats import export_vectors, import_vectors
from nlpkit.embeddings.vectors import WordVectors, analogy_scores
from nlpkit.embeddings.vocab import build_vocab, huffman_tree, keep_probabilities, noise_table
from nlpkit.errors import CorpusError


def test_huffman_codes_match_hand_built_tree():
    # counts 5,3,2,1: merge 1+2 -> n0 (bits: word3=0, word2=1); merge word1(3)+n0(3): word1 has the
    # lower id, so word1=0, n0=1 -> n1; merge word0(5)+n1(6): word0=0, n1=1 -> n2 (root).
    tree = huffman_tree(np.array([5, 3, 2, 1]))
    expected = {0: ([0], [2]), 1: ([1, 0], [2, 1]), 2: ([1, 1, 1], [2, 1, 0]), 3: ([1, 1, 0], [2, 1, 0])}
    for w, (codes, points) in expected.items():
        n = tree.lengths[w]
        assert tree.codes[w, :n].tolist() == codes
        assert tree.points[w, :n].tolist() == points


def test_huffman_single_word():
    tree = huffman_tree(np.array([7]))
    assert tree.lengths.tolist() == [1] and tree.points[0, 0] == 0


def test_noise_table_follows_unigram_power():
    # weights 1^0.75 = 1 and 16^0.75 = 8: word 0 gets 1/9 of 90 slots = 10, word 1 gets 80
    table = noise_table(np.array([1, 16]), 0.75, size=90)
    assert len(table) == 90
    assert (table == 0).sum() == 10 and (table == 1).sum() == 80
    flat = noise_table(np.array([3, 3, 3]), 0.0, size=9)
    assert np.bincount(flat).tolist() == [3, 3, 3]


def test_keep_probabilities_word2vec_formula():
    counts = np.array([1000, 10, 1])  # total 1011
    t = 1e-3 * 1011
    p = keep_probabilities(counts, 1e-3)
    assert p[0] == pytest.approx((np.sqrt(1000 / t) + 1) * t / 1000) == pytest.approx(0.03281, abs=1e-5)
    assert p[1] == pytest.approx(0.41906, abs=1e-5)
    assert p[2] == 1.0  # (sqrt(1/t) + 1) * t > 1: rare words are always kept
    assert keep_probabilities(counts, 0).tolist() == [1.0, 1.0, 1.0]


def test_vocab_order_and_min_count():
    vocab = build_vocab(Counter({"b": 3, "a": 3, "c": 9, "d": 1}), min_count=2)
    assert vocab.words == ["c", "a", "b"] and vocab.counts.tolist() == [9, 3, 3]
    assert build_vocab(Counter({"b": 3, "a": 3, "c": 9}), min_count=1, max_vocab=2).words == ["c", "a"]
    with pytest.raises(CorpusError, match="no word occurs 5 times"):
        build_vocab(Counter({"x": 2}), min_count=5)


def test_context_matrix_respects_window_and_lines():
    ids = np.array([10, 11, 12, 20, 21])
    sent = np.array([0, 0, 0, 1, 1])
    rng = np.random.default_rng(0)
    ctx = context_matrix(ids, sent, 2, rng)
    for i in range(5):
        got = {int(c) for c in ctx[i] if c >= 0}
        same_line = {int(ids[j]) for j in range(5) if j != i and sent[j] == sent[i] and abs(j - i) <= 2}
        assert got <= same_line  # never across a line or beyond the window
        assert {int(ids[j]) for j in (i - 1, i + 1) if 0 <= j < 5 and sent[j] == sent[i]} <= got  # distance 1 always in
    batches = list(make_batches(ids, ctx, 2, words=5))
    assert sum(b.words for b in batches) == 5
    assert sum(len(b.local) for b in batches) == int((ctx >= 0).sum())


def test_encode_chunks_drops_oov_and_cuts_lines():
    index = {"a": 0, "b": 1}
    chunks = list(encode_chunks(["a x b", "", "B a"], index, lowercase=True, chunk_words=100))
    assert len(chunks) == 1
    assert chunks[0].ids.tolist() == [0, 1, 1, 0] and chunks[0].sentence.tolist() == [0, 0, 1, 1]
    assert chunks[0].lines == 3


def _vectors():
    words = ["man", "woman", "king", "queen", "apple"]
    vecs = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1], [0, 0, -1]], dtype=np.float32)
    return WordVectors.from_matrix(words, vecs, np.array([5, 4, 3, 2, 1]))


def test_3cosadd_and_3cosmul_on_hand_vectors():
    wv = _vectors()
    abc = [(0, 1, 2)]  # man : woman :: king : ?  -> queen
    for method in ("add", "mul"):
        (answers,) = wv.analogy(abc, method=method, topk=2)
        assert answers[0].word == "queen"
    unit = wv.unit
    target = unit[1] - unit[0] + unit[2]
    add = analogy_scores(unit, np.array(abc), "add")[0]
    assert add[3] == pytest.approx(float(unit[3] @ target / np.linalg.norm(target)), abs=1e-6)
    mul = analogy_scores(unit, np.array(abc), "mul")[0]
    cos = lambda i, j: (1 + float(unit[i] @ unit[j])) / 2  # noqa: E731
    assert mul[3] == pytest.approx(cos(3, 1) * cos(3, 2) / (cos(3, 0) + 1e-3), rel=1e-5)
    # with the inputs kept, king itself outranks queen: b - a + c = king + (woman - man)
    (kept,) = wv.analogy(abc, method="add", topk=5, include_inputs=True)
    assert [n.word for n in kept][:2] == ["queen", "king"] or kept[0].word in ("king", "woman", "queen")


def test_similar_excludes_the_query():
    wv = _vectors()
    (found,) = wv.similar([2], topk=2)
    assert [n.word for n in found] == ["queen", "man"]
    assert found[0].score == pytest.approx(float(wv.unit[2] @ wv.unit[3]))


def test_evaluate_analogies_sections_and_oov(tmp_path):
    wv = _vectors()
    qfile = tmp_path / "q.txt"
    qfile.write_text(": family\nman woman king queen\nMAN WOMAN KING QUEEN\n: gram1-x\nman woman king nothere\nking queen man apple\n")
    report = evaluate_analogies(wv, qfile, restrict_vocab=None).as_dict()
    fam, gram = report["sections"]
    assert (fam["correct"], fam["total"], fam["oov"]) == (1, 1, 1)
    assert (gram["correct"], gram["total"], gram["oov"]) == (0, 1, 1)  # king:queen::man -> woman, not apple
    assert report["semantic"]["accuracy"] == 1.0 and report["total"]["total"] == 2
    ci = evaluate_analogies(wv, qfile, restrict_vocab=None, case_insensitive=True).as_dict()
    assert ci["sections"][0]["correct"] == 2
    restricted = evaluate_analogies(wv, qfile, restrict_vocab=3).as_dict()
    assert restricted["total"]["oov"] == 4


def test_spearman_and_pearson(tmp_path):
    assert rankdata(np.array([10, 20, 20, 5])).tolist() == [2.0, 3.5, 3.5, 1.0]
    wv = _vectors()
    pfile = tmp_path / "p.tsv"
    pfile.write_text("# header\nWord 1\tWord 2\tHuman\nking\tqueen\t9\nman\tapple\t1\nman\twoman\t7\nfoo\tbar\t3\n")
    r = evaluate_pairs(wv, pfile)
    assert r["pairs"] == 4 and r["oov"] == 1
    cos = [float(wv.unit[2] @ wv.unit[3]), float(wv.unit[0] @ wv.unit[4]), float(wv.unit[0] @ wv.unit[1])]
    expected = np.corrcoef(cos, [9, 1, 7])[0, 1]
    assert r["pearson"] == pytest.approx(expected, abs=1e-4)
    assert r["spearman"] == pytest.approx(np.corrcoef(rankdata(np.array(cos)), [3, 1, 2])[0, 1], abs=1e-4)


@pytest.mark.parametrize("fmt", ["word2vec", "word2vec-bin", "glove"])
def test_export_import_round_trip(tmp_path, fmt):
    rng = np.random.default_rng(3)
    words = ["the", "naïve", "café", "x"]
    vecs = rng.normal(size=(4, 7)).astype(np.float32)
    path = tmp_path / "v.out"
    export_vectors(words, vecs, path, fmt)
    got_words, got, detected = import_vectors(path)
    assert got_words == words and detected == fmt
    if fmt == "word2vec-bin":
        assert got.tobytes() == vecs.tobytes()  # bit for bit
    else:
        assert np.array_equal(got, np.round(vecs.astype(np.float64), 6).astype(np.float32))


def test_import_binary_latin1_fallback_and_errors(tmp_path):
    path = tmp_path / "old.bin"
    vec = np.arange(3, dtype="<f4")
    path.write_bytes(b"2 3\n" + b"caf\xe9 " + vec.tobytes() + b"\n" + b"ok " + vec.tobytes())
    words, vecs, fmt = import_vectors(path)
    assert fmt == "word2vec-bin" and words == ["café", "ok"] and vecs[1].tolist() == [0, 1, 2]
    bad = tmp_path / "bad.txt"
    bad.write_text("a 1 2 3\nb 1 2\n")
    with pytest.raises(CorpusError, match="expected dimension 3"):
        import_vectors(bad)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(CorpusError):
        import_vectors(junk)


def test_cooccurrence_weights_and_spill(tmp_path):
    chunk = Chunk(np.array([0, 1, 2, 0]), np.array([0, 0, 0, 1]), 4, 2)
    keys, vals = chunk_pairs(chunk, 3, window=2)
    counts = dict(zip(keys.tolist(), vals.tolist()))
    # line 0 is "0 1 2": (0,1) and (1,2) at distance 1, (0,2) at distance 2; both directions
    assert counts == {1: 1.0, 3: 1.0, 5: 1.0, 7: 1.0, 2: 0.5, 6: 0.5}
    rng = np.random.default_rng(0)
    chunks = [Chunk(rng.integers(0, 50, 300), np.repeat(np.arange(30), 10), 300, 30) for _ in range(5)]
    results = []
    for limit in (10**9, 200):
        work = tmp_path / f"w{limit}"
        work.mkdir()
        counter = CooccurrenceCounter(50, 3, work, limit)
        counter.add_chunks(chunks)
        buckets = counter.finish()
        parts = [load_bucket(b, 50) for b in buckets]
        merged = {(int(i), int(j)): float(x) for p in parts for i, j, x in zip(*p)}
        results.append((len(buckets), len(counter.runs), merged))
    assert results[0][0] == 1 and results[1][0] > 1 and results[1][1] > 0
    assert results[0][2].keys() == results[1][2].keys()
    assert all(abs(results[0][2][k] - results[1][2][k]) < 1e-4 for k in results[0][2])


def test_parse_analogy_forms():
    from nlpkit.embeddings.queries import parse_analogy

    assert parse_analogy("man:woman::king") == ("man", "woman", "king")
    assert parse_analogy(" man : woman :: king ") == ("man", "woman", "king")
    assert parse_analogy("man is to woman as king is to ?") == ("man", "woman", "king")
    assert parse_analogy("man woman king") == ("man", "woman", "king")
    assert parse_analogy("just two") is None and parse_analogy("") is None


def test_hot_row_scale_caps_summed_rate():
    import torch

    from nlpkit.embeddings.w2v_steps import HOT_ROW_STEP, hot_row_scale

    rows = torch.tensor([1, 1, 2, 1])
    weights = torch.tensor([10.0, 30.0, 5.0, 0.0])
    lr = 0.025
    scale = hot_row_scale(rows, weights, lr)
    # row 1 takes 40 pair-equivalents at lr 0.025 = rate 1.0 > 0.4: scaled by 0.4; row 2 (0.125) is not
    assert scale.tolist() == pytest.approx([HOT_ROW_STEP / 1.0, HOT_ROW_STEP / 1.0, 1.0, HOT_ROW_STEP / 1.0])


@pytest.mark.parametrize("method", ["add", "mul"])
def test_blocked_analogy_answers_equal_one_argmax_over_all_candidates(monkeypatch, method):
    from nlpkit.embeddings import evaluate
    from nlpkit.embeddings.vectors import MUL_EPSILON

    monkeypatch.setattr(evaluate, "EVAL_COLUMNS", 8)  # 37 candidates: 5 blocks, the last one short
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((40, 4)).astype(np.float32)
    vectors[20] = vectors[12]  # a tie across blocks: the first row must win, as with argmax
    wv = WordVectors.from_matrix([f"w{i}" for i in range(40)], vectors)
    abc = rng.integers(0, 37, size=(23, 3))
    abc[0] = [1, 2, 3]
    expected = []
    for a, b, c in abc:
        cos = [(wv.unit[:37] @ wv.unit[i]).astype(np.float32) for i in (a, b, c)]
        if method == "mul":
            cos = [(1.0 + x) / 2.0 for x in cos]
        scores = cos[1] - cos[0] + cos[2] if method == "add" else cos[1] * cos[2] / (cos[0] + MUL_EPSILON)
        scores[[a, b, c]] = -np.inf
        expected.append(int(np.argmax(scores)))
    for threads in (1, 3):
        assert evaluate.best_answers(wv.unit, abc, 37, method, threads).tolist() == expected


def test_loading_the_analogy_kernel_leaves_scipy_importable():
    import sys

    pytest.importorskip("scipy")
    import nlpkit.embeddings.analogy_kernel  # noqa: F401
    import scipy.linalg

    assert sys.modules["scipy.linalg"] is scipy.linalg and hasattr(scipy.linalg, "solve")
