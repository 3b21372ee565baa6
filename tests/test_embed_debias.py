"""Hard debiasing on hand-made vectors with a planted gender axis."""

from __future__ import annotations

import json

import numpy as np
import pytest

from importlib import resources

from nlpkit.embeddings.debias import debias_model, professions, read_word_file, word_list
from nlpkit.embeddings.formats import export_vectors, import_model
from nlpkit.embeddings.vectors import WordVectors


def test_shipped_word_lists():
    assert ["she", "he"] in word_list("definitional_pairs") and len(word_list("definitional_pairs")) == 10
    assert ["king", "queen"] in word_list("equalize_pairs") and len(word_list("equalize_pairs")) == 52
    full = word_list("gender_specific_full")
    assert len(full) == 1441 and {"actress", "waitress", "housewife", "businessman"} <= set(full)
    assert len(word_list("gender_specific_seed")) == 218
    jobs = professions()
    assert len(jobs) == 320 and "nurse" in jobs and "adjunct_professor" in jobs
    assert (resources.files("nlpkit") / "data" / "LICENSE-debiaswe").read_text().startswith("MIT License")


@pytest.fixture
def model(tmp_path):
    rng = np.random.default_rng(0)
    pairs = [("woman", "man"), ("girl", "boy"), ("she", "he"), ("mother", "father"), ("her", "his")]
    words, vecs = [], []
    for female, male in pairs:  # axis 0 is gender, the rest is shared meaning plus noise
        base = rng.normal(size=8)
        words += [female, male]
        vecs += [np.r_[2.0, base], np.r_[-2.0, base + rng.normal(scale=0.05, size=8)]]
    for w, gender in [("nurse", 0.8), ("architect", -0.7), ("table", 0.0), ("king", -1.0), ("queen", 1.2), ("actress", 1.5)]:
        words.append(w)
        vecs.append(np.r_[gender, rng.normal(size=8)])
    export_vectors(words, np.array(vecs, dtype=np.float32), tmp_path / "v.txt", "word2vec")
    import_model(tmp_path / "v.txt", tmp_path / "m")
    return tmp_path / "m"


def test_hard_debias_neutralises_and_equalises(model, tmp_path):
    report = debias_model(model, tmp_path / "out")
    assert report["definitional_pairs"] == 5 and report["explained_variance"] > 0.9
    p = report["professions"]
    assert p["listed"] == 320 and p["found"] == 3 and p["before"]["mean_abs"] > 0.1
    after = p["projections_after"]
    assert abs(after["nurse"]) < 1e-5 and abs(after["architect"]) < 1e-5  # neutral now
    assert after["actress"] == p["projections_before"]["actress"] > 0.3  # in the full gender-specific list: kept
    assert p["before"]["most_first"][:2] == ["actress", "nurse"]
    assert report["gender_specific_list"] == "gender_specific_full" and report["gender_specific_listed"] == 1441
    out = WordVectors.load(tmp_path / "out")
    u = np.asarray(out.unit)
    i = {w: out.lookup(w) for w in ("king", "queen", "table", "nurse")}
    # equalised: king and queen are equally similar to every neutral word
    for w in ("table", "nurse"):
        assert u[i["king"]] @ u[i["table" if w == "table" else "nurse"]] == pytest.approx(u[i["queen"]] @ u[i[w]], abs=1e-5)
    assert np.allclose(np.linalg.norm(u, axis=1), 1.0, atol=1e-5)


def test_gender_specific_file_replaces_the_list(model, tmp_path):
    words = tmp_path / "specific.txt"
    words.write_text("# keep only nurse gendered\nnurse\n\n")
    assert read_word_file(words) == ["nurse"]
    report = debias_model(model, tmp_path / "out", gender_specific=words)
    p = report["professions"]
    assert p["projections_after"]["nurse"] == p["projections_before"]["nurse"]
    assert abs(p["projections_after"]["actress"]) < 1e-5
    assert report["gender_specific_listed"] == 1


def test_debias_cli_report(cli, model, tmp_path):
    q = tmp_path / "q.txt"
    # family: man:woman::boy:girl is answered before and after (girl stays gendered); he:she::his:her too.
    # capital-world: the answers are not in the vocabulary, so the section stays at 0
    q.write_text(": family\nman woman boy girl\nhe she his her\n: capital-world\nman woman nurse paris\n")
    r = cli(["embed", "debias", "-m", model, "-o", tmp_path / "out", "--analogies", q, "-f", "json"])
    assert r.exit_code == 0, r.output
    a = json.loads(r.stdout)["analogy_accuracy"]
    assert a["family_questions"] == 2 and a["family_before"] == 1.0 and a["family_after"] == 1.0
    assert a["before"] == a["after"] == 1.0  # the capital-world question has an unknown word: not counted
    r = cli(["embed", "debias", "-m", model, "-o", tmp_path / "out2", "--analogies", q, "--gender-specific", tmp_path / "missing.json"])
    assert r.exit_code != 0
    r = cli(["embed", "debias", "-m", model, "-o", tmp_path / "out3", "--analogies", q])
    assert "mean |projection|" in r.stdout and "family section (2 questions): 100.00% before, 100.00% after" in r.stdout
