"""Pre-training examples, streamed: documents -> tokenized segments -> NSP pairs -> shuffled, masked.

Input format (``documents``):

- ``blank-lines`` (BERT's own format): documents are separated by blank lines and every line is a
  sentence (or a paragraph); plain prose with blank lines between paragraphs gives one document
  per paragraph.
- ``lines``: every line is a document (a review, an article); it is split into sentences at
  ``. ! ?`` followed by a capital letter, and at HTML line breaks (``<br />``).

Pairs are made as BERT's ``create_pretraining_data.py`` makes them: segments are gathered up to a
target length (``max_seq_len - 3``, or with probability ``short_seq_prob`` a random shorter one),
split at a random segment boundary into A and B; half of the time B is replaced by text from a
random *other* document (the unused segments are put back), and the pair is truncated, one token
at a time from a random end of the longer side. The random document comes from a rolling window
of ``doc_window`` nearby documents, so the corpus is never held in memory.

Sharding for distributed training: rank ``r`` of ``w`` keeps documents ``i`` with ``i % w == r``.
Every random choice comes from a generator seeded by (seed, epoch, rank), so a stream can be
replayed exactly; a resumed job skips the examples it has already trained on.
"""

from __future__ import annotations

import logging
import random
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nlpkit.bert.masking import MaskingSpec, mask_tokens
from nlpkit.errors import CorpusError

if TYPE_CHECKING:
    import torch
    from tokenizers import Tokenizer

log = logging.getLogger("nlpkit")
_SENTENCE_END = re.compile(r"(?i:<br\s*/?>)|(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
DOC_GROUP = 64  # documents tokenized per encode_batch call


@dataclass(frozen=True)
class Instance:
    ids: list[int]  # [CLS] A [SEP] B [SEP]
    segments: list[int]  # 0 for [CLS] A [SEP], 1 for B [SEP]
    is_random_next: int  # NSP label: 1 when B comes from another document, -1 without NSP
    index: int  # position in creation order within its (epoch, rank) stream; seeds static masking


@dataclass(frozen=True)
class PairSpec:
    max_seq_len: int = 128
    short_seq_prob: float = 0.1
    nsp: bool = True
    cls_id: int = 2
    sep_id: int = 3
    doc_window: int = 1000  # documents kept around to draw a random "other document" from


def read_documents(lines: Iterable[str], documents: str = "blank-lines") -> Iterator[list[str]]:
    """Group lines into documents (lists of sentences); empty documents are dropped."""
    if documents == "lines":
        for line in lines:
            sentences = [s.strip() for s in _SENTENCE_END.split(line) if s and s.strip()]
            if sentences:
                yield sentences
        return
    doc: list[str] = []
    for line in lines:
        if line.strip():
            doc.append(line.strip())
        elif doc:
            yield doc
            doc = []
    if doc:
        yield doc


def shard(docs: Iterable[list[str]], rank: int, world_size: int) -> Iterator[list[str]]:
    """Rank ``rank``'s documents: every ``world_size``-th, starting at ``rank``."""
    for i, doc in enumerate(docs):
        if i % world_size == rank:
            yield doc


def tokenize_documents(docs: Iterable[list[str]], tok: Tokenizer) -> Iterator[list[list[int]]]:
    """Documents of sentences -> documents of token-id segments (no special tokens)."""
    group: list[list[str]] = []
    for doc in docs:
        group.append(doc)
        if len(group) == DOC_GROUP:
            yield from _encode_group(group, tok)
            group = []
    if group:
        yield from _encode_group(group, tok)


def _encode_group(group: list[list[str]], tok: Tokenizer) -> Iterator[list[list[int]]]:
    flat = [s for doc in group for s in doc]
    encoded = tok.encode_batch(flat, add_special_tokens=False)
    k = 0
    for doc in group:
        segments = [e.ids for e in encoded[k : k + len(doc)] if e.ids]
        k += len(doc)
        if segments:
            yield segments


def make_instances(docs: Iterable[list[list[int]]], spec: PairSpec, rng: random.Random) -> Iterator[Instance]:
    """NSP pairs from tokenized documents, with a rolling window for random next segments."""
    ahead: deque[list[list[int]]] = deque()
    behind: deque[list[list[int]]] = deque(maxlen=spec.doc_window)
    counter = [0]
    n_docs = 0
    for doc in docs:
        n_docs += 1
        ahead.append(doc)
        if len(ahead) > spec.doc_window:
            current = ahead.popleft()
            yield from _document_instances(current, ahead, behind, spec, rng, counter)
            behind.append(current)
    while ahead:
        current = ahead.popleft()
        yield from _document_instances(current, ahead, behind, spec, rng, counter)
        behind.append(current)
    if spec.nsp and n_docs == 1:
        log.warning("warning: the input is one document, so every NSP pair is an actual next; "
                    "separate documents with blank lines, or use --documents lines or --no-nsp")


def _random_other(ahead: deque, behind: deque, rng: random.Random) -> list[list[int]] | None:
    """A document other than the current one (which is in neither deque)."""
    n = len(ahead) + len(behind)
    if n == 0:
        return None
    j = rng.randrange(n)
    return ahead[j] if j < len(ahead) else behind[j - len(ahead)]


def _document_instances(
    doc: list[list[int]], ahead: deque, behind: deque, spec: PairSpec, rng: random.Random, counter: list[int]
) -> Iterator[Instance]:
    max_tokens = spec.max_seq_len - (3 if spec.nsp else 2)
    target = rng.randint(2, max_tokens) if rng.random() < spec.short_seq_prob else max_tokens
    chunk: list[list[int]] = []
    length = 0
    i = 0
    while i < len(doc):
        chunk.append(doc[i])
        length += len(doc[i])
        if i == len(doc) - 1 or length >= target:
            a, b, label, unused = _pair(chunk, target, ahead, behind, spec, rng)
            i -= unused  # segments not used go back, as in BERT
            truncate_pair(a, b, max_tokens, rng)
            if a and (b or not spec.nsp):
                yield _instance(a, b, label, spec, counter[0])
                counter[0] += 1
            chunk, length = [], 0
        i += 1


def _pair(
    chunk: list[list[int]], target: int, ahead: deque, behind: deque, spec: PairSpec, rng: random.Random
) -> tuple[list[int], list[int], int, int]:
    """(A, B, is_random_next, segments to put back) from a chunk of consecutive segments."""
    if not spec.nsp:
        return [t for seg in chunk for t in seg], [], -1, 0
    a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
    a = [t for seg in chunk[:a_end] for t in seg]
    other = _random_other(ahead, behind, rng) if rng.random() < 0.5 else None
    if other is not None:
        return a, _fill_from(other, target - len(a), rng), 1, len(chunk) - a_end
    if len(chunk) == 1:
        # BERT forces a random B here, which makes NSP labels lopsided on corpora of one-sentence
        # documents; splitting the segment at a random token keeps the classes balanced.
        cut = rng.randint(1, len(a) - 1) if len(a) >= 2 else len(a)
        return a[:cut], a[cut:], 0, 0
    return a, [t for seg in chunk[a_end:] for t in seg], 0, 0


def _fill_from(doc: list[list[int]], target: int, rng: random.Random) -> list[int]:
    out: list[int] = []
    for seg in doc[rng.randrange(len(doc)) :]:
        out.extend(seg)
        if len(out) >= target:
            break
    return out


def truncate_pair(a: list[int], b: list[int], max_tokens: int, rng: random.Random) -> None:
    """Trim the longer side, one token at a time from a random end, until both fit (in place).

    The draws are made token by token as in BERT, but the cuts are counted and applied once:
    deleting from the front of a list one token at a time is quadratic on a huge segment.
    """
    cut = {"a": [0, 0], "b": [0, 0]}  # tokens to drop from the front, from the back
    la, lb = len(a), len(b)
    while la + lb > max_tokens:
        side = "a" if la > lb else "b"
        cut[side][0 if rng.random() < 0.5 else 1] += 1
        la, lb = (la - 1, lb) if side == "a" else (la, lb - 1)
    for seq, (front, back) in ((a, cut["a"]), (b, cut["b"])):
        seq[:] = seq[front : len(seq) - back]


def _instance(a: list[int], b: list[int], label: int, spec: PairSpec, index: int) -> Instance:
    ids = [spec.cls_id, *a, spec.sep_id]
    segments = [0] * len(ids)
    if b:
        ids += [*b, spec.sep_id]
        segments += [1] * (len(b) + 1)
    return Instance(ids, segments, label, index)


def shuffled(items: Iterable[Instance], buffer_size: int, rng: random.Random) -> Iterator[Instance]:
    """Streaming shuffle through a buffer of ``buffer_size`` items."""
    buffer: list[Instance] = []
    for item in items:
        if len(buffer) < buffer_size:
            buffer.append(item)
            continue
        j = rng.randrange(buffer_size)
        yield buffer[j]
        buffer[j] = item
    rng.shuffle(buffer)
    yield from buffer


@dataclass(frozen=True)
class Example:
    ids: list[int]  # after masking
    segments: list[int]
    positions: list[int]  # masked positions
    labels: list[int]  # original ids there
    is_random_next: int


def mask_instance(inst: Instance, spec: MaskingSpec, rng: random.Random) -> Example:
    ids, positions, labels = mask_tokens(inst.ids, spec, rng)
    return Example(ids, inst.segments, positions, labels, inst.is_random_next)


def collate(examples: list[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad to the longest example; MLM positions become flat indices into (B * T)."""
    import torch

    B = len(examples)
    T = max(len(e.ids) for e in examples)
    ids = torch.full((B, T), pad_id, dtype=torch.long)
    segments = torch.zeros((B, T), dtype=torch.long)
    attention = torch.zeros((B, T), dtype=torch.long)
    flat_positions: list[int] = []
    labels: list[int] = []
    for b, e in enumerate(examples):
        n = len(e.ids)
        ids[b, :n] = torch.tensor(e.ids)
        segments[b, :n] = torch.tensor(e.segments)
        attention[b, :n] = 1
        flat_positions.extend(b * T + p for p in e.positions)
        labels.extend(e.labels)
    return {
        "input_ids": ids,  # (B, T)
        "segment_ids": segments,  # (B, T)
        "attention_mask": attention,  # (B, T)
        "mlm_positions": torch.tensor(flat_positions, dtype=torch.long),  # (N,)
        "mlm_labels": torch.tensor(labels, dtype=torch.long),  # (N,)
        "nsp_labels": torch.tensor([e.is_random_next for e in examples], dtype=torch.long),  # (B,)
    }


def require_examples(items: Iterable[Instance], what: str) -> Iterator[Instance]:
    """Raise CorpusError if a whole pass over the data made no example."""
    seen = False
    for item in items:
        seen = True
        yield item
    if not seen:
        raise CorpusError(f"the {what} gave no training examples", "give text with at least one non-blank line")
