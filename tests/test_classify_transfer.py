"""``classify train --init DIR``: fine-tuning a trained classifier (weights, head, resume, errors, config)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nlpkit.classify.train import TrainConfig, train_classifier
from nlpkit.errors import ConfigError
from nlpkit.training import RunOptions

QUIET = RunOptions(quiet=True)
ROWS = [("pos", "a good film"), ("neg", "a bad film"), ("pos", "not bad at all"), ("neg", "not good at all"),
        ("pos", "great fun"), ("neg", "awful and dull"), ("pos", "fine acting"), ("neg", "poor plot")] * 3
TEXTS = ["a good film", "not good", "awful fun", "words the source never saw", ""]
SIZES = {"avg": {"d_model": 8}, "bilstm": {"d_model": 8, "d_hidden": 4}}


@pytest.fixture(autouse=True, scope="module")
def _keep_torch_threads():
    """Training here passes --threads 1, which is process-wide: give other test modules their setting back."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def write_tsv(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("".join(f"{label}\t{text}\n" for label, text in rows), encoding="utf-8")
    return path


def fit(data: Path, out: Path, arch: str, options: dict, run: RunOptions = QUIET, **train) -> dict:
    cfg = TrainConfig(arch=arch, threads=1, device="cpu", **{"min_count": 1, **train})
    return train_classifier([str(data)], out, options, cfg, run=run)


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    """A tiny trained classifier of each arch (labels neg, pos)."""
    tmp = tmp_path_factory.mktemp("sources")
    data = write_tsv(tmp / "src.tsv", ROWS)
    for arch, sizes in SIZES.items():
        fit(data, tmp / arch, arch, sizes, epochs=2, batch_size=4, lr=0.05)
    return {arch: tmp / arch for arch in SIZES}


def probs(model, encoder, texts=TEXTS):
    from nlpkit.classify.predict import probabilities

    return probabilities(model, encoder.encode_batch(texts), 0, "cpu")


@pytest.mark.parametrize("arch", ["avg", "bilstm"])
def test_init_before_any_step_predicts_exactly_like_its_source(sources, arch):
    import torch

    from nlpkit.classify.artifact import load_classifier
    from nlpkit.classify.transfer import init_model

    source = load_classifier(sources[arch], "cpu")
    model, encoder = init_model(str(sources[arch]), arch, {}, ["neg", "pos"])
    assert encoder.vocab.tokens == source.encoder.vocab.tokens and model.cfg == source.model.cfg
    assert torch.equal(probs(model.eval(), encoder), probs(source.model, source.encoder))


def test_labels_it_lacks_get_new_rows_and_shared_labels_keep_theirs(sources):
    import torch

    from nlpkit.classify.artifact import load_classifier
    from nlpkit.classify.transfer import init_model

    source = load_classifier(sources["bilstm"], "cpu").model
    model, _ = init_model(str(sources["bilstm"]), "bilstm", {"dropout": 0.0}, ["meh", "neg", "pos"])
    assert model.cfg.num_classes == 3 and model.cfg.dropout == 0.0 and source.cfg.dropout == 0.3
    assert torch.equal(model.out.weight[1:], source.out.weight) and torch.equal(model.out.bias[1:], source.out.bias)
    assert not torch.equal(model.out.weight[0], source.out.weight[0])
    body = {k: v for k, v in source.state_dict().items() if not k.startswith("out.")}
    assert all(torch.equal(model.state_dict()[k], v) for k, v in body.items())
    other, _ = init_model(str(sources["bilstm"]), "bilstm", {}, ["a", "b"])  # disjoint labels: a whole new head
    assert other.out.weight.shape == source.out.weight.shape and not torch.equal(other.out.weight, source.out.weight)


def test_fine_tuning_through_the_cli_records_init_and_keeps_the_vocabulary(cli, sources, tmp_path):
    from nlpkit.classify.artifact import load_classifier

    data = write_tsv(tmp_path / "new.tsv", [("pos", "a new word"), ("neg", "another unseen one")] * 4)
    out = tmp_path / "tuned"
    result = cli(["classify", "train", data, "-o", out, "--arch", "bilstm", "--init", sources["bilstm"], "--epochs", "1",
                  "--max-len", "7", "--threads", "1", "--device", "cpu", "-q"])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    source = json.loads((sources["bilstm"] / "config.json").read_text(encoding="utf-8"))
    assert config["train"]["init"] == str(sources["bilstm"])
    assert config["model"] == {**source["model"], "max_len": 7}
    tuned, before = load_classifier(out, "cpu"), load_classifier(sources["bilstm"], "cpu")
    assert tuned.encoder.vocab.tokens == before.encoder.vocab.tokens  # "new", "word", ... are <unk>
    assert tuned.encoder.encode_batch(["a new word"]) == [[before.encoder.vocab.index["a"], 1, 1]]


def test_resume_continues_the_checkpoint_without_reading_the_init_again(sources, tmp_path, monkeypatch):
    import torch

    from nlpkit.artifacts import load_torch_tensors
    from nlpkit.training.engine import Engine

    src = tmp_path / "src"
    shutil.copytree(sources["bilstm"], src)
    data = write_tsv(tmp_path / "new.tsv", ROWS)
    train = dict(epochs=2, batch_size=4, checkpoint_every="2", init=str(src), min_count=2)
    fit(data, tmp_path / "whole", "bilstm", {}, **train)
    real_step = Engine._step

    def dying_step(self, group):
        if self.state.step == 5:  # killed after the checkpoint at step 4
            raise KeyboardInterrupt
        return real_step(self, group)

    monkeypatch.setattr(Engine, "_step", dying_step)
    with pytest.raises(KeyboardInterrupt):
        fit(data, tmp_path / "job", "bilstm", {}, **train)
    monkeypatch.setattr(Engine, "_step", real_step)
    shutil.rmtree(src)  # a resumed job must rebuild its model from the checkpoint alone
    with pytest.raises(ConfigError, match="--init"):
        fit(data, tmp_path / "job", "bilstm", {}, run=RunOptions(resume=True, quiet=True), **{**train, "init": str(tmp_path / "x")})
    config = fit(data, tmp_path / "job", "bilstm", {}, run=RunOptions(resume=True, quiet=True), **train)
    assert config["train"]["steps"] == 12 and config["train"]["init"] == str(src)
    whole, resumed = load_torch_tensors(tmp_path / "whole"), load_torch_tensors(tmp_path / "job")
    assert whole.keys() == resumed.keys() and all(torch.equal(whole[k], resumed[k]) for k in whole)


def one_error_line(result, *words):
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith("error: "), result.output
    for w in words:
        assert w in lines[0], lines[0]


@pytest.mark.parametrize("extra, words", [
    (["--arch", "avg"], ["is a bilstm classifier, not --arch avg", "add --arch bilstm"]),
    (["--arch", "bilstm", "--d-hidden", "8"], ["--d-hidden cannot change", "--dropout and --max-len may change"]),
    (["--arch", "bilstm", "--cell", "gru", "--d-model", "4"], ["--d-model, --cell cannot change"]),
    (["--arch", "bilstm", "--vectors", "V"], ["--vectors does not apply with --init"]),
    (["--arch", "bilstm", "--min-count", "1"], ["--min-count cannot change the vocabulary", "<unk>"]),
    (["--arch", "bert", "--bert", "B"], ["--init applies to --arch avg and bilstm"]),
])
def test_options_that_cannot_apply_are_one_clear_line(cli, sources, tmp_path, extra, words):
    data = write_tsv(tmp_path / "new.tsv", ROWS)
    one_error_line(cli(["classify", "train", data, "-o", tmp_path / "out", "--init", sources["bilstm"], *extra]), *words)
    assert not (tmp_path / "out" / "config.json").exists()


def test_an_init_dir_that_is_not_a_classifier_is_one_clear_line(cli, tmp_path):
    data = write_tsv(tmp_path / "new.tsv", ROWS)
    missing = cli(["classify", "train", data, "-o", tmp_path / "out", "--init", tmp_path / "nothing"])
    one_error_line(missing, "--init", "does not exist", "`nlpkit classify train`")
    (tmp_path / "vectors").mkdir()
    (tmp_path / "vectors" / "config.json").write_text(json.dumps({"kind": "word_vectors", "format_version": 1}), encoding="utf-8")
    other = cli(["classify", "train", data, "-o", tmp_path / "out", "--init", tmp_path / "vectors"])
    one_error_line(other, "--init", "holds a word_vectors model, not classifier")
