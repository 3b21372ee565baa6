"""The numpy-free one-off queries (``nlpkit.embeddings.blas_query``) answer as the numpy path does."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from nlpkit.embeddings import blas_query, openblas
from nlpkit.embeddings.blas_query import OneOffVectors, Unsuitable, add_target
from nlpkit.embeddings.formats import export_vectors, import_model
from nlpkit.embeddings.queries import analogy_records, similar_records
from nlpkit.embeddings.vectors import WordVectors, _ranked
from nlpkit.embeddings.vocab import Vocab
from nlpkit.embeddings.vocab_text import VocabText
from tests.conftest import ROOT

needs_blas = pytest.mark.skipif(openblas.find_openblas() is None, reason="no numpy wheel OpenBLAS on this platform")
V, D = 120, 6
TIES = {5: (10, 20, 30), 40: (50, 60)}  # rows whose vectors are copies of row 5, of row 40


def _vectors() -> np.ndarray:
    vecs = np.random.default_rng(3).standard_normal((V, D)).astype(np.float32)
    for row, copies in TIES.items():
        vecs[list(copies)] = vecs[row]
    return vecs


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    d = tmp_path_factory.mktemp("blas")
    export_vectors([f"w{i}" for i in range(V)], _vectors(), d / "v.txt", "word2vec")
    import_model(d / "v.txt", d / "m")
    return d / "m"


@pytest.fixture
def no_blas(monkeypatch):
    monkeypatch.setattr(openblas, "_loaded", [])
    monkeypatch.setattr(openblas, "find_openblas", lambda: None)


def _same(fast: list, slow: list) -> None:
    """Same records; scores equal to the precision the output shows (6 significant digits at most)."""
    def split(records: list) -> tuple[list, list]:
        scores = [a["score"] for _, r in records for a in r["answers"]]
        return [(line, {**r, "answers": [a["word"] for a in r["answers"]]}) for line, r in records], scores

    (fast, fast_scores), (slow, slow_scores) = split(fast), split(slow)
    assert fast == slow
    assert fast_scores == pytest.approx(slow_scores, rel=1e-6, abs=1e-7)


QUERIES = ["w1:w2::w3", "w5:w10::w40", "w7 w8 w9", "w0:nope::w1", "bad", "w3 is to w4 as w5 is to ?"]


@needs_blas
@pytest.mark.parametrize("topk", [1, 2, 3, 10])
def test_analogy_answers_as_the_numpy_path(model, topk):
    fast, slow = OneOffVectors.open(model), WordVectors.load(model)
    for q in QUERIES:
        _same(list(analogy_records(fast, [q], topk=topk)), list(analogy_records(slow, [q], topk=topk)))


@needs_blas
@pytest.mark.parametrize("topk", [1, 2, 3, 10])
def test_similar_answers_as_the_numpy_path(model, topk):
    fast, slow = OneOffVectors.open(model), WordVectors.load(model)
    for w in ["w0", "w5", "w10", "w30", "w40", "w119", "nope", ""]:
        _same(list(similar_records(fast, [w], topk=topk)), list(similar_records(slow, [w], topk=topk)))


@needs_blas
def test_several_queries_at_once_answer_as_the_numpy_path(model):
    fast, slow = OneOffVectors.open(model), WordVectors.load(model)
    _same(list(analogy_records(fast, QUERIES, topk=3)), list(analogy_records(slow, QUERIES, topk=3)))
    words = ["w0", "w5", "nope", "w40", "w7", ""]
    _same(list(similar_records(fast, words, topk=4)), list(similar_records(slow, words, topk=4)))


@needs_blas
def test_query_words_are_left_out_and_ties_go_to_the_lowest_row(model):
    fast = OneOffVectors.open(model)
    (_, rec), = similar_records(fast, ["w20"], topk=3)  # rows 5, 10, 30 share w20's vector
    assert [a["word"] for a in rec["answers"]] == ["w5", "w10", "w30"]
    assert len({a["score"] for a in rec["answers"]}) == 1
    (_, rec), = similar_records(fast, ["w5"], topk=2)  # three tied at the top, two asked
    assert [a["word"] for a in rec["answers"]] == ["w10", "w20"]
    (_, rec), = analogy_records(fast, ["w5:w10::w40"], topk=1)  # b - a = 0: the answer is w40's copies
    assert [a["word"] for a in rec["answers"]] == ["w50"]
    (_, rec), = analogy_records(fast, ["w5:w40::w50"], topk=3)
    assert "w5" not in [a["word"] for a in rec["answers"]] and "w40" not in [a["word"] for a in rec["answers"]]


def test_the_numpy_path_breaks_ties_by_row_too():
    scores = np.array([0.5, 0.9, 0.5, 0.9, 0.5, -np.inf, 0.5], dtype=np.float32)
    for k in range(1, 7):
        part = np.argpartition(-scores, k - 1)[:k]
        assert _ranked(scores, part).tolist() == [1, 3, 0, 2, 4, 6][:k]
    scores = np.random.default_rng(0).integers(0, 5, 1000).astype(np.float32)  # argpartition keeps other tied rows here
    for k in (2, 5, 50):
        part = np.argpartition(-scores, k - 1)[:k]
        assert _ranked(scores, part).tolist() == np.lexsort((np.arange(1000), -scores))[:k].tolist()


@needs_blas
def test_the_target_is_numpys_to_the_bit(model):
    rng = np.random.default_rng(0)
    for dim in (1, 7, 8, 50, 300, 1000):
        unit = rng.standard_normal((3, dim)).astype(np.float32)
        unit /= np.linalg.norm(unit, axis=1, keepdims=True)
        a, b, c = unit[[0]], unit[[1]], unit[[2]]
        target = b - a + c
        target /= np.maximum(np.linalg.norm(target, axis=1, keepdims=True), 1e-12)
        assert np.array_equal(np.asarray(add_target(*(x[0].tolist() for x in (a, b, c))), np.float32), target[0]), dim


@needs_blas
def test_answers_needing_scores_at_or_below_zero_are_left_to_numpy(tmp_path):
    export_vectors(["man", "woman", "king", "apple"], np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [0, 0, -1]], np.float32),
                   tmp_path / "v.txt", "word2vec")
    import_model(tmp_path / "v.txt", tmp_path / "m")
    fast = OneOffVectors.open(tmp_path / "m")
    with pytest.raises(Unsuitable):
        list(similar_records(fast, ["apple"], topk=1))  # every other word scores <= 0
    (_, rec), = similar_records(fast, ["man"], topk=2)  # woman, king > 0: answered
    assert [a["word"] for a in rec["answers"]] == ["woman", "king"]
    with pytest.raises(Unsuitable):
        list(similar_records(fast, ["man"], topk=3))  # the third is apple, at 0
    (tmp_path / "v.txt").write_text("3 3\nman 1 0 0\nwoman 1 1 0\nking 1 0 1\n")
    import_model(tmp_path / "v.txt", tmp_path / "pos")  # every score > 0: all of them, and no more
    assert list(similar_records(OneOffVectors.open(tmp_path / "pos"), ["man"], topk=5)) == list(
        similar_records(WordVectors.load(tmp_path / "pos"), ["man"], topk=5))
    assert list(analogy_records(OneOffVectors.open(tmp_path / "pos"), ["man:woman::king"], topk=5))[0][1]["answers"] == []


def test_no_library_means_the_numpy_path(cli, model, no_blas, monkeypatch):
    assert openblas.load_openblas() is None
    with pytest.raises(Unsuitable):
        OneOffVectors.open(model)
    calls = []
    load = WordVectors.load.__func__
    monkeypatch.setattr(WordVectors, "load", classmethod(lambda cls, *a, **k: calls.append(a) or load(cls, *a, **k)))
    r = cli(["similar", "-m", model, "w5", "-k", "3"])
    assert r.exit_code == 0 and r.stdout.startswith("w5 -> w10 (1.0000), w20 (1.0000), w30 (1.0000)") and calls


@needs_blas
def test_models_and_queries_it_leaves_to_numpy(model, tmp_path):
    fast = OneOffVectors.open(model)
    with pytest.raises(Unsuitable):
        fast.analogy([(1, 2, 3)], method="mul")
    with pytest.raises(Unsuitable):
        fast.similar([1], include_inputs=True)
    sub = tmp_path / "sub"
    sub.mkdir()
    for name in ("vectors.safetensors", "vocab.tsv"):
        (sub / name).symlink_to(model / name)
    config = json.loads((model / "config.json").read_text())
    config["model"]["subwords"] = "3-6"
    (sub / "config.json").write_text(json.dumps(config))
    with pytest.raises(Unsuitable):
        OneOffVectors.open(sub)  # its n-gram table (and loading it) is the numpy path's
    assert OneOffVectors.open(sub, subwords=False).lookup("w3") == 3
    config["model"].update(subwords="", lowercase=True)
    (sub / "config.json").write_text(json.dumps(config))
    fast, slow = OneOffVectors.open(sub), WordVectors.load(sub)
    assert [fast.lookup(w) for w in ("W3", "w3", "Nope")] == [slow.lookup(w) for w in ("W3", "w3", "Nope")] == [3, 3, None]
    with pytest.raises(Unsuitable):
        OneOffVectors.open(tmp_path / "missing")


def test_vocab_text_finds_rows_as_vocab_load(tmp_path):
    words = ["the", "Ünïcode", "a", "x:y", "", "last"]
    (tmp_path / "vocab.tsv").write_text("".join(f"{w}\t{i}\n" for i, w in enumerate(words)), encoding="utf-8")
    vt, vocab = VocabText.read(tmp_path), Vocab.load(tmp_path)
    assert len(vt) == len(vocab) == len(words)
    for w in [*words, "th", "he", "nope", "a\tb", "a\nx"]:
        assert vt.find(w) == vocab.find(w), w
    assert [vt.word(i) for i in range(len(words))] == vocab.words
    assert VocabText.read(tmp_path).words([5, 0, 2]) == [vocab.words[i] for i in (5, 0, 2)]
    (tmp_path / "vocab.tsv").write_text("the\t3\nlast\t1")  # no final line break
    assert VocabText.read(tmp_path).find("last") == Vocab.load(tmp_path).find("last") == 1
    for text in ("a\t1\r\nb\t2\n", "a\t1\nb\n", "a\tb\t1\nc\t2\n"):  # read otherwise by Vocab.load: not used
        (tmp_path / "vocab.tsv").write_text(text, newline="")
        assert VocabText.read(tmp_path) is None, text


def _both(cli, monkeypatch, args, stdin=None):
    """(stdout with the library, stdout without it, whether the first one loaded numpy's WordVectors)."""
    calls = []
    load = WordVectors.load.__func__
    monkeypatch.setattr(WordVectors, "load", classmethod(lambda cls, *a, **k: calls.append(a) or load(cls, *a, **k)))
    fast = cli(args, input=stdin)
    used_numpy = bool(calls)
    monkeypatch.setattr(openblas, "_loaded", [None])
    slow = cli(args, input=stdin)
    logged = [[line.split(" ", 1)[-1] for line in r.stderr.splitlines()] for r in (fast, slow)]  # less the time
    assert (fast.exit_code, logged[0]) == (slow.exit_code, logged[1]), args
    return fast.stdout, slow.stdout, used_numpy


@needs_blas
@pytest.mark.parametrize("fmt", ["text", "tsv", "jsonl"])
def test_the_cli_prints_the_same_either_way(cli, model, monkeypatch, fmt):
    for args in (["analogy", "w1:w2::w3"], ["analogy", "w5:w10::w40", "-k", "3"], ["similar", "w5"], ["similar", "w7", "-k", "2"],
                 ["analogy", "w0:nope::w1"]):
        fast, slow, used_numpy = _both(cli, monkeypatch, [*args, "-m", model, "-f", fmt])
        assert fast == slow and fast and not used_numpy, args
        monkeypatch.setattr(openblas, "_loaded", [])


@needs_blas
def test_the_cli_takes_the_numpy_path_beyond_plain_queries(cli, model, monkeypatch):
    for args in (["analogy", "w1:w2::w3", "--method", "mul"], ["analogy", "w1:w2::w3", "--include-inputs"],
                 ["similar", *[f"w{i}" for i in range(9)]], ["similar", "w1", "-k", "65"]):
        fast, slow, used_numpy = _both(cli, monkeypatch, [*args, "-m", model])
        assert fast == slow and used_numpy, args
        monkeypatch.setattr(openblas, "_loaded", [])
    many = "".join(f"w{i}\n" for i in range(9))
    for args, stdin in ((["similar"], many), (["similar", "--line-buffered"], "w1\n")):  # a person typing: line by line
        fast, slow, used_numpy = _both(cli, monkeypatch, [*args, "-m", model], stdin)
        assert fast == slow and fast.count("\n") == stdin.count("\n") and used_numpy, args
        monkeypatch.setattr(openblas, "_loaded", [])


@needs_blas
def test_a_few_lines_on_stdin_are_a_one_off_too(cli, model, monkeypatch):
    for args, stdin in ((["similar"], "w1\n"), (["analogy", "-f", "tsv"], "w1:w2::w3\nw5 w10 w40\n\nx\n"), (["similar"], "")):
        fast, slow, used_numpy = _both(cli, monkeypatch, [*args, "-m", model], stdin)
        assert fast == slow and fast.count("\n") == stdin.count("\n") and not used_numpy, args
        monkeypatch.setattr(openblas, "_loaded", [])
    fast, slow, used_numpy = _both(cli, monkeypatch, ["similar", "-m", model], b"w1\nw\xff2\n")  # the same warning
    assert fast == slow and "w\ufffd2 -> ?" in fast and not used_numpy


@needs_blas
def test_a_damaged_unit_row_is_reported_as_by_the_numpy_path(cli, model, tmp_path, monkeypatch):
    from safetensors.numpy import load_file, save_file

    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("config.json", "vocab.tsv"):
        (bad / name).write_bytes((model / name).read_bytes())
    tensors = load_file(str(model / "vectors.safetensors"))
    tensors["unit"][77, 2] = np.nan
    save_file(tensors, str(bad / "vectors.safetensors"))
    with pytest.raises(Unsuitable):
        OneOffVectors.open(bad).similar([1])
    r = cli(["similar", "-m", bad, "w1"])
    assert r.exit_code == 1 and "NaN or infinite" in r.stderr


@needs_blas
def test_too_many_large_negative_scores_are_left_to_numpy(model, monkeypatch):
    monkeypatch.setattr(blas_query, "MAX_SKIPS", 0)
    fast, slow = OneOffVectors.open(model), WordVectors.load(model)
    raised = 0
    for w in [f"w{i}" for i in range(0, V, 7)]:
        try:
            _same(list(similar_records(fast, [w], topk=3)), list(similar_records(slow, [w], topk=3)))
        except Unsuitable:
            raised += 1
    assert raised  # some word's most negative score outweighs its best ones


@needs_blas
@pytest.mark.parametrize("args, stdin", [(["analogy", "w1:w2::w3"], ""), (["similar", "w5", "-f", "jsonl"], ""),
                                         (["similar", "-f", "jsonl"], "w5\n")])
def test_a_plain_query_imports_no_numpy(model, args, stdin):
    code = ("import atexit, sys\n"
            "atexit.register(lambda: sys.stderr.write('numpy: %s\\n' % ('numpy' in sys.modules)))\n"
            f"sys.argv = ['nlpkit', *{[args[0], '-m', str(model), *args[1:]]!r}]\n"
            "from nlpkit_cli.main import main\nmain()\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], input=stdin, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith(("w1:w2::w3 -> ", '{"text": "w5"')), out.stderr
    assert out.stderr.splitlines()[-1] == "numpy: False"


def test_a_span_is_mapped_from_its_page(tmp_path):
    import ctypes
    import struct

    path = tmp_path / "floats"
    path.write_bytes(struct.pack("<3f", 7, 7, 7) + struct.pack("<5000f", *range(5000)))
    owner = type("Owner", (), {})()
    for first, count in ((0, 3), (1500, 10), (4999, 1)):
        addr = blas_query._map(owner, path, 12 + 4 * first, 4 * count)
        assert list((ctypes.c_float * count).from_address(addr)) == list(range(first, first + count))
    with pytest.raises(Unsuitable):
        blas_query._map(owner, tmp_path / "missing", 0, 4)
