"""`nlpkit embed ...`, `nlpkit analogy`, `nlpkit similar` through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from nlpkit.embeddings.formats import export_vectors, import_model
from tests.conftest import ROOT
from tests.test_embed_train import write_corpus

WORDS = ["man", "woman", "king", "queen", "apple"]
VECS = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1], [0, 0, -1]], dtype=np.float32)


@pytest.fixture
def model(tmp_path):
    export_vectors(WORDS, VECS, tmp_path / "v.txt", "word2vec")
    import_model(tmp_path / "v.txt", tmp_path / "m")
    return tmp_path / "m"


def one_error_line(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 1, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_analogy_formats_and_oov(cli, model):
    r = cli(["analogy", "-m", model, "man:woman::king"])
    assert r.exit_code == 0 and r.stdout.startswith("man:woman::king -> queen (")
    r = cli(["analogy", "-m", model, "-f", "jsonl", "--top-k", "2"], input="man is to woman as king is to ?\nman:nope::king\n\n")
    assert r.exit_code == 0
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(recs) == 3  # one record per input line, in order
    assert recs[0]["a"] == "man" and recs[0]["c"] == "king" and recs[0]["answers"][0]["word"] == "queen"
    assert len(recs[0]["answers"]) == 2 and set(recs[0]["answers"][0]) == {"word", "score"}
    assert recs[1]["oov_words"] == ["nope"] and recs[1]["text"] == "man:nope::king" and recs[1]["answers"] == []
    assert "nope" in r.stderr
    r = cli(["analogy", "-m", model, "-f", "tsv", "--method", "mul", "man:woman::king"])
    assert r.stdout.split("\t")[:4] == ["man", "woman", "king", "queen"]


def test_analogy_include_inputs_reports_rank(cli, model):
    r = cli(["analogy", "-m", model, "-f", "jsonl", "--include-inputs", "--topk", "3", "man:woman::king"])
    rec = json.loads(r.stdout)
    words = [a["word"] for a in rec["answers"]]
    assert rec["answer_rank"] == words.index("queen") + 1


def test_similar(cli, model):
    r = cli(["similar", "-m", model, "king", "-k", "2"])
    assert r.exit_code == 0 and r.stdout.startswith("king -> queen (")
    r = cli(["similar", "-m", model, "-f", "jsonl"], input="queen\nzebra\n")
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    assert recs[0]["word"] == "queen" and recs[0]["answers"][0]["word"] in ("king", "woman")
    assert recs[1]["oov_words"] == ["zebra"] and recs[1]["text"] == "zebra"


def test_eval_json(cli, model, tmp_path):
    q = tmp_path / "q.txt"
    q.write_text(": capital\nman woman king queen\n: gram1\nman woman king zzz\n")
    p = tmp_path / "p.tsv"
    p.write_text("king\tqueen\t9\nman\tapple\t1\nman\twoman\t5\n")
    r = cli(["embed", "eval", "-m", model, "--analogies", q, "--pairs", p, "-f", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["analogies"]["total"]["correct"] == 1 and out["analogies"]["total"]["oov"] == 1
    assert out["pairs"][0]["spearman"] == 1.0
    r = cli(["embed", "eval", "-m", model, "--analogies", q])
    assert "semantic" in r.stdout and "100.00%" in r.stdout


def test_export_import_round_trip_cli(cli, model, tmp_path):
    for fmt in ("word2vec", "word2vec-bin", "glove"):
        out = tmp_path / f"v.{fmt}"
        assert cli(["embed", "export", "-m", model, "--format", fmt, "-o", out]).exit_code == 0
        r = cli(["embed", "import", out, "-o", tmp_path / f"m-{fmt}"])
        assert r.exit_code == 0, r.output
        again = tmp_path / f"again.{fmt}"
        cli(["embed", "export", "-m", tmp_path / f"m-{fmt}", "--format", fmt, "-o", again])
        assert again.read_bytes() == out.read_bytes()


def test_train_cli_end_to_end(cli, tmp_path):
    corpus = write_corpus(tmp_path / "c.txt", sentences=300)
    r = cli(["embed", "train", corpus, "-o", tmp_path / "m", "--dim", "8", "--min-count", "1", "--epochs", "1", "--threads", "1", "--device", "cpu", "-q"])
    assert r.exit_code == 0, r.output
    assert r.stdout == ""  # data only on stdout, and training prints none
    assert cli(["similar", "-m", tmp_path / "m", "cat"]).exit_code == 0
    r = cli(["embed", "train", corpus, "-o", tmp_path / "g", "--algo", "glove", "--dim", "8", "--min-count", "1", "--epochs", "1", "--device", "cpu", "-q"])
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("algo", ["sg", "glove"])
def test_train_cli_metrics_and_leftover_checkpoint(cli, tmp_path, algo):
    corpus = write_corpus(tmp_path / "c.txt", sentences=300)
    base = ["embed", "train", corpus, "-o", tmp_path / "m", "--algo", algo, "--dim", "8", "--min-count", "1", "--threads", "1", "--device", "cpu", "-q"]
    r = cli([*base, "--epochs", "2", "--checkpoint-every", "1000", "--metrics", tmp_path / "m.jsonl"])
    assert r.exit_code == 0, r.output
    records = [json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert len(records) >= 3 and records[-1]["epoch"] == 2 and records[-1]["words"] == 6000
    assert all({"step", "epoch", "seconds", "loss", "lr"} <= set(rec) for rec in records)
    line = one_error_line(cli([*base, "--epochs", "1"]))
    assert "finished model" in line and "--force" in line  # replaced only on purpose, as by the engine's trainers
    (tmp_path / "m" / "checkpoint.pt").write_bytes(b"leftover")  # as a killed job leaves it
    line = one_error_line(cli([*base, "--epochs", "1"]))
    assert "unfinished job" in line and "--resume" in line and "--force" in line
    assert cli([*base, "--epochs", "1", "--force"]).exit_code == 0
    assert not (tmp_path / "m" / "checkpoint.pt").exists()


def test_train_cli_durations(cli, tmp_path):
    corpus = write_corpus(tmp_path / "c.txt", sentences=50)
    base = ["embed", "train", corpus, "-o", tmp_path / "m", "--dim", "8", "--min-count", "1", "-q"]
    assert "--max-time" in one_error_line(cli([*base, "--max-time", "soon"]))
    assert "--checkpoint-every" in one_error_line(cli([*base, "--checkpoint-every", "often"]))
    assert cli([*base, "--max-time", "1h", "--checkpoint-every", "90s", "--epochs", "1"]).exit_code == 0


def test_train_from_stdin(cli, tmp_path):
    text = write_corpus(tmp_path / "c.txt", sentences=200).read_text()
    r = cli(["embed", "train", "-", "-o", tmp_path / "m", "--dim", "8", "--min-count", "1", "--epochs", "1", "--threads", "1", "--device", "cpu", "-q"], input=text)
    assert r.exit_code == 0, r.output
    assert len((tmp_path / "m" / "vocab.tsv").read_text().splitlines()) == 24
    assert not [p for p in tmp_path.iterdir() if "stdin" in p.name]  # the spool file is gone


def test_bad_inputs_give_one_line(cli, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    assert "empty" in one_error_line(cli(["embed", "train", empty, "-o", tmp_path / "a", "-q"]))
    rare = tmp_path / "rare.txt"
    rare.write_text("just a few words here\n")
    assert "--min-count" in one_error_line(cli(["embed", "train", rare, "-o", tmp_path / "b", "-q"]))
    binary = tmp_path / "bin.dat"
    binary.write_bytes(b"\x00\x01\x02binary\x00" * 10)
    assert "binary" in one_error_line(cli(["embed", "train", binary, "-o", tmp_path / "c", "-q"]))
    corpus = write_corpus(tmp_path / "c.txt", sentences=20)
    assert "--dim" in one_error_line(cli(["embed", "train", corpus, "-o", tmp_path / "d", "--dim", "0", "-q"]))
    assert "does not exist" in one_error_line(cli(["analogy", "-m", tmp_path / "nowhere", "a:b::c"]))
    assert "not an nlpkit model" in one_error_line(cli(["similar", "-m", tmp_path, "x"]))
    baddim = tmp_path / "bad.vec"
    baddim.write_text("2 3\na 1 2 3\nb 1 2\n")
    assert "dimension" in one_error_line(cli(["embed", "import", baddim, "-o", tmp_path / "e"]))
    assert "no such file" in one_error_line(cli(["embed", "import", tmp_path / "missing.vec", "-o", tmp_path / "f"]))


def test_query_path_imports_no_torch(model):
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from nlpkit_cli.app import app\n"
        f"r = CliRunner().invoke(app, ['analogy', '-m', {str(model)!r}, 'man:woman::king'])\n"
        "assert r.exit_code == 0 and 'queen' in r.stdout, r.output\n"
        f"r = CliRunner().invoke(app, ['similar', '-m', {str(model)!r}, 'king'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(' '.join(m for m in ('torch', 'datasets', 'numba') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
