"""Hard debiasing on hand-made vectors with a planted gender axis."""

from __future__ import annotations

import numpy as np
import pytest

from nlpkit.embeddings.debias import debias_model, word_list
from nlpkit.embeddings.formats import export_vectors, import_model
from nlpkit.embeddings.vectors import WordVectors


def test_shipped_word_lists():
    assert ["she", "he"] in word_list("definitional_pairs")
    assert ["king", "queen"] in word_list("equalize_pairs")
    assert "actress" in word_list("gender_specific_seed") and "nurse" in word_list("professions")


@pytest.fixture
def model(tmp_path):
    rng = np.random.default_rng(0)
    pairs = [("woman", "man"), ("girl", "boy"), ("she", "he"), ("mother", "father"), ("her", "his")]
    words, vecs = [], []
    for female, male in pairs:  # axis 0 is gender, the rest is shared meaning plus noise
        base = rng.normal(size=8)
        words += [female, male]
        vecs += [np.r_[2.0, base], np.r_[-2.0, base + rng.normal(scale=0.05, size=8)]]
    for w, gender in [("nurse", 0.8), ("engineer", -0.7), ("table", 0.0), ("king", -1.0), ("queen", 1.2)]:
        words.append(w)
        vecs.append(np.r_[gender, rng.normal(size=8)])
    export_vectors(words, np.array(vecs, dtype=np.float32), tmp_path / "v.txt", "word2vec")
    import_model(tmp_path / "v.txt", tmp_path / "m")
    return tmp_path / "m"


def test_hard_debias_neutralises_and_equalises(model, tmp_path):
    report = debias_model(model, tmp_path / "out")
    assert report["definitional_pairs"] == 5 and report["explained_variance"] > 0.9
    p = report["professions"]
    assert p["found"] == 2 and p["before"]["mean_abs"] > 0.1
    assert p["after"]["mean_abs"] < 1e-5  # nurse and engineer are neutral now
    assert p["before"]["most_first"][0] == "nurse"
    out = WordVectors.load(tmp_path / "out")
    u = np.asarray(out.unit)
    i = {w: out.lookup(w) for w in ("king", "queen", "table", "nurse")}
    # equalised: king and queen are equally similar to every neutral word
    for w in ("table", "nurse"):
        assert u[i["king"]] @ u[i["table" if w == "table" else "nurse"]] == pytest.approx(u[i["queen"]] @ u[i[w]], abs=1e-5)
    assert np.allclose(np.linalg.norm(u, axis=1), 1.0, atol=1e-5)


def test_debias_cli_report(cli, model, tmp_path):
    q = tmp_path / "q.txt"
    q.write_text(": family\nman woman boy girl\nhe she his her\n")
    r = cli(["embed", "debias", "-m", model, "-o", tmp_path / "out", "--analogies", q])
    assert r.exit_code == 0, r.output
    assert "mean |projection|" in r.stdout and "analogy accuracy" in r.stdout
