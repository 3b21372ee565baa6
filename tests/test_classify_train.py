"""Training classifiers: word order (bilstm fits, avg cannot), save/load, resume, early stopping, time limit."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from nlpkit.classify.train import TrainConfig, train_classifier
from nlpkit.errors import ConfigError
from nlpkit.training import RunOptions

QUIET = RunOptions(quiet=True)

POS, NEG = ["good", "great", "fine"], ["bad", "awful", "poor"]


@pytest.fixture(autouse=True, scope="module")
def _keep_torch_threads():
    """Training here passes --threads 1, which is process-wide: give other test modules their setting back."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def word_order_rows() -> list[tuple[str, str]]:
    """'X but Y' takes the polarity of Y. Every bag of words {X, but, Y} occurs with both labels,
    so any model that sees only the bag (avg) is right on exactly half of them."""
    return [
        ("positive" if b in POS else "negative", f"{a} but {b}")
        for a, b in itertools.product(POS + NEG, POS + NEG)
        if (a in POS) != (b in POS)
    ]


def write_tsv(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("".join(f"{label}\t{text}\n" for label, text in rows), encoding="utf-8")
    return path


def train_accuracy(model_dir: Path, rows: list[tuple[str, str]]) -> float:
    from nlpkit.classify.artifact import load_classifier
    from nlpkit.classify.predict import predict

    clf = load_classifier(model_dir, "cpu")
    preds = list(predict(clf, [text for _, text in rows]))
    return sum(p.label == label for p, (label, _) in zip(preds, rows)) / len(rows)


def fit(data: Path, out: Path, arch: str, options: dict, run: RunOptions | None = None, **train) -> dict:
    cfg = TrainConfig(arch=arch, min_count=1, threads=1, device="cpu", **train)
    return train_classifier([str(data)], out, options, cfg, run=run or QUIET)


def test_word_order_bilstm_fits_and_avg_cannot(tmp_path):
    rows = word_order_rows()
    data = write_tsv(tmp_path / "order.tsv", rows)
    fit(data, tmp_path / "bilstm", "bilstm", {"d_model": 16, "d_hidden": 16, "dropout": 0.0}, lr=0.05, epochs=40, batch_size=18)
    fit(data, tmp_path / "avg", "avg", {"d_model": 16}, lr=0.05, epochs=40, batch_size=18)
    assert train_accuracy(tmp_path / "bilstm", rows) == 1.0
    assert train_accuracy(tmp_path / "avg", rows) == 0.5  # exactly chance: the bags are ambiguous


def test_save_load_gives_identical_probabilities(tmp_path):
    import torch

    from nlpkit.classify.artifact import build_model, load_classifier, model_config, save_classifier
    from nlpkit.classify.encode import WordEncoder
    from nlpkit.classify.predict import probabilities
    from nlpkit.classify.vocab import build_vocab

    torch.manual_seed(0)
    texts = ["a fine film", "not good at all", "", "awful , truly awful"]
    vocab = build_vocab(texts, min_count=1)
    model = build_model("bilstm", model_config("bilstm", {"vocab_size": len(vocab), "num_classes": 3, "d_model": 8, "d_hidden": 4}))
    encoder = WordEncoder(vocab, max_len=400)
    labels = ["é", "neg", "pos"]
    before = probabilities(model, encoder.encode_batch(texts), 0, "cpu")
    save_classifier(tmp_path / "m", model, encoder, labels, arch="bilstm")
    clf = load_classifier(tmp_path / "m", "cpu")
    after = probabilities(clf.model, clf.encoder.encode_batch(texts), 0, "cpu")
    assert torch.equal(before, after) and clf.labels == labels
    # Other batches pad differently; packing keeps the results equal up to float rounding.
    rebatched = probabilities(clf.model, clf.encoder.encode_batch(texts), 0, "cpu", batch_size=3)
    assert torch.allclose(before, rebatched, atol=1e-6)


def _weights(model_dir: Path) -> dict:
    from nlpkit.artifacts import load_torch_tensors

    return load_torch_tensors(model_dir)


def test_resume_after_a_kill_gives_the_same_model(tmp_path, monkeypatch):
    import torch

    from nlpkit.training.engine import Engine

    rows = word_order_rows() * 2
    data = write_tsv(tmp_path / "d.tsv", rows)
    opts = {"d_model": 8, "d_hidden": 8}
    train = dict(epochs=3, batch_size=8, checkpoint_every="2", valid_fraction=0.2, patience=5)
    fit(data, tmp_path / "whole", "bilstm", opts, **train)

    real_step = Engine._step

    def dying_step(self, group):
        if self.state.step == 5:  # killed in the middle of epoch 2, after the checkpoint at step 4
            raise KeyboardInterrupt
        return real_step(self, group)

    monkeypatch.setattr(Engine, "_step", dying_step)
    with pytest.raises(KeyboardInterrupt):
        fit(data, tmp_path / "job", "bilstm", opts, **train)
    assert (tmp_path / "job" / "checkpoint.pt").exists() and not (tmp_path / "job" / "config.json").exists()
    monkeypatch.setattr(Engine, "_step", real_step)
    with pytest.raises(ConfigError, match="unfinished job; add --resume .* --force"):
        fit(data, tmp_path / "job", "bilstm", opts, **train)
    with pytest.raises(ConfigError, match="--d-hidden"):
        fit(data, tmp_path / "job", "bilstm", {**opts, "d_hidden": 9}, run=RunOptions(resume=True, quiet=True), **train)
    with pytest.raises(ConfigError, match="--batch-size"):
        fit(data, tmp_path / "job", "bilstm", opts, run=RunOptions(resume=True, quiet=True), **{**train, "batch_size": 7})
    config = fit(data, tmp_path / "job", "bilstm", opts, run=RunOptions(resume=True, quiet=True), **train)
    assert config["train"]["steps"] == 12 and not (tmp_path / "job" / "checkpoint.pt").exists()
    whole, resumed = _weights(tmp_path / "whole"), _weights(tmp_path / "job")
    assert whole.keys() == resumed.keys() and all(torch.equal(whole[k], resumed[k]) for k in whole)
    before = json.loads((tmp_path / "whole" / "config.json").read_text())["history"]
    assert [(h["step"], h["valid_accuracy"]) for h in config["history"]] == [(h["step"], h["valid_accuracy"]) for h in before]


def test_force_discards_a_leftover_checkpoint_or_a_finished_model(tmp_path, monkeypatch):
    from nlpkit.training.engine import Engine

    data = write_tsv(tmp_path / "d.tsv", word_order_rows())
    train = dict(epochs=2, batch_size=4, checkpoint_every="1")
    real_step = Engine._step

    def dying_step(self, group):
        if self.state.step == 2:
            raise KeyboardInterrupt
        return real_step(self, group)

    monkeypatch.setattr(Engine, "_step", dying_step)
    with pytest.raises(KeyboardInterrupt):
        fit(data, tmp_path / "job", "avg", {}, **train)
    monkeypatch.setattr(Engine, "_step", real_step)
    config = fit(data, tmp_path / "job", "avg", {}, run=RunOptions(force=True, quiet=True), **train)
    assert config["train"]["steps"] == 10 and not (tmp_path / "job" / "checkpoint.pt").exists()
    # A finished model is replaced only with --force; --resume finds nothing to resume.
    for run in (QUIET, RunOptions(resume=True, quiet=True)):
        with pytest.raises(ConfigError, match="finished model.*--force"):
            fit(data, tmp_path / "job", "avg", {}, run=run, **train)
    assert fit(data, tmp_path / "job", "avg", {}, run=RunOptions(force=True, quiet=True), **train)["train"]["steps"] == 10


def test_early_stopping_keeps_the_best_model(tmp_path):
    rows = word_order_rows()
    data = write_tsv(tmp_path / "train.tsv", rows)
    # Validation labels are the opposite of the training labels: the better the model learns, the worse it validates.
    flipped = write_tsv(tmp_path / "valid.tsv", [("negative" if l == "positive" else "positive", t) for l, t in rows])
    cfg = TrainConfig(arch="bilstm", min_count=1, threads=1, device="cpu", epochs=30, batch_size=6, lr=0.05, patience=2)
    config = train_classifier([str(data)], tmp_path / "m", {"d_model": 8, "d_hidden": 8}, cfg, valid=[str(flipped)], run=QUIET)
    t = config["train"]
    assert t["stopped"] == "early-stopping" and t["epochs_done"] < 30
    history = config["history"]
    best = max(h["valid_accuracy"] for h in history)
    assert t["best_valid_accuracy"] == pytest.approx(best, abs=1e-5)
    assert train_accuracy(tmp_path / "m", rows) == pytest.approx(1 - best, abs=1e-5)  # the best model was kept


def test_max_time_stops_the_job_and_saves(tmp_path):
    data = write_tsv(tmp_path / "d.tsv", word_order_rows())
    config = fit(data, tmp_path / "m", "avg", {}, epochs=50, batch_size=2, max_time=1e-6)
    assert config["train"]["stopped"] == "max-time" and config["train"]["steps"] == 1
    assert (tmp_path / "m" / "model.safetensors").exists()


def test_valid_fraction_holds_out_data(tmp_path):
    data = write_tsv(tmp_path / "d.tsv", word_order_rows() * 2)
    config = fit(data, tmp_path / "m", "avg", {}, epochs=1, valid_fraction=0.25)
    assert config["data"]["valid_examples"] == 9 and config["data"]["train_examples"] == 27
    assert config["train"]["best_valid_accuracy"] is not None


def test_vectors_initialise_and_freeze_the_embeddings(tmp_path):
    import numpy as np

    from nlpkit.artifacts import load_torch_tensors
    from nlpkit.embeddings.formats import import_model

    rng = np.random.default_rng(0)
    words = ["good", "bad", "but", "great", "unused"]
    table = (0.1 * rng.normal(size=(len(words), 6))).astype(np.float32)  # word2vec-like scale, far below N(0, 1)
    text = tmp_path / "vec.txt"
    text.write_text(f"{len(words)} 6\n" + "".join(w + " " + " ".join(f"{x:.6f}" for x in row) + "\n" for w, row in zip(words, table)))
    import_model(text, tmp_path / "vectors")
    data = write_tsv(tmp_path / "d.tsv", word_order_rows())
    config = fit(data, tmp_path / "m", "bilstm", {"d_hidden": 4}, epochs=2, vectors=str(tmp_path / "vectors"), freeze_vectors=True)
    assert config["model"]["d_model"] == 6 and config["train"]["freeze_vectors"] is True
    tokens = __import__("json").loads((tmp_path / "m" / "vocab.json").read_text())["tokens"]
    embed = load_torch_tensors(tmp_path / "m")["embed.weight"].numpy()
    for w in ("good", "bad", "but", "great"):
        assert np.allclose(embed[tokens.index(w)], table[words.index(w)], atol=1e-5)  # copied and not trained
    others = [i for i, t in enumerate(tokens) if t not in words and t != "<pad>"]  # e.g. fine, poor, <unk>
    assert 0 < np.abs(embed[others]).mean() < 3 * np.abs(table).mean() and not embed[0].any()  # vectors' scale; <pad> zero
    with pytest.raises(ConfigError, match="--d-model 8 differs"):
        fit(data, tmp_path / "m2", "avg", {"d_model": 8}, vectors=str(tmp_path / "vectors"))


def test_vector_words_outside_the_training_text_join_the_vocabulary_and_keep_their_vectors(tmp_path):
    import numpy as np
    import torch

    from nlpkit.artifacts import load_torch_tensors
    from nlpkit.embeddings.formats import import_model

    rng = np.random.default_rng(1)
    words = ["good", "Paris", "superb", "dreadful"]  # "superb", "dreadful": never in the training text
    table = (0.1 * rng.normal(size=(len(words), 6))).astype(np.float32)
    text = tmp_path / "vec.txt"
    text.write_text(f"{len(words)} 6\n" + "".join(w + " " + " ".join(f"{x:.6f}" for x in row) + "\n" for w, row in zip(words, table)))
    import_model(text, tmp_path / "vectors")
    data = write_tsv(tmp_path / "d.tsv", word_order_rows())
    config = fit(data, tmp_path / "m", "bilstm", {"d_hidden": 4}, epochs=2, vectors=str(tmp_path / "vectors"))  # fine-tuned
    tokens = json.loads((tmp_path / "m" / "vocab.json").read_text())["tokens"]
    trained = tokens[: tokens.index("superb")]
    assert tokens[len(trained):] == ["superb", "dreadful"]  # after every training word; "Paris" is never produced by the tokeniser
    assert set(trained) == {"<pad>", "<unk>", "but", *POS, *NEG} and config["model"]["vector_rows"] == 2
    tensors = load_torch_tensors(tmp_path / "m")
    embed, fixed = tensors["embed.weight"].numpy(), tensors["vector_embed"].numpy()
    assert embed.shape == (len(trained), 6) and np.allclose(fixed, table[[2, 3]], atol=1e-6)  # superb, dreadful as given
    assert not np.allclose(embed[tokens.index("good")], table[0], atol=1e-4)  # a training word's row is fine-tuned

    from nlpkit.classify.artifact import load_classifier

    model = load_classifier(tmp_path / "m", "cpu").model
    assert "vector_embed" not in dict(model.named_parameters())  # never in the optimizer
    ids = torch.tensor([[tokens.index("dreadful"), tokens.index("good"), 0]])  # (1, 3)
    x = model.embed_words(ids)[0].detach().numpy()  # (3, 6)
    assert np.allclose(x[0], table[3], atol=1e-6) and np.allclose(x[1], embed[tokens.index("good")]) and not x[2].any()


def test_resume_with_vectors_keeps_the_vocabulary_split(tmp_path, monkeypatch):
    import numpy as np
    import torch

    from nlpkit.embeddings.formats import import_model
    from nlpkit.training.engine import Engine

    words = ["good", "superb", "dreadful"]  # two words only the vectors know: fixed rows
    table = (0.1 * np.random.default_rng(2).normal(size=(3, 6))).astype(np.float32)
    text = tmp_path / "vec.txt"
    text.write_text("3 6\n" + "".join(w + " " + " ".join(f"{x:.6f}" for x in row) + "\n" for w, row in zip(words, table)))
    import_model(text, tmp_path / "vectors")
    data = write_tsv(tmp_path / "d.tsv", word_order_rows() * 2)
    train = dict(epochs=2, batch_size=8, checkpoint_every="2", valid_fraction=0.2, vectors=str(tmp_path / "vectors"))
    fit(data, tmp_path / "whole", "bilstm", {"d_hidden": 4}, **train)
    real_step = Engine._step

    def dying_step(self, group):
        if self.state.step == 5:
            raise KeyboardInterrupt
        return real_step(self, group)

    monkeypatch.setattr(Engine, "_step", dying_step)
    with pytest.raises(KeyboardInterrupt):
        fit(data, tmp_path / "job", "bilstm", {"d_hidden": 4}, **train)
    monkeypatch.setattr(Engine, "_step", real_step)
    config = fit(data, tmp_path / "job", "bilstm", {"d_hidden": 4}, run=RunOptions(resume=True, quiet=True), **train)
    assert config["model"]["vector_rows"] == 2
    whole, resumed = _weights(tmp_path / "whole"), _weights(tmp_path / "job")
    assert "vector_embed" in whole and whole.keys() == resumed.keys() and all(torch.equal(whole[k], resumed[k]) for k in whole)


def test_loading_refuses_weights_that_do_not_match_the_config(tmp_path):
    from nlpkit.classify.artifact import load_classifier
    from nlpkit.errors import ArtifactError
    from tests.test_lm_neural import _add_tensor

    data = write_tsv(tmp_path / "d.tsv", word_order_rows())
    fit(data, tmp_path / "m", "avg", {"d_model": 4}, epochs=1)
    _add_tensor(tmp_path / "m", "stray.weight")
    with pytest.raises(ArtifactError, match="does not match"):
        load_classifier(tmp_path / "m", "cpu")
