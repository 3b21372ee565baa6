"""Token vocabularies for the neural LMs: whole words from the corpus, or a WordPiece tokenizer.

Word vocabulary: id 0 ``<unk>``, id 1 ``</s>`` (the sentence boundary, also the input that starts a
sentence, so ``<s>`` needs no id of its own), then words by falling frequency. A literal ``<unk>``
in the text is the unknown word. WordPiece: the tokenizer's pieces; ``[SEP]`` is the boundary and
``[UNK]`` the unknown piece. Either way ``encode(line)`` gives the ids of one sentence without
boundaries, and a line's ``tokens`` (for perplexity) is its whitespace words plus one for ``</s>``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from nlpkit.errors import ConfigError, CorpusError

UNK, EOS = "<unk>", "</s>"


class WordVocab:
    """Whole-word vocabulary; ``pieces`` is the id -> word list."""

    kind = "words"

    def __init__(self, pieces: list[str]) -> None:
        self.pieces = pieces
        self.index = {w: i for i, w in enumerate(pieces)}
        self.unk_id, self.eos_id = 0, 1

    @classmethod
    def build(cls, lines: Iterable[str], min_count: int = 1, max_vocab: int | None = None) -> WordVocab:
        freq: Counter[str] = Counter()
        for line in lines:
            freq.update(line.split())
        for special in (UNK, EOS, "<s>"):
            freq.pop(special, None)
        if not freq:
            raise CorpusError("the training text is empty (no words)", "give a file with text")
        kept = sorted((w for w, c in freq.items() if c >= min_count), key=lambda w: (-freq[w], w))
        if max_vocab is not None:
            kept = kept[: max(0, max_vocab - 2)]
        return cls([UNK, EOS, *kept])

    def __len__(self) -> int:
        return len(self.pieces)

    def encode(self, line: str) -> list[int]:
        get = self.index.get
        return [get(w, 0) for w in line.split()]

    def decode(self, ids: Iterable[int]) -> str:
        return " ".join(self.pieces[i] for i in ids)

    def save(self, directory: Path) -> str:
        (directory / "vocab.txt").write_text("".join(w + "\n" for w in self.pieces), encoding="utf-8")
        return "vocab.txt"


class PieceVocab:
    """A WordPiece tokenizer (``nlpkit tokenize train``) used as the LM's vocabulary."""

    kind = "wordpiece"

    def __init__(self, tokenizer) -> None:  # noqa: ANN001 - tokenizers.Tokenizer
        self.tok = tokenizer
        vocab = tokenizer.get_vocab()
        self.pieces = [p for p, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
        for special in ("[UNK]", "[SEP]"):
            if special not in vocab:
                raise ConfigError(f"the tokenizer has no {special} token", "train it with `nlpkit tokenize train`")
        self.unk_id, self.eos_id = vocab["[UNK]"], vocab["[SEP]"]

    def __len__(self) -> int:
        return len(self.pieces)

    def encode(self, line: str) -> list[int]:
        return self.tok.encode(line, add_special_tokens=False).ids

    def decode(self, ids: Iterable[int]) -> str:
        return self.tok.decode(list(ids))

    def save(self, directory: Path) -> str:
        self.tok.save(str(directory / "tokenizer.json"))
        return "tokenizer.json"


def load_vocab(directory: Path, kind: str) -> WordVocab | PieceVocab:
    if kind == "wordpiece":
        from nlpkit.wordpiece import load_tokenizer

        return PieceVocab(load_tokenizer(directory / "tokenizer.json"))
    return WordVocab((directory / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1])
