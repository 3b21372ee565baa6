"""Word-level tokenisation and vocabulary for the ``avg`` and ``bilstm`` classifiers.

Tokenisation: lowercase, HTML line breaks (``<br />``, common in review data) become spaces,
then words are runs of letters/digits/underscore/apostrophe-inside-word and every other
non-space character is a token of its own: ``"Don't stop, it's GREAT!"`` ->
``["don't", "stop", ",", "it's", "great", "!"]``.

The vocabulary keeps words seen at least ``min_count`` times in the training text, most frequent
first (ties alphabetical, so a corpus always gives the same ids), capped at ``max_vocab``.
Id 0 is ``<pad>`` and id 1 is ``<unk>`` (every unknown word).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from nlpkit.errors import ConfigError, CorpusError

PAD = "<pad>"
UNK = "<unk>"
PAD_ID = 0
UNK_ID = 1

_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TOKEN = re.compile(r"\w+(?:'\w+)*|[^\w\s]")


def word_tokens(text: str) -> list[str]:
    return _TOKEN.findall(_BREAK.sub(" ", text.lower()))


class WordVocab:
    """token <-> id; ``tokens[0]`` is ``<pad>``, ``tokens[1]`` is ``<unk>``."""

    def __init__(self, tokens: list[str]) -> None:
        if tokens[:2] != [PAD, UNK]:
            raise ConfigError("a word vocabulary must start with <pad>, <unk>")
        self.tokens = tokens
        self.index = {t: i for i, t in enumerate(tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str, max_len: int = 0) -> list[int]:
        """Ids of the words of ``text`` (the first ``max_len`` when ``max_len`` > 0)."""
        words = word_tokens(text)
        if max_len > 0:
            words = words[:max_len]
        get = self.index.get
        return [get(w, UNK_ID) for w in words]


def build_vocab(texts: Iterable[str], min_count: int = 1, max_vocab: int = 0) -> WordVocab:
    if min_count < 1:
        raise ConfigError("--min-count must be at least 1")
    if max_vocab < 0:
        raise ConfigError("--max-vocab must be 0 (no limit) or more")
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(word_tokens(text))
    kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    if max_vocab:
        kept = kept[:max_vocab]
    if not kept:
        raise CorpusError(f"no word occurs {min_count} time(s) in the training text", "lower --min-count or give more text")
    return WordVocab([PAD, UNK, *kept])
