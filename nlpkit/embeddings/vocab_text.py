"""``vocab.tsv`` read for a few lookups, without numpy and without parsing every line.

The file has one ``word<TAB>count`` line per row of the vectors, in row order. ``Vocab.load`` turns
the whole file into a word list; a one-off query needs the rows of three words and the words of a
few rows, so here a word's row is found by searching the text for ``\\n word \\t`` and counting the
line breaks before it, and the lines are split (not parsed) only as far as the last row asked for.
"""

from __future__ import annotations

from pathlib import Path

VOCAB_FILE = "vocab.tsv"


class VocabText:
    """Rows <-> words of one ``vocab.tsv``, as ``Vocab.load`` reads them (first row of a repeated word)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._rows = text.count("\n") + (1 if text and not text.endswith("\n") else 0)
        self._lines: list[str] = []  # the first lines (the last item: the rest of the text)

    @classmethod
    def read(cls, directory: str | Path) -> VocabText | None:
        """The vocabulary, or None where ``Vocab.load`` could read it otherwise (a reason to use it instead).

        ``Vocab.load`` reads text mode (``\\r`` turns into a line break) and takes the text before
        each line's last tab as its word, skipping lines without one. Both agree when the file has
        no ``\\r`` and as many tabs as lines: a file written by ``Vocab.save`` (its words never hold
        whitespace). A file hand-edited to one line with no tab and another with two would pass
        this check and be read differently; ``read_config`` checks the recorded size first.
        """
        try:
            text = (Path(directory) / VOCAB_FILE).read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        vocab = cls(text)
        return None if "\r" in text or text.count("\t") != len(vocab) else vocab

    def __len__(self) -> int:
        return self._rows

    def find(self, word: str) -> int | None:
        """Row of ``word`` (the first, as ``list.index``), or None."""
        if "\n" in word or "\t" in word:
            return None  # no row's word holds either (a tab would need a line with two)
        if self._text.startswith(word + "\t"):
            return 0
        at = self._text.find("\n" + word + "\t")
        return None if at < 0 else self._text.count("\n", 0, at) + 1

    def word(self, row: int) -> str:
        return self.words([row])[0]

    def words(self, rows: list[int]) -> list[str]:
        """The words of ``rows``; one C-level split up to the last of them (answers are often frequent words)."""
        if rows and max(rows) >= len(self._lines) - 1:
            self._lines = self._text.split("\n", max(max(rows) + 1, 2 * len(self._lines)))
        return [self._lines[row].rpartition("\t")[0] for row in rows]
