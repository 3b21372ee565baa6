"""Training taggers on the engine: a tiny tagger overfits, save/load, every arch, exact resume after a kill."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlpkit.errors import ConfigError
from nlpkit.tag.config import TagConfig
from nlpkit.tag.train import train_tagger
from nlpkit.training import RunOptions

QUIET = RunOptions(quiet=True)
NAMES = [("Ana", "Lopez"), ("John", "Smith"), ("Mary", "Jones")]
PLACES = ["Paris", "Madrid", "Lima"]
VERBS = ["saw", "met", "left"]


@pytest.fixture(autouse=True, scope="module")
def _keep_torch_threads():
    """Training here passes --threads 1, which is process-wide: give other test modules their setting back."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def sentences() -> list[list[tuple[str, str]]]:
    """'<name> <verb> <name> in <place>': two-word PER entities, one-word LOC; 'in' is O, verbs O."""
    out = []
    for i, (first, last) in enumerate(NAMES):
        for j, verb in enumerate(VERBS):
            other = NAMES[(i + j + 1) % 3]
            place = PLACES[(i + 2 * j) % 3]
            out.append([(first, "B-PER"), (last, "I-PER"), (verb, "O"), (other[0], "B-PER"), (other[1], "I-PER"),
                        ("in", "O"), (place, "B-LOC")])
    out.append([(PLACES[0], "B-LOC"), ("is", "O"), ("big", "O")])
    return out


def write_conll(path: Path, sents: list[list[tuple[str, str]]]) -> Path:
    path.write_text("".join("".join(f"{w} {t}\n" for w, t in s) + "\n" for s in sents), encoding="utf-8")
    return path


def fit(data: Path, out: Path, run: RunOptions = QUIET, valid: Path | None = None, **options) -> dict:
    values = dict(d_model=16, d_hidden=16, dropout=0.0, lr=0.02, epochs=25, batch_size=4, valid_fraction=0.0,
                  unk_replace=0.0, threads=1, device="cpu", patience=0)
    cfg = TagConfig(**{**values, **options})
    return train_tagger([str(data)], out, cfg, valid=[str(valid)] if valid else None, run=run)


def tagged(model_dir: Path, sents) -> list[list[str]]:
    from nlpkit.tag.artifact import load_tagger
    from nlpkit.tag.predict import predict, text_item

    tagger = load_tagger(model_dir, "cpu")
    items = [text_item(" ".join(w for w, _ in s), i, False) for i, s in enumerate(sents)]
    return [t.tags for t in predict(tagger, items, batch_size=4)]


@pytest.mark.parametrize("options", [
    {}, {"arch": "unidirectional"}, {"crf": False}, {"char_dim": 8}, {"char_dim": 8, "char_encoder": "cnn", "scheme": "iobes"},
])
def test_a_tiny_tagger_overfits_a_tiny_set(tmp_path, options):
    sents = sentences()
    data = write_conll(tmp_path / "train.txt", sents)
    config = fit(data, tmp_path / "m", valid=data, **options)
    assert config["train"]["best_valid_f1"] == 1.0
    assert tagged(tmp_path / "m", sents) == [[t for _, t in s] for s in sents]
    assert config["input_scheme"] == "iob2" and config["scheme"] == options.get("scheme", "iob2")


def test_output_goes_back_to_the_input_scheme(tmp_path):
    from nlpkit.tag.schemes import convert

    sents = [[(w, t) for (w, _), t in zip(s, convert([t for _, t in s], "iob1"))] for s in sentences()]
    data = write_conll(tmp_path / "train.txt", sents)
    config = fit(data, tmp_path / "m", scheme="iobes")
    assert config["input_scheme"] == "iob1" and any(t.startswith("E-") for t in config["tags"])
    assert tagged(tmp_path / "m", sents) == [[t for _, t in s] for s in sents]


def test_pos_tags_train_as_plain_labels(tmp_path):
    sents = [[(w, "NNP" if t != "O" else "X") for w, t in s] for s in sentences()]
    data = write_conll(tmp_path / "train.txt", sents)
    config = fit(data, tmp_path / "m", valid=data, epochs=15)
    assert config["scheme"] == "none" and config["train"]["best_valid_accuracy"] == 1.0


def test_vectors_are_transferred_and_frozen(tmp_path):
    import numpy as np

    from nlpkit.artifacts import load_torch_tensors
    from nlpkit.embeddings.formats import import_model

    words = ["ana", "paris", "madrid", "unseen"]
    table = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32) * 0.1
    text = tmp_path / "vec.txt"
    text.write_text("4 6\n" + "".join(w + " " + " ".join(f"{x:.6f}" for x in row) + "\n" for w, row in zip(words, table)))
    import_model(text, tmp_path / "vectors")
    data = write_conll(tmp_path / "train.txt", sentences())
    config = fit(data, tmp_path / "m", epochs=2, d_model=None, vectors=str(tmp_path / "vectors"), freeze_vectors=True)
    assert config["model"]["d_model"] == 6
    vocab = json.loads((tmp_path / "m" / "vocab.json").read_text())["words"]
    embed = load_torch_tensors(tmp_path / "m")["word_embed.weight"].numpy()
    for word, row in zip(words, table):  # "unseen" is in the vocabulary too: test words get their vectors
        assert np.allclose(embed[vocab.index(word)], row, atol=1e-6)


def test_save_load_gives_identical_scores(tmp_path):
    import torch

    from nlpkit.tag.artifact import load_tagger
    from nlpkit.tag.encode import collate

    data = write_conll(tmp_path / "train.txt", sentences())
    fit(data, tmp_path / "m", epochs=1, char_dim=4)
    a, b = load_tagger(tmp_path / "m", "cpu"), load_tagger(tmp_path / "m", "cpu")
    batch = collate([a.encoder.encode(["Ana", "Lopez", "saw", "Zed"])], "cpu")
    assert torch.equal(a.model.emissions(batch), b.model.emissions(batch))
    state = (tmp_path / "m" / "config.json")
    config = json.loads(state.read_text())
    config["model"]["d_hidden"] = 8  # a config that no longer describes the weights
    state.write_text(json.dumps(config))
    from nlpkit.errors import ArtifactError

    with pytest.raises(ArtifactError, match="does not match"):
        load_tagger(tmp_path / "m", "cpu")


def test_resume_after_a_kill_gives_the_same_model(tmp_path, monkeypatch):
    import torch

    from nlpkit.artifacts import load_torch_tensors
    from nlpkit.training.engine import Engine

    data = write_conll(tmp_path / "train.txt", sentences() * 2)
    train = dict(epochs=3, batch_size=4, checkpoint_every="2", valid_fraction=0.2, unk_replace=0.5, char_dim=4, dropout=0.3)
    fit(data, tmp_path / "whole", **train)
    real_step = Engine._step

    def dying_step(self, group):
        if self.state.step == 7:  # killed in the middle of epoch 2, after the checkpoint at step 6
            raise KeyboardInterrupt
        return real_step(self, group)

    monkeypatch.setattr(Engine, "_step", dying_step)
    with pytest.raises(KeyboardInterrupt):
        fit(data, tmp_path / "job", **train)
    assert (tmp_path / "job" / "checkpoint.pt").exists() and not (tmp_path / "job" / "config.json").exists()
    monkeypatch.setattr(Engine, "_step", real_step)
    with pytest.raises(ConfigError, match="unfinished job; add --resume .* --force"):
        fit(data, tmp_path / "job", **train)
    with pytest.raises(ConfigError, match="--char-dim"):
        fit(data, tmp_path / "job", run=RunOptions(resume=True, quiet=True), **{**train, "char_dim": 5})
    config = fit(data, tmp_path / "job", run=RunOptions(resume=True, quiet=True), **train)
    assert not (tmp_path / "job" / "checkpoint.pt").exists()
    whole, resumed = load_torch_tensors(tmp_path / "whole"), load_torch_tensors(tmp_path / "job")
    assert whole.keys() == resumed.keys() and all(torch.equal(whole[k], resumed[k]) for k in whole)
    before = json.loads((tmp_path / "whole" / "config.json").read_text())["history"]
    assert [(h["step"], h["valid_f1"]) for h in config["history"]] == [(h["step"], h["valid_f1"]) for h in before]


def test_config_errors_name_the_flag():
    with pytest.raises(ConfigError, match="--arch bert needs --bert"):
        TagConfig(arch="bert")
    with pytest.raises(ConfigError, match="--freeze-vectors needs --vectors"):
        TagConfig(freeze_vectors=True)
    with pytest.raises(ConfigError, match="--scheme"):
        TagConfig(scheme="bio")


def test_validation_tags_unseen_in_training_are_kept(tmp_path, caplog):
    data = write_conll(tmp_path / "train.txt", sentences())
    valid = write_conll(tmp_path / "valid.txt", [[("Lima", "B-GPE"), ("is", "O")]])
    config = fit(data, tmp_path / "m", valid=valid, epochs=1)
    assert "B-GPE" in config["tags"] and "never seen in training: B-GPE" in caplog.text
    assert config["train"]["best_valid_f1"] == 0.0
