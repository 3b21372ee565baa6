"""Training data for ``nlpkit tag train``: read, split, convert to the training scheme, build the tag set.

The scheme of the training data is detected (``schemes.detect_scheme``) and recorded, so that
predictions go back out in it; the tags are converted to ``--scheme`` for training. Data whose tags
have no chunk prefixes (part-of-speech tags) is trained as it is (scheme ``none``). Without
``--valid``, a seeded ``valid_fraction`` of the training sentences is held out.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nlpkit.errors import CorpusError
from nlpkit.tag.conll import Columns, Sentence, read_tagged
from nlpkit.tag.config import TagConfig
from nlpkit.tag.schemes import NONE, convert, detect_scheme

log = logging.getLogger("nlpkit")


@dataclass
class TagData:
    train: list[Sentence]  # tags in the training scheme
    valid: list[Sentence]
    tags: list[str]  # "O" first, then sorted
    scheme: str  # the training scheme, or "none"
    input_scheme: str  # the training data's own scheme
    summary: dict[str, Any] = field(default_factory=dict)


def split_off(sentences: list[Sentence], fraction: float, seed: int) -> tuple[list[Sentence], list[Sentence]]:
    """(kept, held out): a seeded random ``fraction`` held out, both in the original order."""
    n = round(len(sentences) * fraction)
    if n == 0 or n >= len(sentences):
        raise CorpusError(f"cannot hold out {fraction:g} of {len(sentences)} sentences for validation", "give --valid FILE or more data")
    held = set(random.Random(seed).sample(range(len(sentences)), n))
    return [s for i, s in enumerate(sentences) if i not in held], [s for i, s in enumerate(sentences) if i in held]


def _converted(sentences: Sequence[Sentence], scheme: str) -> list[Sentence]:
    if scheme == NONE:
        return list(sentences)
    return [Sentence(s.tokens, convert(s.tags or [], scheme), s.columns, s.where, s.lineno) for s in sentences]


def load_data(inputs: Sequence[str], valid: Sequence[str] | None, cfg: TagConfig, seed: int, strict_utf8: bool = False) -> TagData:
    cols = Columns(cfg.word_col, cfg.tag_col)
    train = read_tagged(inputs, cols, strict_utf8=strict_utf8)
    if valid:
        held = read_tagged(valid, cols, strict_utf8=strict_utf8, what="validation data")
    elif cfg.valid_fraction:
        train, held = split_off(train, cfg.valid_fraction, seed)
    else:
        held = []
    input_scheme = detect_scheme([s.tags or [] for s in train])
    scheme = NONE if input_scheme == NONE else cfg.scheme
    if input_scheme == NONE:
        log.info("the tags have no B-/I- prefixes: training them as plain labels (token accuracy; no --scheme)")
    train, held = _converted(train, scheme), _converted(held, scheme)
    seen = {t for s in train for t in s.tags or []}
    unseen = sorted({t for s in held for t in s.tags or []} - seen)
    if unseen:  # rare tags of a random split: kept in the tag set, so validation can count them as misses
        log.warning("warning: validation tags never seen in training: %s", ", ".join(unseen[:10]))
    tags = sorted(seen | set(unseen), key=lambda t: (t != "O", t))
    if len(tags) < 2:
        raise CorpusError(f"the training data has only one tag ({tags[0]!r})", "a tagger needs at least two tags")
    summary = {"train_sentences": len(train), "train_tokens": sum(len(s.tokens) for s in train),
               "valid_sentences": len(held), "input_scheme": input_scheme, "tags": len(tags)}
    log.info("%d training sentences (%d tokens), %d validation; %d tags, data in %s, training in %s",
             len(train), summary["train_tokens"], len(held), len(tags), input_scheme, scheme)
    return TagData(train, held, tags, scheme, input_scheme, summary)
