import bz2
import gzip
import io
import logging
import lzma

import pytest

from nlpkit.corpus import ReadStats, expand_inputs, read_lines, require_lines
from nlpkit.errors import CorpusError

TEXT = "first line\n\nthird line with ünïcode\r\nlast line without newline"
LINES = ["first line", "", "third line with ünïcode", "last line without newline"]


@pytest.mark.parametrize("opener,suffix", [(open, ".txt"), (gzip.open, ".gz"), (bz2.open, ".bz2"), (lzma.open, ".xz")])
def test_reads_plain_and_compressed_files(tmp_path, opener, suffix):
    path = tmp_path / f"a{suffix}"
    with opener(path, "wb") as f:
        f.write(TEXT.encode())
    assert list(read_lines([path])) == LINES


def test_compression_is_detected_by_content_not_name(tmp_path):
    path = tmp_path / "misnamed.txt"
    path.write_bytes(gzip.compress(b"hello\nworld\n"))
    assert list(read_lines([path])) == ["hello", "world"]


def test_directory_is_read_recursively_sorted_without_hidden_files(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.txt").write_text("b2\n")
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / ".hidden.txt").write_text("hidden\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x").write_text("git\n")
    assert list(read_lines([tmp_path])) == ["a", "b2"]


def test_glob_and_several_inputs_keep_order(tmp_path):
    for name in ["x1.txt", "x2.txt", "y.txt"]:
        (tmp_path / name).write_text(name + "\n")
    assert list(read_lines([str(tmp_path / "x*.txt"), tmp_path / "y.txt"])) == ["x1.txt", "x2.txt", "y.txt"]


def test_stdin_is_the_default(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"one\ntwo\n")))
    assert list(read_lines(None)) == ["one", "two"]
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(gzip.compress(b"zipped\n"))))
    assert list(read_lines(["-"])) == ["zipped"]


def test_invalid_utf8_is_replaced_and_counted_once(tmp_path, caplog):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"ok\nbad \xff\xfe here\nfine\n")
    stats = ReadStats()
    with caplog.at_level(logging.WARNING, logger="nlpkit"):
        lines = list(read_lines([path], stats=stats))
    assert lines == ["ok", "bad \ufffd\ufffd here", "fine"]
    assert stats.bytes_replaced == 2 and stats.lines == 3 and stats.files == 1
    warnings = [r for r in caplog.records if "invalid UTF-8" in r.getMessage()]
    assert len(warnings) == 1 and "2 invalid" in warnings[0].getMessage()


def test_strict_utf8_names_the_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"ok\nbad \xff\n")
    with pytest.raises(CorpusError, match=r"invalid UTF-8 .* line 2"):
        list(read_lines([path], strict_utf8=True))


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(CorpusError, match="binary"):
        list(read_lines([path]))


def test_truncated_gzip_is_a_clear_error(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(b"some text\n" * 1000)[:-30])
    with pytest.raises(CorpusError, match="cannot read"):
        list(read_lines([path]))


@pytest.mark.parametrize("make,message", [
    (lambda p: str(p / "missing.txt"), "no such file"),
    (lambda p: str(p / "*.nothing"), "no files match"),
    (lambda p: (p / "empty").mkdir() or str(p / "empty"), "no text files"),
])
def test_missing_inputs_are_errors(tmp_path, make, message):
    with pytest.raises(CorpusError, match=message):
        expand_inputs([make(tmp_path)])


def test_require_lines_rejects_blank_input():
    with pytest.raises(CorpusError, match="empty"):
        list(require_lines(["", "   ", ""]))
    assert list(require_lines(["", "x"])) == ["", "x"]


def test_jsonl_goes_through_datasets_with_text_field(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text('{"body": "first record", "id": 1}\n{"body": "second", "id": 2}\n')
    assert list(read_lines([path], text_field="body")) == ["first record", "second"]
    with pytest.raises(CorpusError, match="no field 'text'"):
        list(read_lines([path]))


def test_hf_source_names_are_parsed(tmp_path):
    with pytest.raises(CorpusError, match="bad dataset name"):
        list(read_lines(["hf:"]))


def test_parquet_goes_through_datasets(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "data.parquet"
    pq.write_table(pa.table({"text": ["alpha beta", None, "gamma"], "label": [1, 0, 1]}), path)
    assert list(read_lines([path])) == ["alpha beta", "", "gamma"]


def test_local_dataset_folder_through_hf_prefix(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "train.jsonl").write_text('{"text": "from a folder"}\n')
    assert list(read_lines([f"hf:{folder}"])) == ["from a folder"]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 16])
def test_lines_are_the_same_whatever_the_read_size(tmp_path, monkeypatch, chunk):
    import nlpkit.corpus as corpus

    monkeypatch.setattr(corpus, "_CHUNK", chunk)
    raw = "één\r\nzwei\rdrei\n\n\r\n  vier  \r\nfünf – sechs\r".encode() + b"\xff\xfeend\r\n\xe2\x82"
    (tmp_path / "a.txt").write_bytes(raw)
    stats = ReadStats()
    lines = list(read_lines([str(tmp_path / "a.txt")], stats=stats))
    # lines end at \n only, one trailing \r dropped; a bad byte is U+FFFD, one for a cut-off last character
    assert lines == ["één", "zwei\rdrei", "", "", "  vier  ", "fünf – sechs\r\ufffd\ufffdend", "\ufffd"]
    assert stats.bytes_replaced == 4 and stats.lines == 7
    (tmp_path / "b.txt").write_bytes(b"x\n\xe2\x82\r")
    assert list(read_lines([str(tmp_path / "b.txt")])) == ["x", "\ufffd"]
