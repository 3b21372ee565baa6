"""`nlpkit classify` through the CLI: train, predict (default command), eval, formats, bad input."""

from __future__ import annotations

import json

import pytest

ROWS = [
    ("très bien", "a wonderful film , truly great"),
    ("très bien", "great acting and a wonderful story"),
    ("très bien", "i loved it , great fun"),
    ("très bien", "wonderful , loved every minute"),
    ("bad", "an awful film , truly boring"),
    ("bad", "boring story and awful acting"),
    ("bad", "i hated it , awful waste"),
    ("bad", "boring , hated every minute"),
]


@pytest.fixture(autouse=True, scope="module")
def _keep_torch_threads():
    """Training here passes --threads 1, which is process-wide: give other test modules their setting back."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A small avg classifier with string labels (one has a space and an accent)."""
    from typer.testing import CliRunner

    from nlpkit_cli.app import app

    d = tmp_path_factory.mktemp("classify")
    data = d / "train.tsv"
    data.write_text("".join(f"{label}\t{text}\n" for label, text in ROWS), encoding="utf-8")
    result = CliRunner().invoke(app, ["classify", "train", str(data), "-o", str(d / "m"), "--arch", "avg", "--epochs", "30",
                                      "--batch-size", "4", "--lr", "0.05", "--min-count", "1", "--threads", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    return d / "m"


def test_train_writes_an_artefact(model):
    config = json.loads((model / "config.json").read_text())
    assert config["kind"] == "classifier" and config["model"]["arch"] == "avg"
    assert config["labels"] == ["bad", "très bien"] and config["model"]["d_model"] == 64
    assert config["train"]["epochs"] == 30 and config["train"]["lr"] == 0.05
    assert {"model.safetensors", "vocab.json"} <= set(config["files"])


def test_predict_is_the_default_command_and_labels_round_trip(cli, model):
    text = "truly wonderful , loved it\nawful and boring\n\ngreat\n"
    result = cli(["classify", "-m", model], input=text)
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert out[0] == "très bien" and out[1] == "bad" and out[3] == "très bien" and len(out) == 4
    assert cli(["classify", "predict", "-m", model], input=text).stdout == result.stdout


def test_predict_formats(cli, model, tmp_path):
    f = tmp_path / "in.txt"
    f.write_text("bad\tawful and boring\nwonderful\n", encoding="utf-8")  # a TSV line and a plain line
    jsonl = cli(["classify", "-m", model, "--format", "jsonl", "--input-format", "tsv", f]).stdout.splitlines()
    records = [json.loads(line) for line in jsonl]
    assert records[0]["label"] == "bad" and records[0]["text"] == "bad\tawful and boring"
    assert records[0]["score"] == records[0]["scores"]["bad"]
    assert set(records[0]["scores"]) == {"bad", "très bien"} and sum(records[0]["scores"].values()) == pytest.approx(1, abs=1e-5)
    assert records[1] == {"text": "wonderful", "error": "1 column(s), need 2 for --text-col 2"}  # a bad line, not a guess
    tsv = cli(["classify", "-m", model, "-f", "tsv", "--text-col", "2", f]).stdout.splitlines()  # --text-col implies tsv
    label, prob = tsv[0].split("\t")
    assert label == "bad" and float(prob) == pytest.approx(records[0]["scores"]["bad"], abs=1e-5)
    assert tsv[1] == "\tNA"
    plain = json.loads(cli(["classify", "-m", model, "-f", "jsonl"], input="awful and boring\n").stdout)
    assert plain["scores"] == pytest.approx(records[0]["scores"], abs=1e-5)  # the TSV line was classified by its text column
    as_text = cli(["classify", "-m", model, "-f", "jsonl", f]).stdout.splitlines()  # default: whole lines
    same = cli(["classify", "-m", model, "-f", "jsonl"], input="bad awful and boring\n").stdout.strip()
    assert json.loads(as_text[0])["scores"] == pytest.approx(json.loads(same)["scores"], abs=1e-5)


def test_a_tab_is_not_a_column_unless_asked(cli, model):
    """The issue's case: a tab inside plain text must not make the second half the text."""
    whole = json.loads(cli(["classify", "-m", model, "-f", "jsonl"], input="a wonderful and great movie\tawful\n").stdout)
    tail = json.loads(cli(["classify", "-m", model, "-f", "jsonl"], input="awful\n").stdout)
    assert whole["text"] == "a wonderful and great movie\tawful" and whole["label"] == "très bien" and tail["label"] == "bad"


def test_predict_echo_and_strict(cli, model):
    r = cli(["classify", "-m", model, "-f", "tsv", "--echo", "--input-format", "tsv"], input="x\tgreat fun\nno tab\nx\tawful\n")
    rows = r.stdout.splitlines()
    assert r.exit_code == 0 and len(rows) == 3 and rows[0].endswith("\tx great fun") and rows[1] == "\tNA\tno tab"
    assert "line 2" in r.stderr and "warning" in r.stderr
    r = cli(["classify", "-m", model, "--text-col", "4", "--strict"], input="a\tb\tc\n")
    assert r.exit_code == 1 and "--text-col 4" in r.stderr


def test_eval_text_and_json(cli, model, tmp_path):
    test = tmp_path / "test.tsv"
    test.write_text("bad\tawful boring film\ntrès bien\twonderful great film\nbad\tgreat wonderful film\n", encoding="utf-8")
    result = cli(["classify", "eval", "-m", model, test, "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["examples"] == 3 and report["accuracy"] == pytest.approx(2 / 3)
    assert report["confusion"] == [[1, 1], [0, 1]] and report["labels"] == ["bad", "très bien"]
    text = cli(["classify", "eval", "-m", model, test]).stdout
    assert "accuracy\t0.6667" in text and "macro_f1\t" in text and "bad\t1\t1" in text


def one_error_line(result, *words):
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    for w in words:
        assert w in lines[0]


def test_train_one_column_is_one_clear_line(cli, tmp_path):
    f = tmp_path / "one.tsv"
    f.write_text("just some text without a label\n", encoding="utf-8")
    one_error_line(cli(["classify", "train", f, "-o", tmp_path / "m", "-q"]), "line 1", "column")


def test_train_empty_file_is_one_clear_line(cli, tmp_path):
    f = tmp_path / "empty.tsv"
    f.write_text("\n\n", encoding="utf-8")
    one_error_line(cli(["classify", "train", f, "-o", tmp_path / "m", "-q"]), "no examples")
    assert not (tmp_path / "m").exists()


def test_train_single_label_is_one_clear_line(cli, tmp_path):
    f = tmp_path / "one_label.tsv"
    f.write_text("pos\tgood\npos\tgreat\n", encoding="utf-8")
    one_error_line(cli(["classify", "train", f, "-o", tmp_path / "m", "-q"]), "only one label")


def test_eval_unknown_label_is_one_clear_line(cli, model, tmp_path):
    f = tmp_path / "test.tsv"
    f.write_text("bad\tawful\nneutral\tso so\n", encoding="utf-8")
    one_error_line(cli(["classify", "eval", "-m", model, f]), "'neutral'", "labels")


def test_wrong_options_for_the_arch_are_one_clear_line(cli, tmp_path):
    f = tmp_path / "d.tsv"
    f.write_text("a\tx\nb\ty\n", encoding="utf-8")
    one_error_line(cli(["classify", "train", f, "-o", tmp_path / "m", "--d-hidden", "8", "-q"]), "--d-hidden", "avg")
    one_error_line(cli(["classify", "train", f, "-o", tmp_path / "m", "--arch", "bert", "-q"]), "--bert")
    one_error_line(cli(["classify", "train", f, "-o", tmp_path / "m", "--label-col", "2", "--text-col", "2", "-q"]), "--label-col")


def test_predict_with_a_missing_model_is_one_clear_line(cli, tmp_path):
    one_error_line(cli(["classify", "-m", tmp_path / "nothing"], input="x\n"), "does not exist")


def test_output_that_is_not_a_model_is_refused_before_training(cli, tmp_path):
    f = tmp_path / "d.tsv"
    f.write_text("a\tx y\nb\ty x\n", encoding="utf-8")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    one_error_line(cli(["classify", "train", f, "-o", tmp_path / "taken", "--min-count", "1", "-q"]), "not an nlpkit model")
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_avg_on_the_shipped_imdb_sample_beats_80_percent(cli, tmp_path):
    # Calibration: seed 0 gives 0.85 test accuracy on the 500 test reviews.
    from tests.conftest import CORPORA

    data = CORPORA / "sentiment"
    result = cli(["classify", "train", data / "imdb.train.tsv.gz", "-o", tmp_path / "m", "--valid-fraction", "0.1",
                  "--epochs", "5", "--threads", "1", "-q"])
    assert result.exit_code == 0, result.output
    report = json.loads(cli(["classify", "eval", "-m", tmp_path / "m", data / "imdb.test.tsv.gz", "-f", "json"]).stdout)
    assert report["accuracy"] >= 0.80 and report["examples"] == 500
