"""Subword (character n-gram) vectors: hashing, n-grams, training, OOV queries, fastText .bin import."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nlpkit.embeddings.subwords import char_ngrams, compose, fnv1a, ngram_rows, parse_range, subword_table
from nlpkit.embeddings.training import RunOptions
from nlpkit.embeddings.vectors import WordVectors
from nlpkit.embeddings.word2vec import Word2VecConfig, train_word2vec
from nlpkit.errors import ConfigError
from tests.test_embed_train import GROUPS, write_corpus


def test_fnv1a_test_vectors_and_sign_extension():
    assert fnv1a(b"") == 0x811C9DC5  # the offset basis
    assert fnv1a(b"a") == 0xE40C292C and fnv1a(b"foobar") == 0xBF9CF968  # FNV-1a reference vectors
    # fastText xors int8-sign-extended bytes: 0xC3 enters as 0xFFFFFFC3, not 0xC3
    by_hand = ((0x811C9DC5 ^ 0xFFFFFFC3) * 16777619) & 0xFFFFFFFF
    assert fnv1a(b"\xc3") == by_hand and by_hand != ((0x811C9DC5 ^ 0xC3) * 16777619) & 0xFFFFFFFF


def test_char_ngrams_as_fasttext():
    assert char_ngrams("where", 3, 3) == [b"<wh", b"whe", b"her", b"ere", b"re>"]  # the paper's example
    assert char_ngrams("ab", 1, 2) == [b"<a", b"a", b"ab", b"b", b"b>"]  # lone < and > are not n-grams
    assert char_ngrams("é", 1, 2) == ["<é".encode(), "é".encode(), "é>".encode()]  # whole characters, not bytes
    assert len(char_ngrams("where", 3, 6)) == 5 + 4 + 3 + 2
    assert ngram_rows("where", 3, 3, 7) == [fnv1a(g) % 7 for g in char_ngrams("where", 3, 3)]
    assert ngram_rows("where", 0, 0, 7) == []


def test_parse_range():
    assert parse_range("3-6") == (3, 6) and parse_range("") == (0, 0)
    for bad in ("6-3", "0-2", "3", "a-b"):
        with pytest.raises(ConfigError, match="--subwords"):
            parse_range(bad)


def test_subword_table_and_composition_by_hand():
    ptr, idx = subword_table(["ab", "b"], 1, 2, 3)
    assert ptr.tolist() == [0, 6, 10]  # ab: itself + 5 n-grams; b: itself + <b, b, b>
    assert idx[0] == 0 and idx[6] == 1 and all(2 <= i < 5 for i in idx[1:6])
    rows = np.zeros((5, 2), np.float32)
    rows[0], rows[2:] = [6.0, 0.0], [[0.0, 1.0]] * 3
    vec = compose(rows, ptr, idx)
    assert vec[0].tolist() == pytest.approx([1.0, 5 / 6])  # (6 + 5 x 0) / 6 and 5 x 1 / 6


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sub")
    corpus = write_corpus(tmp / "c.txt", sentences=800)
    cfg = Word2VecConfig(dim=16, window=3, min_count=1, epochs=3, sample=0, threads=1, device="cpu", seed=1, subwords="3-5", buckets=5000)
    train_word2vec([str(corpus)], tmp / "m", cfg, RunOptions(quiet=True, checkpoint_every="0"))
    return tmp / "m"


def test_unseen_words_get_vectors_near_their_spelling(model):
    config = json.loads((model / "config.json").read_text())
    assert config["model"]["subwords"] == "3-5" and config["model"]["buckets"] == 5000
    assert "subwords.safetensors" in config["files"]
    wv = WordVectors.load(model)
    v = len(wv)
    # calibrated (seeds 1-4, sg and cbow): each misspelling's 3 nearest words are all in its group
    for word, group in (("catt", "animal"), ("trucks", "vehicle"), ("cheeses", "food")):
        i = wv.lookup(word)
        assert i is not None and i >= v
        top = [n.word for n in wv.similar([i], topk=3)[0]]
        assert len(set(top) & set(GROUPS[group])) >= 2, (word, top)
        assert word not in top  # a subword row is never an answer
    assert WordVectors.load(model, subwords=False).lookup("catt") is None
    known, unseen = wv.lookup("cat"), wv.lookup("catt")
    rows = wv.rows(np.array([known, unseen]))  # (2, D)
    expected = wv.subwords.vector("catt")
    assert np.allclose(rows[0], wv.unit[known]) and np.allclose(rows[1], expected / np.linalg.norm(expected), atol=1e-6)
    assert wv.word(unseen) == "catt" and wv.lookup("catt") == unseen  # the same row on a second lookup


def test_known_words_are_the_mean_of_their_rows(model):
    from safetensors.numpy import load_file

    wv = WordVectors.load(model)
    ngrams = load_file(str(model / "subwords.safetensors"))["ngrams"]
    assert ngrams.shape == (5000, 16)
    i = wv.lookup("cat")
    rows = ngram_rows("cat", 3, 5, 5000)
    # vectors[i] = (own row + sum of n-gram rows) / (1 + n): the own row is what remains
    own = np.asarray(wv.vectors[i]) * (1 + len(rows)) - ngrams[rows].sum(0)
    assert np.abs(own).max() > 0  # a word row exists beside the n-grams
    assert np.allclose(wv.subwords.vector("cat"), ngrams[rows].mean(0))


def test_cli_queries_export_and_no_subwords(cli, model, tmp_path):
    r = cli(["similar", "-m", model, "catt", "-f", "jsonl", "-k", "2"])
    assert r.exit_code == 0 and len(json.loads(r.stdout)["answers"]) == 2
    r = cli(["similar", "-m", model, "catt", "-f", "jsonl", "--no-subwords"])
    assert json.loads(r.stdout)["oov_words"] == ["catt"]
    r = cli(["analogy", "-m", model, "cat:catt::dog", "-f", "jsonl"])
    assert r.exit_code == 0 and json.loads(r.stdout)["answers"]
    words = tmp_path / "w.txt"
    words.write_text("cat\ncatt\nxyzzy\n")
    r = cli(["embed", "export", "-m", model, "-o", tmp_path / "v.txt", "--words", words])
    assert r.exit_code == 0, r.output
    lines = (tmp_path / "v.txt").read_text().splitlines()
    assert lines[0] == "3 16" and [line.split()[0] for line in lines[1:]] == ["cat", "catt", "xyzzy"]
    r = cli(["embed", "export", "-m", model, "-o", tmp_path / "v2.txt", "--words", words, "--no-subwords"])
    assert (tmp_path / "v2.txt").read_text().splitlines()[0] == "1 16"


def test_classifier_vectors_cover_unseen_words(model):
    torch = pytest.importorskip("torch")
    from nlpkit.classify.vectors import init_embeddings
    from nlpkit.classify.vocab import WordVocab

    vocab = WordVocab(["<pad>", "<unk>", "cat", "catt", "dogg"])
    embed = torch.nn.Embedding(len(vocab), 16)
    assert init_embeddings(embed, vocab, model) == 3
    wv = WordVectors.load(model)
    assert np.allclose(embed.weight[3].detach().numpy(), wv.raw([wv.lookup("catt")])[0], atol=1e-6)


def test_debiased_subword_model_keeps_vocabulary_vectors_only(model, tmp_path):
    from nlpkit.embeddings.formats import export_vectors, import_model

    # the toy model lacks definitional pairs: add them, then give the copy the n-gram table back
    wv = WordVectors.load(model)
    words = list(wv.words) + ["woman", "man", "she", "he"]
    rng = np.random.default_rng(0)
    vecs = np.concatenate([np.asarray(wv.vectors), rng.normal(size=(4, 16)).astype(np.float32)])
    export_vectors(words, vecs, tmp_path / "v.txt", "word2vec")
    import_model(tmp_path / "v.txt", tmp_path / "plain")
    (tmp_path / "plain" / "subwords.safetensors").write_bytes((model / "subwords.safetensors").read_bytes())
    config = json.loads((tmp_path / "plain" / "config.json").read_text())
    config["model"].update(subwords="3-5", buckets=5000)
    (tmp_path / "plain" / "config.json").write_text(json.dumps(config))
    assert WordVectors.load(tmp_path / "plain").lookup("catt") is not None
    from nlpkit.embeddings.debias import debias_model

    debias_model(tmp_path / "plain", tmp_path / "out")
    out = WordVectors.load(tmp_path / "out")
    assert out.subwords is None and out.lookup("catt") is None and out.lookup("cat") is not None


def test_subwords_need_the_cpu_kernel():
    import torch

    from nlpkit.embeddings.word2vec import trainer_class

    with pytest.raises(ConfigError, match="subwords"):
        trainer_class(Word2VecConfig(subwords="3-6", kernel="torch"), torch.device("cpu"))


FASTTEXT_TRAIN = """
import sys, fasttext
ft = fasttext.train_unsupervised(sys.argv[1], model="skipgram", dim=8, minn=2, maxn=4, bucket=500, epoch=1, minCount=1, thread=1, verbose=0)
ft.save_model(sys.argv[2])
"""


def _fasttext_model(corpus, path) -> None:
    """Train with the fasttext package in a fresh process: in a process that has already trained one
    model, fastText 0.9.3 often stops with "Encountered NaN" on small corpora; a fresh one does not."""
    import subprocess
    import sys

    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", FASTTEXT_TRAIN, str(corpus), str(path)], capture_output=True, text=True)
        if done.returncode == 0:
            return
    raise AssertionError(f"fasttext failed three times: {done.stderr[-500:]}")


def test_fasttext_bin_import(tmp_path, cli):
    try:
        import fasttext
    except ImportError as exc:  # the test extra installs it; it needs a C++ compiler where no wheel exists
        pytest.skip(f"the fasttext package is not installed ({exc})")
    corpus = write_corpus(tmp_path / "c.txt", sentences=800)
    _fasttext_model(corpus, tmp_path / "m.bin")
    ft = fasttext.load_model(str(tmp_path / "m.bin"))
    r = cli(["embed", "import", tmp_path / "m.bin", "-o", tmp_path / "m"])
    assert r.exit_code == 0, r.output
    wv = WordVectors.load(tmp_path / "m")
    assert set(wv.words) == set(ft.words) and wv.config["model"]["subwords"] == "2-4"
    for word in ("cat", "the", "catt", "tramz", "éclair"):  # known words, then unseen ones (one non-ASCII)
        assert np.allclose(wv.raw([wv.lookup(word)])[0], ft.get_word_vector(word), atol=1e-6), word
