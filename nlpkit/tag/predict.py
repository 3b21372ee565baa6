"""Tagging sentences with a loaded tagger: one result per input sentence, in input order.

Inputs are ``Item``s: plain-text lines (whitespace tokens, or ``tokenize``'s word/punctuation split,
with each token's character offsets in the line) or CoNLL/JSONL sentences (offsets into the tokens
joined by single spaces). Items stream through in chunks; each chunk is sorted by length into batches
(less padding) and put back in order. Predicted tags are written back in the scheme of the model's
training data. ``probs`` gives each token the model's probability of the tag it chose: the CRF's
marginal p(y_t | sentence) from forward-backward, or the softmax without a CRF.

A CoNLL item may carry gold tags (``--tag-col``): a tag the model does not know makes the item bad
(``Item.error``), so the caller writes an error record for it.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from nlpkit.tag.artifact import Tagger
from nlpkit.tag.conll import Sentence
from nlpkit.tag.encode import PieceEncoder, collate
from nlpkit.tag.schemes import NONE, Span, convert, split_tag, to_spans

log = logging.getLogger("nlpkit")
WORD = re.compile(r"\w+(?:[-'.]\w+)*|\S", re.UNICODE)  # words (with inner - ' .) and single punctuation marks


@dataclass
class Item:
    text: str  # the input line, or the tokens joined by spaces
    tokens: list[str]
    offsets: list[tuple[int, int]]  # character span of each token in ``text``
    columns: list[list[str]] = field(default_factory=list)  # CoNLL input: every column of each token line
    gold: list[str] | None = None
    lineno: int = 0
    error: str | None = None


@dataclass
class Tagged:
    item: Item
    tags: list[str]  # in the input scheme
    probs: list[float] | None = None

    def spans(self) -> list[dict[str, Any]]:
        """Entities with character offsets into ``item.text`` (``end`` exclusive)."""
        out = []
        for s in _spans(self.tags):
            start, end = self.item.offsets[s.start][0], self.item.offsets[s.end - 1][1]
            entity: dict[str, Any] = {"start": start, "end": end, "label": s.type, "text": self.item.text[start:end]}
            if self.probs is not None:  # the least sure token of the entity
                entity["prob"] = min(self.probs[s.start : s.end])
            out.append(entity)
        return out


def _spans(tags: list[str]) -> list[Span]:
    return [] if not tags or not all(t == "O" or t[1:2] in ("-", "_") for t in tags) else to_spans(tags)


def text_item(line: str, lineno: int, tokenize: bool) -> Item:
    if tokenize:
        found = list(WORD.finditer(line))
    else:
        found = list(re.finditer(r"\S+", line))
    return Item(line, [m.group() for m in found], [m.span() for m in found], lineno=lineno)


def sentence_item(s: Sentence) -> Item:
    offsets, pos = [], 0
    for t in s.tokens:
        offsets.append((pos, pos + len(t)))
        pos += len(t) + 1
    return Item(" ".join(s.tokens), s.tokens, offsets, s.columns, s.tags, s.lineno)


def check_gold(items: Iterable[Item], tagger: Tagger) -> Iterator[Item]:
    """Mark items whose gold tags the model cannot produce (a different tag set, a typo)."""
    if tagger.scheme == NONE:
        known = set(tagger.tags)
        ok = known.__contains__
    else:
        types = {split_tag(t)[1] for t in tagger.tags} - {""}
        ok = lambda t: t == "O" or (t[1:2] in ("-", "_") and t[0] in "BIES" and t[2:] in types)  # noqa: E731
    for item in items:
        if item.gold is not None and item.error is None:
            bad = next((t for t in item.gold if not ok(t)), None)
            if bad is not None:
                item.error = f"unknown tag {bad!r} (the model's tags: {', '.join(sorted(set(tagger.tags)))})"
        yield item


def predict(tagger: Tagger, items: Iterable[Item], *, batch_size: int = 32, probs: bool = False, chunk_size: int = 1024) -> Iterator[Tagged]:
    """Tag every item; bad and empty items come back untagged (``tags`` empty), in their place."""
    it = iter(items)
    cut_warned = False
    while chunk := list(itertools.islice(it, chunk_size)):
        results: list[Tagged | None] = [None] * len(chunk)
        todo = [i for i, x in enumerate(chunk) if x.error is None and x.tokens]
        for i, x in enumerate(chunk):
            if x.error is not None or not x.tokens:
                results[i] = Tagged(x, [], [] if probs else None)
        todo.sort(key=lambda i: len(chunk[i].tokens))
        for start in range(0, len(todo), batch_size):
            idx = todo[start : start + batch_size]
            encoded = [tagger.encoder.encode(chunk[i].tokens) for i in idx]
            if not cut_warned and isinstance(tagger.encoder, PieceEncoder) and any(e["cut"] for e in encoded):
                log.warning("warning: a sentence is longer than --max-len %d pieces; its last words share one score", tagger.encoder.max_len)
                cut_warned = True
            best, chosen = tagger.model.decode(collate(encoded, tagger.device), probs)
            for j, i in enumerate(idx):
                tags = [tagger.tags[k] for k in best[j]]
                out = convert(tags, tagger.input_scheme) if tagger.input_scheme != NONE else tags
                results[i] = Tagged(chunk[i], out, chosen[j] if chosen is not None else None)
        yield from results  # type: ignore[misc]
