"""Sentences to tensors: the word, character and tag vocabularies, case features, WordPieces, batches.

Word-level models (bilstm, unidirectional) see per token: a word id (looked up lowercased when
``lowercase``), a case class (``CASES``: what lowercasing hides) and the token's character ids.
BERT sees ``[CLS] pieces [SEP]`` and takes each word's score from its first piece (``first``).
Ids 0 and 1 are ``<pad>`` and ``<unk>`` in the word and character vocabularies.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from tokenizers import Tokenizer

PAD, UNK = "<pad>", "<unk>"
CASES = ("<pad>", "lower", "upper", "title", "mixed", "digits", "other")
MAX_WORD_CHARS = 30  # longer words keep their first characters only: a bound on the (B, T, L) tensor


def case_id(word: str) -> int:
    if word.isdigit():
        return 5
    if not any(c.isalpha() for c in word):
        return 6
    if word.islower():
        return 1
    if word.isupper():
        return 2
    if word[0].isupper() and word[1:].islower():
        return 3
    return 4


@dataclass
class TagVocab:
    words: list[str]  # id = position
    chars: list[str]
    tags: list[str]  # the model's tags, in the training scheme
    lowercase: bool = True
    _w: dict[str, int] = field(init=False, repr=False)
    _c: dict[str, int] = field(init=False, repr=False)
    _t: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._w = {w: i for i, w in enumerate(self.words)}
        self._c = {c: i for i, c in enumerate(self.chars)}
        self._t = {t: i for i, t in enumerate(self.tags)}

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], tags: Sequence[str], min_count: int, lowercase: bool,
              extra_words: Iterable[str] = ()) -> TagVocab:
        """Words seen ``min_count`` times (plus ``extra_words``, e.g. those the vectors know), chars seen at all."""
        words: Counter[str] = Counter()
        chars: Counter[str] = Counter()
        for tokens in sentences:
            words.update(t.lower() if lowercase else t for t in tokens)
            for t in tokens:
                chars.update(t[:MAX_WORD_CHARS])
        kept = [w for w, n in sorted(words.items(), key=lambda x: (-x[1], x[0])) if n >= min_count]
        seen = set(kept)
        kept += sorted({w for w in extra_words if w not in seen})
        return cls([PAD, UNK, *kept], [PAD, UNK, *sorted(chars)], list(tags), lowercase)

    def word_id(self, token: str) -> int:
        return self._w.get(token.lower() if self.lowercase else token, 1)

    def tag_ids(self, tags: Sequence[str]) -> list[int]:
        return [self._t[t] for t in tags]

    def to_json(self) -> dict[str, Any]:
        return {"words": self.words, "chars": self.chars, "tags": self.tags, "lowercase": self.lowercase}

    def encode(self, tokens: Sequence[str], tags: Sequence[str] | None = None) -> dict[str, Any]:
        return {
            "words": [self.word_id(t) for t in tokens],
            "cases": [case_id(t) for t in tokens],
            "chars": [[self._c.get(c, 1) for c in t[:MAX_WORD_CHARS]] for t in tokens],
            "tags": self.tag_ids(tags) if tags is not None else None,
        }


class PieceEncoder:
    """Words to ``[CLS] pieces [SEP]`` with each word's first-piece position (``--arch bert``)."""

    def __init__(self, tok: Tokenizer, tags: Sequence[str], max_len: int, cls_id: int, sep_id: int, unk_id: int) -> None:
        self.tok, self.tags, self.max_len = tok, list(tags), max_len
        self.cls_id, self.sep_id, self.unk_id = cls_id, sep_id, unk_id
        self._t = {t: i for i, t in enumerate(self.tags)}

    def encode(self, tokens: Sequence[str], tags: Sequence[str] | None = None) -> dict[str, Any]:
        pieces = [e.ids or [self.unk_id] for e in self.tok.encode_batch(list(tokens), add_special_tokens=False)]
        cut = sum(map(len, pieces)) + 2 > self.max_len
        if cut:  # keep first pieces only; words still past the limit share the last piece's score
            pieces = [p[:1] for p in pieces]
        ids, first = [self.cls_id], []
        for p in pieces:
            first.append(min(len(ids), self.max_len - 2))
            if len(ids) < self.max_len - 1:
                ids += p[: self.max_len - 1 - len(ids)]
        ids.append(self.sep_id)
        tag_ids = [self._t[t] for t in tags] if tags is not None else None
        return {"pieces": ids, "first": first, "tags": tag_ids, "cut": cut}


def collate(items: Sequence[dict[str, Any]], device: Any = "cpu", unk: tuple[random.Random, set[int], float] | None = None) -> dict[str, torch.Tensor]:
    """Pad encoded sentences into a batch: (B, T) ``mask`` (+ words/cases (B, T), chars (B, T, L), or
    pieces and attend (B, P) and first (B, T)), ``tags`` (B, T) when known. ``unk`` = (rng, singleton ids, p): replace
    each singleton word with <unk> with probability p (training only)."""
    import torch

    B, T = len(items), max(len(x["first"] if "first" in x else x["words"]) for x in items)
    mask = torch.zeros(B, T, dtype=torch.bool)
    out: dict[str, torch.Tensor] = {"mask": mask}
    tags = torch.zeros(B, T, dtype=torch.long)
    if "pieces" in items[0]:
        P = max(len(x["pieces"]) for x in items)
        out["pieces"] = torch.zeros(B, P, dtype=torch.long)
        out["first"] = torch.zeros(B, T, dtype=torch.long)
        out["attend"] = torch.zeros(B, P, dtype=torch.bool)
    else:
        L = max(len(c) for x in items for c in x["chars"])
        out["words"], out["cases"] = torch.zeros(B, T, dtype=torch.long), torch.zeros(B, T, dtype=torch.long)
        out["chars"] = torch.zeros(B, T, L, dtype=torch.long)
    for b, x in enumerate(items):
        n = len(x["first"] if "first" in x else x["words"])
        mask[b, :n] = True
        if x["tags"] is not None:
            tags[b, :n] = torch.tensor(x["tags"])
        if "pieces" in x:
            out["pieces"][b, : len(x["pieces"])] = torch.tensor(x["pieces"])
            out["attend"][b, : len(x["pieces"])] = True
            out["first"][b, :n] = torch.tensor(x["first"])
            continue
        words = x["words"]
        if unk is not None:
            rng, singletons, p = unk
            words = [1 if w in singletons and rng.random() < p else w for w in words]
        out["words"][b, :n] = torch.tensor(words)
        out["cases"][b, :n] = torch.tensor(x["cases"])
        for t, c in enumerate(x["chars"]):
            out["chars"][b, t, : len(c)] = torch.tensor(c)
    if items[0]["tags"] is not None:
        out["tags"] = tags
    return {k: v.to(device) for k, v in out.items()}
