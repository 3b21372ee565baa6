"""The record contract of every record-per-line command (README, "Conventions"; issue 11).

Each command gets three input lines with a bad one in the middle and must write three records in
order plus a warning; where the bad line is a real error (not just replaced bytes), ``--strict``
turns it into exit 1 with one ``error:`` line; ``--echo`` appends the input line as the last
TSV column.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import BERT_VOCAB

BAD_UTF8 = b"caf\xff\xfe"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny artefacts of every kind a record-per-line command reads."""
    import torch
    from typer.testing import CliRunner

    from nlpkit.bert.artifact import save_bert
    from nlpkit.bert.model import Bert, BertConfig
    from nlpkit.embeddings.formats import export_vectors, import_model
    from nlpkit.wordpiece import load_tokenizer
    from nlpkit_cli.app import app

    threads = torch.get_num_threads()
    d = tmp_path_factory.mktemp("contract")
    run = CliRunner().invoke
    words = ["man", "woman", "king", "queen", "apple"]
    vecs = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1], [0, 0, -1]], dtype=np.float32)
    export_vectors(words, vecs, d / "v.txt", "word2vec")
    import_model(d / "v.txt", d / "vec")

    torch.manual_seed(0)
    tok = load_tokenizer(BERT_VOCAB)
    cfg = BertConfig(vocab_size=tok.get_vocab_size(), hidden=16, layers=1, heads=2, intermediate=32, max_position=32, pad_id=0)
    save_bert(d / "bert", Bert(cfg).eval(), tok)

    rows = ["pos\tgreat fun", "pos\twonderful film", "neg\tawful film", "neg\tboring mess"] * 2
    (d / "cls.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    r = run(app, ["classify", "train", str(d / "cls.tsv"), "-o", str(d / "cls"), "--epochs", "2", "--min-count", "1", "--threads", "1", "-q"])
    assert r.exit_code == 0, r.output

    pairs = ["one two\teins zwei", "three\tdrei", "two three\tzwei drei", "one\teins"] * 5
    (d / "mt.tsv").write_text("\n".join(pairs) + "\n", encoding="utf-8")
    r = run(app, ["translate", "train", str(d / "mt.tsv"), "-o", str(d / "mt"), "--src-col", "2", "--tgt-col", "1", "--epochs", "1",
                  "--d-embed", "8", "--d-hidden", "8", "--d-attn", "8", "--vocab-size", "40", "--device", "cpu", "--threads", "1", "-q"])
    assert r.exit_code == 0, r.output

    (d / "lm.txt").write_text("the cat sat\nthe dog sat\na cat ran\n" * 5, encoding="utf-8")
    r = run(app, ["lm", "train", str(d / "lm.txt"), "-o", str(d / "lm"), "--order", "2", "-q"])
    assert r.exit_code == 0, r.output
    conll = "He NN B-NP\nsaw VB O\nMary NN B-NP\n\nMary NN B-NP\nran VB O\n\n" * 4
    (d / "tag.txt").write_text(conll, encoding="utf-8")
    r = run(app, ["tag", "train", str(d / "tag.txt"), "-o", str(d / "tag"), "--epochs", "1", "--threads", "1", "-q"])
    assert r.exit_code == 0, r.output
    torch.set_num_threads(threads)
    return d


# (name, args, three input lines with the bad one in the middle, True when the bad line is an error)
CASES = [
    ("tokenize", ["tokenize", "-m", str(BERT_VOCAB)], [b"the cat", BAD_UTF8, b"a dog"], False),
    ("tokenize --decode", ["tokenize", "-m", str(BERT_VOCAB), "--decode"], [b"1996 4937", b"the cat", b"1037"], True),
    ("analogy", ["analogy", "-m", "{d}/vec"], [b"man:woman::king", b"not a query at all", b"man:king::woman"], True),
    ("similar", ["similar", "-m", "{d}/vec"], [b"king", b"zebra", b"queen"], True),
    ("lm score", ["lm", "score", "-m", "{d}/lm"], [b"the cat sat", BAD_UTF8, b"a dog ran"], False),
    ("translate", ["translate", "-m", "{d}/mt", "--device", "cpu"], [b"eins zwei", BAD_UTF8, b"drei"], False),
    ("classify", ["classify", "-m", "{d}/cls", "--input-format", "tsv", "--device", "cpu"], [b"x\tgreat fun", b"no tab here", b"x\tawful"], True),
    ("classify --text-col 4", ["classify", "-m", "{d}/cls", "--text-col", "4"], [b"a\tb\tc\tgreat", b"a\tb\tc", b"a\tb\tc\tawful"], True),
    ("bert fill-mask", ["bert", "fill-mask", "-m", "{d}/bert", "--device", "cpu"], [b"a [MASK] dog", b"no mask here", b"the [MASK] ."], True),
    ("bert embed", ["bert", "embed", "-m", "{d}/bert", "--device", "cpu"], [b"a dog", BAD_UTF8, b"the cat"], False),
    ("tag", ["tag", "-m", "{d}/tag", "--device", "cpu"], [b"He saw Mary", BAD_UTF8, b"Mary ran"], False),
]
JSONL = {"tokenize": "jsonl", "analogy": "jsonl", "similar": "jsonl", "lm score": "jsonl", "translate": "jsonl",
         "classify": "jsonl", "classify --text-col 4": "jsonl", "bert fill-mask": "jsonl", "tag": "jsonl"}
ECHO = {"tokenize", "tokenize --decode", "analogy", "similar", "translate", "classify", "classify --text-col 4", "bert fill-mask"}


RECORD_COMMANDS = {  # every record-per-line command, by the command it reaches
    "tokenize encode": "tokenize", "analogy": "analogy", "similar": "similar", "lm score": "lm score",
    "translate decode": "translate", "classify predict": "classify", "bert fill-mask": "bert fill-mask",
    "bert embed": "bert embed", "tag predict": "tag",
}


def test_every_record_per_line_command_is_walked():
    """A record-per-line command (tag once it is registered) needs a case in CASES."""
    from tests.test_cli_app import _command_paths

    present = {" ".join(p) for p in _command_paths()}
    walked = {c[0] for c in CASES}
    missing = [path for path, case in RECORD_COMMANDS.items() if path in present and case not in walked]
    assert not missing, f"add a CASES entry (a bad line in the middle) for: {missing}"


def _args(args, d):
    return [a.replace("{d}", str(d)) for a in args]


def _invoke(runner, args, lines):
    from nlpkit_cli.app import app

    return runner.invoke(app, args, input=b"".join(line + b"\n" for line in lines))


@pytest.mark.parametrize("name,args,lines,is_error", CASES, ids=[c[0] for c in CASES])
def test_a_bad_line_gets_a_record_and_a_warning(runner, models, name, args, lines, is_error):
    args = _args(args, models)
    fmt = ["-f", JSONL[name]] if name in JSONL else []
    r = _invoke(runner, [*args, *fmt], lines)
    assert r.exit_code == 0, r.output
    out = r.stdout.split("\n")
    assert out[-1] == "" and len(out) == 4, r.stdout  # one record per input line
    assert "warning" in r.stderr, r.stderr
    if name in JSONL:
        recs = [json.loads(line) for line in out[:3]]
        assert all("error" not in rec for rec in (recs[0], recs[2])), recs
        if is_error:
            assert recs[1]["error"] and recs[1]["text"] == lines[1].decode(), recs[1]
    if is_error:
        strict = _invoke(runner, [*args, *fmt, "--strict"], lines)
        errors = [line for line in strict.stderr.splitlines() if line.startswith("error: ")]
        assert strict.exit_code == 1 and len(errors) == 1 and "line 2" in errors[0], strict.output


@pytest.mark.parametrize("name,args,lines", [(c[0], c[1], c[2]) for c in CASES if c[0] in ECHO], ids=sorted(ECHO, key=[c[0] for c in CASES].index))
def test_echo_appends_the_input_line(runner, models, name, args, lines):
    fmt = ["-f", "tsv"] if name in ("analogy", "similar", "classify", "classify --text-col 4") else []
    r = _invoke(runner, [*_args(args, models), *fmt, "--echo"], lines)
    assert r.exit_code == 0, r.output
    rows = r.stdout.splitlines()
    assert len(rows) == 3
    for row, line in zip(rows, lines):
        assert row.endswith("\t" + line.decode("utf-8", "replace").replace("\t", " ")), (row, line)


def test_records_use_the_glossary(runner, models):
    """Field names of the glossary: text first, oov_words a list, score defined, 6 significant digits."""
    r = _invoke(runner, ["analogy", "-m", str(models / "vec"), "-f", "jsonl"], [b"man:woman::king", b"man:nope::king"])
    good, bad = (json.loads(line) for line in r.stdout.splitlines())
    assert list(good)[0] == "text" and good["answers"][0]["word"] == "queen"
    assert bad["oov_words"] == ["nope"] and "oov" not in bad
    score = good["answers"][0]["score"]
    assert score == float(f"{score:.6g}")
    r = _invoke(runner, ["classify", "-m", str(models / "cls"), "-f", "jsonl"], [b"great fun"])
    rec = json.loads(r.stdout)
    assert rec["text"] == "great fun" and rec["score"] == rec["scores"][rec["label"]]
    r = _invoke(runner, ["translate", "-m", str(models / "mt"), "-f", "jsonl", "--device", "cpu"], [b"eins"])
    rec = json.loads(r.stdout)
    assert rec["text"] == "eins" and all(h["logprob"] <= 0 for h in rec["hypotheses"])


def test_top_k_and_its_old_name(runner, models):
    new = _invoke(runner, ["similar", "-m", str(models / "vec"), "-f", "jsonl", "--top-k", "2"], [b"king"])
    old = _invoke(runner, ["similar", "-m", str(models / "vec"), "-f", "jsonl", "--topk", "2"], [b"king"])
    assert new.stdout == old.stdout and len(json.loads(new.stdout)["answers"]) == 2


def test_max_vocab_is_the_one_name_for_a_vocabulary_limit(cli, tmp_path):
    (tmp_path / "t.txt").write_text("a a a b b c\na b\n", encoding="utf-8")
    for flag in ("--max-vocab", "--vocab-limit"):  # the old name still works, hidden from help
        r = cli(["lm", "train", tmp_path / "t.txt", "-o", tmp_path / flag, "--order", "2", flag, "1", "-q"])
        assert r.exit_code == 0, r.output
        config = json.loads((tmp_path / flag / "config.json").read_text())
        assert config["model"]["vocab_limit"] == 1
    assert "--vocab-limit" not in cli(["lm", "train", "--help"]).stdout
