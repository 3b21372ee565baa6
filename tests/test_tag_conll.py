"""Reading CoNLL columns and JSONL: sentences, -DOCSTART-, columns, and one clear error for bad files."""

from __future__ import annotations

import gzip

import pytest

from nlpkit.errors import CorpusError
from nlpkit.tag.conll import Columns, read_sentences, read_tagged


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_columns_blank_lines_and_docstart(tmp_path):
    f = write(tmp_path / "d.txt", "-DOCSTART- -X- O\n\nConfidence NN B-NP\nin\tIN  B-PP\n\n\nthe DT B-NP\n")
    s = read_tagged([f], Columns())
    assert [x.tokens for x in s] == [["Confidence", "in"], ["the"]]
    assert [x.tags for x in s] == [["B-NP", "B-PP"], ["B-NP"]]
    assert s[0].columns[1] == ["in", "IN", "B-PP"] and s[1].where.endswith("d.txt:7") and s[1].lineno == 7
    pos = read_tagged([f], Columns(word_col=0, tag_col=1))
    assert pos[0].tags == ["NN", "IN"]


def test_compressed_and_jsonl(tmp_path):
    gz = tmp_path / "d.txt.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write("a X\nb Y\n")
    j = write(tmp_path / "d.jsonl", '{"tokens": ["Ana", "vive"], "tags": ["B-PER", "O"]}\n\n{"tokens": ["Sí"], "tags": ["O"]}\n')
    s = read_tagged([str(gz), j], Columns())
    assert [x.tokens for x in s] == [["a", "b"], ["Ana", "vive"], ["Sí"]]
    untagged = list(read_sentences([j], Columns(tag_col=None)))
    assert untagged[0].tags == ["B-PER", "O"]


def test_ragged_columns_are_one_clear_error(tmp_path):
    f = write(tmp_path / "d.txt", "a DT B-NP\nb NN I-NP\n\nc NN\n")
    with pytest.raises(CorpusError, match=r"d.txt:4: 2 column\(s\) where the file's first token line has 3"):
        read_tagged([f], Columns())


def test_a_missing_tag_column_is_one_clear_error(tmp_path):
    f = write(tmp_path / "d.txt", "just\nwords\n")
    with pytest.raises(CorpusError, match=r"d.txt:1: no tag column \(--tag-col -1\) in a line of 1 column"):
        read_tagged([f], Columns())
    g = write(tmp_path / "g.txt", "a B-NP\n")
    with pytest.raises(CorpusError, match="no tag column"):
        read_tagged([g], Columns(tag_col=3))


def test_bad_jsonl_and_empty_data(tmp_path):
    f = write(tmp_path / "d.jsonl", '{"tokens": ["a", "b"], "tags": ["O"]}\n')
    with pytest.raises(CorpusError, match="as long as"):
        read_tagged([f], Columns())
    e = write(tmp_path / "e.txt", "\n-DOCSTART- -X- O\n\n")
    with pytest.raises(CorpusError, match="holds no sentences"):
        read_tagged([e], Columns())
