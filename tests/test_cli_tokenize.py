import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import BERT_VOCAB, CORPORA, interruptible

CORPUS = "\n".join(["the cat sat on the mat", "the dog sat on the log", "a cat and a dog", ""] * 30)


@pytest.fixture
def model(tmp_path, cli):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(CORPUS + "\n")
    out = tmp_path / "wp"
    result = cli(["tokenize", "train", corpus, "-o", out, "--vocab-size", "60", "--min-frequency", "1"])
    assert result.exit_code == 0, result.output
    return out


def test_train_writes_the_artifact(model):
    config = json.loads((model / "config.json").read_text())
    assert config["kind"] == "wordpiece" and config["model"]["vocab_size"] == 60
    assert config["data"]["lines"] == 120
    vocab = (model / "vocab.txt").read_text().split("\n")
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] and "cat" in vocab
    assert (model / "tokenizer.json").exists()


def test_encode_formats_keep_one_line_per_input_line(cli, model):
    text = "The cat sat.\n\nA dog and a cat\n"
    tokens = cli(["tokenize", "-m", model], input=text)
    assert tokens.exit_code == 0
    assert tokens.stdout.split("\n") == ["the cat sat [UNK]", "", "a dog and a cat", ""]
    ids = cli(["tokenize", "-m", model, "-f", "ids", "--special-tokens"], input=text).stdout.split("\n")
    assert len(ids) == 4 and ids[1] == "2 3" and ids[0].startswith("2 ") and ids[0].endswith(" 3")
    record = json.loads(cli(["tokenize", "encode", "-m", model, "--format", "jsonl"], input="The cat\n").stdout)
    assert record["tokens"] == ["the", "cat"] and record["offsets"] == [[0, 3], [4, 7]] and record["word_ids"] == [0, 1]


def test_max_length_and_decode(cli, model):
    out = cli(["tokenize", "-m", model, "--max-length", "2"], input="the cat sat on the mat\n").stdout
    assert out == "the cat\n"
    ids = cli(["tokenize", "-m", model, "-f", "ids", "--special-tokens"], input="the cat sat\n").stdout
    assert cli(["tokenize", "-m", model, "--decode"], input=ids).stdout == "the cat sat\n"


def test_plain_bert_vocab_and_case_option(cli):
    assert cli(["tokenize", "-m", BERT_VOCAB], input="Hello World\n").stdout == "hello world\n"
    assert cli(["tokenize", "-m", BERT_VOCAB, "--no-lowercase"], input="Hello\n").stdout == "[UNK]\n"


def test_stats(cli, model, tmp_path):
    (tmp_path / "t.txt").write_text("the cat\nzebra\n")
    stats = json.loads(cli(["tokenize", "stats", "-m", model, tmp_path / "t.txt", "-f", "json"]).stdout)
    assert stats["lines"] == 2 and stats["words"] == 3 and stats["pieces"] >= 3
    vocab = (model / "vocab.txt").read_text().split()
    assert 0 < stats["unk_rate"] < 1 and stats["vocab_size"] == len(vocab) <= 60
    text = cli(["tokenize", "stats", "-m", model, tmp_path / "t.txt"]).stdout
    assert "pieces_per_word\t" in text


@pytest.mark.parametrize("setup,args,message", [
    (lambda p: None, ["tokenize", "-m", "{p}/nope"], "does not exist"),
    (lambda p: None, ["tokenize", "-m", str(BERT_VOCAB), "{p}/missing.txt"], "no such file"),
    (lambda p: (p / "empty.txt").write_text("\n\n"), ["tokenize", "train", "{p}/empty.txt", "-o", "{p}/out"], "empty"),
    (lambda p: (p / "bad.txt").write_bytes(b"ok\n\xff\n"), ["tokenize", "-m", str(BERT_VOCAB), "--strict-utf8", "{p}/bad.txt"], "invalid UTF-8"),
    (lambda p: (p / "x.bin").write_bytes(b"\0" * 64), ["tokenize", "-m", str(BERT_VOCAB), "{p}/x.bin"], "binary"),
    (lambda p: (p / "d").mkdir(), ["tokenize", "train", "{p}/d", "-o", "{p}/out"], "no text files"),
    (lambda p: (p / "m").mkdir() or (p / "m" / "tokenizer.json").write_text("{"), ["tokenize", "-m", "{p}/m"], "not a valid tokenizer"),
    (lambda p: None, ["tokenize", "-m", str(BERT_VOCAB), "--decode", "--strict"], "not a list of token ids"),
])
def test_bad_input_gives_one_line_and_exit_1(cli, tmp_path, setup, args, message):
    setup(tmp_path)
    result = cli([a.format(p=tmp_path) for a in args], input="not ids\n")
    assert result.exit_code == 1
    lines = result.stderr.strip().split("\n")
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.output


def test_usage_error_exits_2(cli):
    assert cli(["tokenize", "-m", BERT_VOCAB, "--format", "xml"]).exit_code == 2


def test_debug_shows_the_traceback(runner, tmp_path):
    from nlpkit_cli.app import app

    result = runner.invoke(app, ["--debug", "tokenize", "-m", str(tmp_path / "nope")])
    assert result.exit_code == 1 and result.exception is not None


def test_second_job_on_a_locked_directory_fails_at_once(cli, tmp_path):
    from nlpkit.locking import output_lock

    (tmp_path / "c.txt").write_text(CORPUS)
    with output_lock(tmp_path / "out"):
        result = cli(["tokenize", "train", tmp_path / "c.txt", "-o", tmp_path / "out"])
    assert result.exit_code == 1 and "in use by another job" in result.stderr


def _nlpkit(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "nlpkit_cli", *map(str, args)], **kw)


def test_closed_pipe_ends_quietly(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("the quick brown fox jumps over the lazy dog\n" * 200000)
    proc = _nlpkit("tokenize", "-m", BERT_VOCAB, big, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"the quick brown fox jumps over the lazy dog\n"
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGPIPE and err == b""


def test_ctrl_c_exits_130_without_traceback():
    proc = _nlpkit("tokenize", "-m", BERT_VOCAB, "--line-buffered", stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                   preexec_fn=interruptible)
    proc.stdin.write(b"hello world\n")
    proc.stdin.flush()
    # Once the first line comes back the process is in its main loop, blocked on stdin.
    assert proc.stdout.readline() == b"hello world\n"
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130 and b"Traceback" not in proc.stderr.read()


def test_quick_commands_do_not_import_torch_or_datasets(tmp_path):
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from nlpkit_cli.app import app\n"
        "r = CliRunner()\n"
        "assert r.invoke(app, ['--help']).exit_code == 0\n"
        f"assert r.invoke(app, ['tokenize', '-m', {str(BERT_VOCAB)!r}], input='hi there\\n').stdout == 'hi there\\n'\n"
        "heavy = [m for m in ('torch', 'datasets', 'transformers') if m in sys.modules]\n"
        "print(' '.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=dict(os.environ))
    assert out.stdout.strip() == ""


def test_module_entry_point_and_version():
    out = subprocess.run([sys.executable, "-m", "nlpkit_cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("nlpkit ")


def test_shipped_corpus_tokenizes(cli):
    result = cli(["tokenize", "-m", BERT_VOCAB, CORPORA / "ptb" / "ptb.valid.txt.gz"])
    assert result.exit_code == 0 and result.stdout.count("\n") == 1000


class _CountingStream:
    def __init__(self):
        self.parts, self.flushes = [], 0

    def write(self, text):
        self.parts.append(text)

    def flush(self):
        self.flushes += 1


def test_record_writer_flushes_per_record_only_when_line_buffered():
    from nlpkit_cli._common import RecordWriter

    for line_buffered, flushes in ((True, 3), (False, 0)):
        writer = RecordWriter(line_buffered)
        writer.stream = stream = _CountingStream()
        writer.write("a")
        writer.write_block("b\nc\n")
        writer.write("d")
        assert "".join(stream.parts) == "a\nb\nc\nd\n" and stream.flushes == flushes
