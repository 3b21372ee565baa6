"""`nlpkit tag` through the CLI: train, predict (conll, jsonl, spans, --probs), eval, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.test_tag_train import sentences, write_conll

TRAIN = ["--d-model", "16", "--d-hidden", "16", "--dropout", "0", "--lr", "0.02", "--epochs", "25", "--batch-size", "4",
         "--valid-fraction", "0", "--unk-replace", "0", "--threads", "1", "--device", "cpu", "-q"]


@pytest.fixture(autouse=True, scope="module")
def _keep_torch_threads():
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from typer.testing import CliRunner

    from nlpkit_cli.app import app

    d = tmp_path_factory.mktemp("tag")
    data = write_conll(d / "train.txt", sentences())
    result = CliRunner().invoke(app, ["tag", "train", str(data), "-o", str(d / "m"), "--valid", str(data), *TRAIN])
    assert result.exit_code == 0, result.output
    return d / "m"


def test_predict_text_in_every_format(cli, model):
    text = "Ana Lopez met John Smith in Lima\n\nMary Jones left\n"
    conll = cli(["tag", "-m", model], input=text)
    assert conll.exit_code == 0, conll.output
    assert conll.stdout == ("Ana\tB-PER\nLopez\tI-PER\nmet\tO\nJohn\tB-PER\nSmith\tI-PER\nin\tO\nLima\tB-LOC\n\n"
                            "\n" "Mary\tB-PER\nJones\tI-PER\nleft\tO\n\n")
    jsonl = [json.loads(x) for x in cli(["tag", "predict", "-m", model, "-f", "jsonl", "--probs"], input=text).stdout.splitlines()]
    assert len(jsonl) == 3 and jsonl[1] == {"text": "", "tokens": [], "tags": [], "probs": []}
    assert jsonl[2]["tags"] == ["B-PER", "I-PER", "O"] and all(0.5 < p <= 1.0 for p in jsonl[2]["probs"])
    spans = [json.loads(x) for x in cli(["tag", "-m", model, "-f", "spans", "--tokenize"], input="  Ana Lopez met Mary Jones in Lima.\n").stdout.splitlines()]
    assert spans == [{"text": "  Ana Lopez met Mary Jones in Lima.", "entities": [
        {"start": 2, "end": 11, "label": "PER", "text": "Ana Lopez"}, {"start": 16, "end": 26, "label": "PER", "text": "Mary Jones"},
        {"start": 30, "end": 34, "label": "LOC", "text": "Lima"}]}]


def test_predict_conll_keeps_the_columns_and_checks_gold_tags(cli, model, tmp_path):
    f = tmp_path / "in.txt"
    f.write_text("Ana NNP B-PER\nLopez NNP I-PER\nleft VBD O\n\nMary NNP B-FOO\n\n", encoding="utf-8")
    out = cli(["tag", "-m", model, "--input-format", "conll", "--tag-col", "-1", f])
    assert out.exit_code == 0
    assert out.stdout == "Ana\tNNP\tB-PER\tB-PER\nLopez\tNNP\tI-PER\tI-PER\nleft\tVBD\tO\tO\n\nMary\tNNP\tB-FOO\tNA\n\n"
    assert "line 5: unknown tag 'B-FOO'" in out.stderr and out.stderr.count("\n") == 1
    jsonl = cli(["tag", "-m", model, "--input-format", "conll", "--tag-col", "2", "-f", "jsonl", f]).stdout.splitlines()
    assert json.loads(jsonl[1])["error"].startswith("unknown tag 'B-FOO'")
    strict = cli(["tag", "-m", model, "--input-format", "conll", "--tag-col", "-1", "--strict", f])
    assert strict.exit_code == 1 and strict.stderr.startswith("error: line 5: unknown tag 'B-FOO'") and strict.stderr.count("\n") == 1


def test_eval_text_and_json(cli, model, tmp_path):
    data = write_conll(tmp_path / "test.txt", sentences()[:3])
    text = cli(["tag", "eval", "-m", model, data])
    assert text.exit_code == 0 and "f1\t100.00" in text.stdout and "PER\t100.00\t100.00\t100.00\t6\t6" in text.stdout
    report = json.loads(cli(["tag", "eval", "-m", model, data, "--format", "json"]).stdout)
    assert report["overall"]["f1"] == 1.0 and report["sentences"] == 3 and report["accuracy"] == 1.0


@pytest.mark.parametrize("content, message", [
    ("a DT B-NP\nb NN I-NP\n\nc NN\n", "train.txt:4: 2 column(s) where the file's first token line has 3"),
    ("just\nwords\n", "train.txt:1: no tag column (--tag-col -1) in a line of 1 column(s)"),
])
def test_bad_training_data_gives_one_clear_line(cli, tmp_path, content, message):
    f = tmp_path / "train.txt"
    f.write_text(content, encoding="utf-8")
    result = cli(["tag", "train", f, "-o", tmp_path / "m", *TRAIN])
    assert result.exit_code == 1 and message in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_tag_help_imports_no_torch():
    code = "import sys\nfrom nlpkit_cli.app import app\ntry:\n    app(['tag', '--help'])\nexcept SystemExit:\n    pass\nprint('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "predict" in out.stdout and out.stdout.strip().endswith("False")


@pytest.mark.slow
def test_a_chunker_on_the_shipped_conll2000_sample_beats_75_f1(cli, tmp_path):
    # Calibration: seed 0 gives F1 0.800 (accuracy 0.889) on the 500 held-out sentences; about 20 s of CPU.
    from tests.conftest import CORPORA

    data = CORPORA / "conll2000"
    result = cli(["tag", "train", data / "conll2000.train.txt.gz", "-o", tmp_path / "m", "--d-model", "50", "--d-hidden", "64",
                  "--lr", "5e-3", "--epochs", "3", "--char-dim", "10", "--char-encoder", "cnn", "--threads", "1", "--device", "cpu", "-q"])
    assert result.exit_code == 0, result.output
    report = json.loads(cli(["tag", "eval", "-m", tmp_path / "m", data / "conll2000.test.txt.gz", "-f", "json"]).stdout)
    assert report["overall"]["f1"] >= 0.75 and report["sentences"] == 500
